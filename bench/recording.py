#!/usr/bin/env python3
"""Recording benchmark: what server-side terminal recording costs, and how fast a recording verifies.

Every Berth terminal is recorded to an asciicast v2 file with a signed SHA-256 hash chain. This
benchmark measures, in one run, on one server, the same terminal with recording on and off:

1. builds the example images with `berth env build` (cached after the first time);
2. writes a temporary environments folder with two copies of lab-starter that run its built
   image (`image: berth-env/lab-starter:latest`, so nothing is rebuilt): `bench-rec-on` with
   `berth.recording: input-output` and `bench-rec-off` with `berth.recording: "off"`;
3. starts `berth serve` on it (free loopback port, temporary data directory, random admin token,
   a namespace of its own), creates a user, an API token and one instance of each;
4. opens Berth's terminal WebSocket to each and waits for the prompt;
5. keystroke echo: single-byte keystrokes timed from write to echo, in rounds that alternate
   on/off (the order flips every round);
6. throughput: `head -c SIZE /dev/zero | tr '\\0' x` typed into each shell, timed from sending the
   command line to the end marker after the last byte, in runs that alternate on/off, with the
   CPU seconds of Berth, the container, its shim, dockerd and containerd for each run;
7. verification: stops the ON instance (so its recording gets its final signed record), finds
   its recording through GET /api/v1/recordings?instance=..., exports the public key with
   `berth recordings export-key`, then times, interleaved, `berth recordings verify FILE
   --public-key KEY` (must exit 0 and print "valid") against `sha256sum FILE` (the floor: one
   SHA-256 pass over the same bytes; `openssl dgst -sha256 FILE` too, for information, as it uses
   the CPU's SHA extensions and coreutils does not), and GET /api/v1/recordings/{id}/verify;
8. prints a table with medians and on/off ratios, writes bench-results/recording.json.

The terminal client, keystroke rounds, throughput command, prompt waiting, CPU accounting and
summaries are bench/terminal.py's (standard library only; terminado is not needed here).
Exit status: 2 when the server did not start, 1 when the benchmark could not be set up or a
recording failed verification, 0 otherwise (a missed target is reported, not fatal).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from berth_api import APIError
from berth_server import add_bench_arguments, berth_missing, write_results
from terminal import (
    Benchmark,
    BenchError,
    CpuMeter,
    Terminal,
    binary_info,
    add_keystroke_arguments,
    container_of,
    keystroke_round,
    log,
    machine_info,
    parse_size,
    ratio,
    shell_throughput,
    summarize_latency,
    summarize_throughput,
    throughput_command,
    wait_for_prompt,
)

# Target from the issue: recording costs at most 10% of the terminal's output throughput.
TARGET_MAX_THROUGHPUT_LOSS = 0.10

# The two environments, and what their `berth.recording` says.
MODES = {"on": "input-output", "off": "off"}
SLUGS = {"on": "bench-rec-on", "off": "bench-rec-off"}


def order(index: int) -> tuple[str, str]:
    """on, off in even rounds and off, on in odd ones, so neither always goes first."""
    return ("on", "off") if index % 2 == 0 else ("off", "on")


def summarize_seconds(runs: list[dict], size: int) -> dict:
    """Median, best and worst of timed runs over `size` bytes, as seconds and MB/s (10^6 B/s)."""
    if not runs:
        return {"count": 0}
    seconds = [run["seconds"] for run in runs]
    return {
        "count": len(seconds),
        "secondsMedian": statistics.median(seconds),
        "mbpsMedian": size / statistics.median(seconds) / 1e6,
        "mbpsBest": size / min(seconds) / 1e6,
        "mbpsWorst": size / max(seconds) / 1e6,
        "cpuSecondsMedian": statistics.median(run["cpuSeconds"] for run in runs)
        if all(run["cpuSeconds"] is not None for run in runs) else None,
    }


class RecordingBenchmark(Benchmark):
    """bench/terminal.py's Benchmark (server, user, cleanup) with two instances, on and off."""

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.environments_dir: Path | None = None
        self.instances: dict[str, str] = {}   # "on"/"off" → instance id
        self.containers: dict[str, str] = {}  # "on"/"off" → container id
        self.stopped: set[str] = set()

    # -- environments, instances, terminals ------------------------------------------------------

    def write_environments(self) -> Path:
        """Two copies of --environment that run its built image, one per recording mode."""
        source = Path(self.args.environments) / self.args.environment
        if not (source / "challenge.yml").is_file():
            raise SystemExit(f"bench: no {source}/challenge.yml")
        self.environments_dir = Path(tempfile.mkdtemp(prefix="berth-bench-environments-"))
        text = (source / "challenge.yml").read_text()
        if not re.search(r"^berth:\s*$", text, flags=re.MULTILINE):
            raise SystemExit(f"bench: {source}/challenge.yml has no berth: block to add the recording setting to")
        # Any recording setting of the source's goes; each copy gets its own.
        text = re.sub(r"^  recording:.*\n", "", text, flags=re.MULTILINE)
        for key, slug in SLUGS.items():
            folder = self.environments_dir / slug
            shutil.copytree(source, folder)
            copy = re.sub(r"^name:.*$", f"name: Recording benchmark ({key})", text, count=1, flags=re.MULTILINE)
            if re.search(r"^image:", copy, flags=re.MULTILINE):
                copy = re.sub(r"^image:.*$", f"image: {self.image}", copy, count=1, flags=re.MULTILINE)
            else:
                copy = f"image: {self.image}\n" + copy
            # Quoted: a bare YAML off is a boolean.
            copy = re.sub(r"^berth:\s*$", f'berth:\n  recording: "{MODES[key]}"', copy, count=1, flags=re.MULTILINE)
            (folder / "challenge.yml").write_text(copy)
        log(f"environments {', '.join(SLUGS.values())} (image {self.image}) in {self.environments_dir}")
        return self.environments_dir

    def check_image(self) -> None:
        if subprocess.run(["docker", "image", "inspect", self.image], capture_output=True).returncode != 0:
            raise SystemExit(f"bench: no image {self.image}; run `berth env build --environments {self.args.environments}`"
                             " (or leave out --no-env-build)")

    def create_instances(self) -> None:
        try:
            self.create_user()
            for key, slug in SLUGS.items():
                instance = self.run_instance(slug)
                self.instances[key] = instance["id"]
                self.containers[key] = container_of(instance["id"])
                log(f"recording {key}: instance {instance['id']} ({slug}) running in container {self.containers[key][:12]}")
        except (APIError, OSError, KeyError, TypeError) as error:
            raise SystemExit(f"bench: could not create the user, token and instances: {error}")

    def open_recorded_terminals(self) -> dict[str, Terminal]:
        terminals: dict[str, Terminal] = {}
        for key in SLUGS:
            term = self.open_berth(self.instances[key])
            term.name = f"berth (recording {key})"
            self.terminals.append(term)
            wait_for_prompt(term)
            terminals[key] = term
            log(f"{term.name}: shell prompt reached")
        self.keeper = threading.Thread(target=self.keep_alive, name="keeper", daemon=True)
        self.keeper.start()
        return terminals

    def close_terminals(self) -> None:
        self.keeper_stop.set()
        if self.keeper:
            self.keeper.join(timeout=5)
        for term in self.terminals:
            term.close()
        self.terminals = []

    # -- terminal measurements -------------------------------------------------------------------

    def recorded_keystrokes(self, terminals: dict[str, Terminal]) -> dict[str, list[float]]:
        args = self.args
        gap = args.key_gap / 1000
        samples: dict[str, list[float]] = {key: [] for key in terminals}
        for term in terminals.values():
            with term.lock:
                keystroke_round(term, args.warmup_keys, args.clear_every, gap, args.timeout)
        per_round = max(1, args.keys // args.rounds)
        for index in range(args.rounds):
            for key in order(index):
                with terminals[key].lock:
                    samples[key] += keystroke_round(terminals[key], per_round, args.clear_every, gap, args.timeout)
            log(f"keystrokes round {index + 1}/{args.rounds}: "
                + ", ".join(f"recording {key} p50 {statistics.median(values):.2f} ms" for key, values in samples.items()))
        return samples

    def recorded_throughput(self, terminals: dict[str, Terminal]) -> dict[str, list[dict]]:
        args = self.args
        runs: dict[str, list[dict]] = {key: [] for key in terminals}
        meters = {key: CpuMeter(self.containers[key]) for key in terminals}
        extra = {"berth": self.server.pid}
        for term in terminals.values():  # one small warm-up each
            with term.lock:
                shell_throughput(term, min(args.size, 1 << 20), args.timeout)
        for index in range(args.runs):
            for key in order(index):
                meter = meters[key]
                before = meter.snapshot(extra)
                with terminals[key].lock:
                    result = shell_throughput(terminals[key], args.size, args.timeout)
                result["cpuSeconds"] = meter.difference(before, meter.snapshot(extra))
                runs[key].append(result)
                log(f"throughput run {index + 1}/{args.runs}: recording {key:<3} {result['mbps']:8.1f} MB/s"
                    f" ({result['seconds']:.2f} s for {args.size} bytes, berth {result['cpuSeconds'].get('berth', 0):.2f} CPU s)")
        return runs

    # -- verification ----------------------------------------------------------------------------

    def stop_instance(self, key: str) -> float:
        """DELETE the instance; the seconds the answer took."""
        assert self.api
        started = time.perf_counter()
        self.api.call("DELETE", f"/api/v1/instances/{self.instances[key]}", self.user_token)
        self.stopped.add(key)
        return time.perf_counter() - started

    def recordings_of(self, key: str) -> list[dict]:
        assert self.api
        _, payload = self.api.call("GET", f"/api/v1/recordings?instance={self.instances[key]}", self.admin_token)
        return payload.get("items", []) if isinstance(payload, dict) else payload

    def api_verify(self, recording_id: str) -> dict:
        assert self.api
        _, report = self.api.call("GET", f"/api/v1/recordings/{recording_id}/verify", self.admin_token)
        return report

    def finished_recording(self) -> tuple[dict, Path]:
        """The ON instance's recording once the store has its end, and its .cast file."""
        deadline = time.monotonic() + self.args.timeout
        while True:
            items = self.recordings_of("on")
            if len(items) > 1:
                raise BenchError(f"expected one recording of the ON instance, found {len(items)}")
            if items and items[0].get("endedAt"):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the ON instance's recording did not end within {self.args.timeout}s: {items}")
            time.sleep(0.2)
        recording = items[0]
        assert self.data_dir
        if recording.get("path"):
            found = [self.data_dir / recording["path"]]
        else:
            found = sorted((self.data_dir / "recordings").rglob(f"*{recording['id']}.cast"))
        if len(found) != 1 or not found[0].is_file():
            raise BenchError(f"no single .cast file for {recording['id']} under {self.data_dir / 'recordings'}: {found}")
        return recording, found[0]

    def timed(self, command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
        """Wall seconds and CPU seconds (user + system) of one child process."""
        before = os.times()
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, timeout=self.args.timeout)
        elapsed = time.perf_counter() - started
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        return elapsed, cpu, result

    def verification(self) -> dict:
        args = self.args
        self.close_terminals()
        stop_seconds = self.stop_instance("on")
        log(f"stopped the ON instance in {stop_seconds:.2f} s")
        recording, cast = self.finished_recording()
        chain = cast.with_name(cast.name + ".chain")
        size = cast.stat().st_size
        log(f"recording {recording['id']}: {cast} ({size} bytes, chain {chain.stat().st_size if chain.exists() else 0} bytes)")
        exported = subprocess.run([args.berth, "recordings", "export-key", "--data-dir", str(self.data_dir)],
                                  capture_output=True, text=True, timeout=args.timeout)
        key = exported.stdout.strip()
        if exported.returncode != 0 or not key:
            raise BenchError(f"berth recordings export-key: status {exported.returncode}: {exported.stderr.strip()[:300]}")
        commands = {
            "berth-verify": [args.berth, "recordings", "verify", str(cast), "--public-key", key],
            "sha256sum": ["sha256sum", str(cast)],
        }
        # For information: coreutils' sha256sum does not use the CPU's SHA extensions; OpenSSL does.
        if shutil.which("openssl"):
            commands["openssl-sha256"] = ["openssl", "dgst", "-sha256", str(cast)]

        def one(name: str) -> dict:
            seconds, cpu, result = self.timed(commands[name])
            if result.returncode != 0:
                raise BenchError(f"{' '.join(commands[name][:3])}: status {result.returncode}: "
                                 f"{(result.stdout + result.stderr).strip()[:500]}")
            if name == "berth-verify" and not result.stdout.startswith("valid (finalized)"):
                raise BenchError(f"berth recordings verify did not report a valid, finalized recording: {result.stdout.strip()[:500]}")
            return {"seconds": seconds, "cpuSeconds": round(cpu, 3), "mbps": size / seconds / 1e6}

        # Untimed first: each checks its output once and reads the file into the page cache.
        first = subprocess.run(commands["berth-verify"], capture_output=True, text=True, timeout=args.timeout)
        log("berth recordings verify: " + " / ".join(first.stdout.strip().splitlines()[:2]))
        names = list(commands)
        for name in names:
            one(name)
        runs: dict[str, list[dict]] = {name: [] for name in [*names, "api-verify"]}
        for index in range(args.verify_runs):
            # Interleaved, and each goes first in turn.
            for name in names[index % len(names):] + names[:index % len(names)]:
                runs[name].append(one(name))
            log(f"verify run {index + 1}/{args.verify_runs}: " + ", ".join(
                f"{name} {runs[name][-1]['mbps']:.1f} MB/s" for name in names))
        report = self.api_verify(recording["id"])
        if not (report.get("valid") and report.get("finalized")):
            raise BenchError(f"GET /api/v1/recordings/{recording['id']}/verify: {report}")
        for index in range(args.verify_runs):
            started = time.perf_counter()
            report = self.api_verify(recording["id"])
            seconds = time.perf_counter() - started
            if not report.get("valid"):
                raise BenchError(f"GET /api/v1/recordings/{recording['id']}/verify: {report}")
            runs["api-verify"].append({"seconds": seconds, "cpuSeconds": None, "mbps": size / seconds / 1e6})
        log(f"GET /api/v1/recordings/{{id}}/verify: median {statistics.median(r['mbps'] for r in runs['api-verify']):.1f} MB/s")
        off_recordings = self.recordings_of("off")
        return {
            "recordingId": recording["id"],
            "castFile": str(cast.relative_to(self.data_dir)),
            "castBytes": size,
            "chainBytes": chain.stat().st_size if chain.exists() else None,
            "listedBytes": recording.get("bytes"),
            "verifyOutput": first.stdout.strip(),
            "apiReport": report,
            "stopSeconds": stop_seconds,
            "offInstanceRecordings": len(off_recordings),
            "runs": runs,
            "summary": {name: summarize_seconds(values, size) for name, values in runs.items()},
        }

    def berth_memory(self) -> dict[str, int]:
        """Berth's resident and peak resident memory, kB (after the terminal measurements)."""
        memory = {}
        try:
            for line in Path(f"/proc/{self.server.pid}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    memory[name] = int(value.split()[0])
        except (OSError, ValueError):
            pass
        return memory

    def cleanup(self) -> None:
        if self.api and self.server and self.server.running:
            for key, instance_id in self.instances.items():
                if key in self.stopped:
                    continue
                try:
                    self.api.call("DELETE", f"/api/v1/instances/{instance_id}", self.user_token)
                except (APIError, OSError):
                    pass
        super().cleanup()
        if self.environments_dir:
            shutil.rmtree(self.environments_dir, ignore_errors=True)


# What the CpuMeter measures, and the column each gets in the table.
CPU_COLUMNS = [("berth", "berth CPU"), ("container", "container"), ("containerd-shim", "shim"),
               ("dockerd", "dockerd"), ("containerd", "ctrd"), ("bench client", "client")]


# -- report --------------------------------------------------------------------------------------


def render(results: dict) -> str:
    keys, put, verify = results["keystrokes"], results["throughput"], results["verification"]
    r = results["ratios"]
    fmt = lambda value, spec: format(value, spec) if value is not None else "n/a"  # noqa: E731
    lines = [
        "",
        f"Recording: {SLUGS['on']} (berth.recording: {MODES['on']}) against {SLUGS['off']} ({MODES['off']}),"
        f" image {results['image']}, one server",
        f"Keystroke echo, {results['keysPerTerminal']} keystrokes each, {results['rounds']} rounds alternating on/off",
        f"  {'':<28} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}",
    ]
    for key in ("on", "off"):
        s = keys[key]["summary"]
        lines.append(f"  {'recording ' + key:<28} {s['p50']:>8.2f} {s['p90']:>8.2f} {s['p99']:>8.2f} {s['mean']:>8.2f} {s['max']:>8.2f}")
    lines.append(f"  on / off: p50 {fmt(r['keystrokeP50OnOff'], '.2f')}, p99 {fmt(r['keystrokeP99OnOff'], '.2f')}")
    size_mib = results["throughputBytes"] / (1024 * 1024)
    lines += [
        f"Output throughput, `{results['throughputCommand']}` ({size_mib:g} MiB), {results['throughputRuns']} runs each"
        " alternating on/off, MB/s (10^6 B/s)",
        f"  {'':<28} {'median':>8} {'best':>8} {'worst':>8} {'elapsed':>8}"
        + "".join(f" {short:>9}" for _, short in CPU_COLUMNS),
    ]
    for key in ("on", "off"):
        s = put[key]["summary"]
        cpu = s.get("cpuSecondsMedian", {})
        cells = "".join(f" {cpu[name]:>9.2f}" if name in cpu else f" {'-':>9}" for name, _ in CPU_COLUMNS)
        lines.append(f"  {'recording ' + key:<28} {s['median']:>8.1f} {s['best']:>8.1f} {s['worst']:>8.1f}"
                     f" {s['secondsMedian']:>8.2f}{cells}")
    lines.append("  (elapsed: seconds; the last columns: CPU seconds per run, medians; container is its cgroup: head, tr, sh)")
    loss = r["throughputLoss"]
    loss_text = "n/a" if loss is None else f"{loss * 100:.1f}%" + (" (faster with recording: noise)" if loss < 0 else "")
    lines.append(f"  on / off: {fmt(r['throughputOnOff'], '.3f')} of the throughput (loss {loss_text};"
                 f" median of the paired runs' ratios {fmt(r['throughputOnOffPairedMedian'], '.3f')}),"
                 f" berth CPU s {fmt(r['berthCpuOnOff'], '.2f')}x")
    s = verify["summary"]
    lines += [
        f"Verification of the ON instance's recording {verify['recordingId']}: {verify['castBytes'] / 1e6:.1f} MB .cast"
        f" + {fmt((verify['chainBytes'] or 0) / 1e3, '.1f')} kB .cast.chain, {results['verifyRuns']} runs each (interleaved)",
        f"  {'':<40} {'median s':>9} {'MB/s':>8} {'best':>8} {'worst':>8} {'CPU s':>7}",
    ]
    labels = {
        "berth-verify": "berth recordings verify FILE --public-key",
        "sha256sum": "sha256sum FILE (baseline)",
        "api-verify": "GET /api/v1/recordings/{id}/verify",
        "openssl-sha256": "openssl dgst -sha256 FILE (info)",
    }
    for name, label in labels.items():
        if name not in s:
            continue
        v = s[name]
        cpu = f"{v['cpuSecondsMedian']:>7.2f}" if v.get("cpuSecondsMedian") is not None else f"{'-':>7}"
        lines.append(f"  {label:<40} {v['secondsMedian']:>9.3f} {v['mbpsMedian']:>8.1f} {v['mbpsBest']:>8.1f} {v['mbpsWorst']:>8.1f} {cpu}")
    lines.append(f"  berth verify / sha256sum: {fmt(r['verifyVsSha256sum'], '.2f')}   API verify / sha256sum:"
                 f" {fmt(r['apiVerifyVsSha256sum'], '.2f')}   berth verify / openssl: {fmt(r['verifyVsOpensslSha256'], '.2f')}")
    lines.append("  (MB/s of the .cast file; the CLI figures include process start; the API's, the HTTP round trip)")
    lines.append(f"  recordings of the OFF instance: {verify['offInstanceRecordings']};"
                 f" DELETE of the ON instance took {verify['stopSeconds']:.2f} s;"
                 f" berth peak RSS {results['berthMemoryKB'].get('VmHWM', 0) / 1024:.0f} MiB")
    t = results["targets"]
    lines += [
        "Targets (medians):",
        f"  throughput loss with recording <= {TARGET_MAX_THROUGHPUT_LOSS:.0%}: "
        + ("met" if t["throughputLossMet"] else "missed") + f" (loss {loss_text})",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environment", default="lab-starter", help="environment the two copies are made of (default lab-starter)")
    add_keystroke_arguments(parser, rounds=10, rounds_help="alternating rounds the keystrokes are split into")
    parser.add_argument("--size", type=parse_size, default=parse_size("64M"), help="bytes of output per throughput run (default 64M)")
    parser.add_argument("--runs", type=int, default=3, help="timed throughput runs per terminal (default 3)")
    parser.add_argument("--verify-runs", type=int, default=5, help="timed runs of each verification (default 5)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds any one step may take (default 300)")
    add_bench_arguments(parser, "recording.json")
    args = parser.parse_args()

    if berth_missing(args.berth):
        return 1
    for tool in ("docker", "sha256sum"):
        if shutil.which(tool) is None:
            print(f"bench: error: {tool} is needed (the docker CLI: scripts/ensure-docker.sh)", file=sys.stderr)
            return 1
    if min(args.keys, args.rounds, args.runs, args.verify_runs, args.size) < 1:
        parser.error("--keys, --rounds, --runs, --verify-runs and --size must be positive")

    bench = RecordingBenchmark(args)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    if load_start[0] > 1.0:
        log(f"warning: the load average is {load_start[0]:.2f} before the run: other work on this machine"
            " will show in the figures")
    status = 0
    keystrokes: dict[str, list[float]] = {}
    throughput: dict[str, list[dict]] = {}
    verification: dict = {}
    memory: dict[str, int] = {}
    try:
        if not args.no_env_build:
            bench.build_images()
        bench.check_image()
        bench.start_server(str(bench.write_environments()))
        bench.create_instances()
        terminals = bench.open_recorded_terminals()
        keystrokes = bench.recorded_keystrokes(terminals)
        throughput = bench.recorded_throughput(terminals)
        memory = bench.berth_memory()
        verification = bench.verification()
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        status = 130
    except (BenchError, APIError, OSError, ValueError, subprocess.TimeoutExpired) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        bench.print_server_log()
        status = 1
    finally:
        bench.finish("recording-server.log")
    if status:
        return status

    key_summaries = {key: summarize_latency(values) for key, values in keystrokes.items()}
    put_summaries = {key: summarize_throughput(runs) for key, runs in throughput.items()}
    on_off = ratio(put_summaries["on"].get("median"), put_summaries["off"].get("median"))
    paired = [on["mbps"] / off["mbps"] for on, off in zip(throughput["on"], throughput["off"])]
    berth_cpu = {key: put_summaries[key].get("cpuSecondsMedian", {}).get("berth") for key in ("on", "off")}
    verify_summary = verification["summary"]
    loss = 1 - on_off if on_off is not None else None
    results = {
        "benchmark": "recording",
        "startedAt": started_at.isoformat(),
        "command": " ".join([sys.argv[0], *sys.argv[1:]]),
        "machine": machine_info(load_start),
        **binary_info(args.berth),
        "environments": {SLUGS[key]: {"recording": MODES[key], "instance": bench.instances.get(key)} for key in SLUGS},
        "image": bench.image,
        "namespace": bench.namespace,
        "keysPerTerminal": len(keystrokes.get("on", [])),
        "rounds": args.rounds,
        "keyGapMs": args.key_gap,
        "clearEvery": args.clear_every,
        "keystrokes": {key: {"summary": key_summaries[key], "samples_ms": [round(v, 4) for v in values]}
                       for key, values in keystrokes.items()},
        "throughputCommand": throughput_command(args.size),
        "throughputBytes": args.size,
        "throughputRuns": args.runs,
        "throughput": {key: {"summary": put_summaries[key], "runs": runs} for key, runs in throughput.items()},
        "berthMemoryKB": memory,
        "verifyRuns": args.verify_runs,
        "verification": verification,
        "ratios": {
            "keystrokeP50OnOff": ratio(key_summaries["on"].get("p50"), key_summaries["off"].get("p50")),
            "keystrokeP99OnOff": ratio(key_summaries["on"].get("p99"), key_summaries["off"].get("p99")),
            "throughputOnOff": on_off,
            "throughputOnOffPairedMedian": statistics.median(paired) if paired else None,
            "throughputLoss": loss,
            "berthCpuOnOff": ratio(berth_cpu["on"], berth_cpu["off"]),
            "verifyVsSha256sum": ratio(verify_summary["berth-verify"]["mbpsMedian"], verify_summary["sha256sum"]["mbpsMedian"]),
            "apiVerifyVsSha256sum": ratio(verify_summary["api-verify"]["mbpsMedian"], verify_summary["sha256sum"]["mbpsMedian"]),
            "verifyVsOpensslSha256": ratio(verify_summary["berth-verify"]["mbpsMedian"],
                                           verify_summary.get("openssl-sha256", {}).get("mbpsMedian")),
        },
        "targets": {
            "throughputLossMax": TARGET_MAX_THROUGHPUT_LOSS,
            "throughputLossMet": loss is not None and loss <= TARGET_MAX_THROUGHPUT_LOSS,
        },
    }
    print(render(results))
    write_results(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
