#!/usr/bin/env python3
"""Start-to-prompt of a container lab (berth.containers: true) against a plain lab, in one run.

Starts its own `berth serve` (free loopback port, temporary data directory, a namespace of its
own) over a temporary environments folder holding two examples: `container-basics` (rootless
Podman on berth/podman:latest, Docker's seccomp profile plus the rootless additions, /dev/fuse)
and `lab-shell-steps` (a plain lab on berth/base:latest). For each run, alternating between the
two, it measures from sending `POST /api/v1/instances` to the state `running` (the lab's scripts
installed and `setup` run), and on to the shell's prompt on the terminal WebSocket (ticket,
upgrade, exec, login shell). Then, in the container lab's terminal, the first `podman images`
(the rootless user namespace and storage set up). It prints medians, p90, min and max, the ratio
of the medians, and writes bench-results/container-labs.json.

Usage: python3 bench/container-labs.py [--berth PATH] [-n RUNS] [--no-env-build]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from berth_api import APIError, BerthAPI, instance_of, wait_until_running
from berth_server import BerthServer, add_bench_arguments, berth_missing, command_output, remove_namespace, write_results
from terminal import COLS, ROWS, BenchError, BerthTerminal, visible, wait_for_prompt

REPO = Path(__file__).resolve().parent.parent
CONTAINER_LAB = "container-basics"
PLAIN_LAB = "lab-shell-steps"


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def summarize(samples: list[float]) -> dict:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "p50": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
        "min": ordered[0],
        "max": ordered[-1],
    }


class Benchmark:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.admin_token = secrets.token_hex(16)
        self.namespace = f"bench-{secrets.token_hex(4)}"
        self.data_dir = Path(tempfile.mkdtemp(prefix="berth-bench-"))
        self.environments = self.data_dir / "environments"
        self.server: BerthServer | None = None
        self.api: BerthAPI | None = None
        self.user_token: str | None = None

    def prepare(self) -> None:
        source = Path(self.args.environments)
        for slug in (CONTAINER_LAB, PLAIN_LAB):
            shutil.copytree(source / slug, self.environments / slug)
        if not self.args.no_env_build:
            command = [self.args.berth, "env", "build", "--environments", str(self.environments)]
            log("building environment images: " + " ".join(command))
            if subprocess.run(command).returncode != 0:
                raise SystemExit(f"bench: `{' '.join(command)}` failed")
        self.server = BerthServer(
            self.args.berth, self.data_dir / "data", self.environments, self.namespace, self.admin_token,
            self.data_dir / "server.log",
            extra_env={"BERTH_ASSIGNMENT": "unlimited", "BERTH_OWNER_CAP": "10", "BERTH_GLOBAL_CAP": "20"},
        )
        self.server.start_or_exit(self.args.ready_timeout, "bench")
        self.api = BerthAPI(self.server.url, timeout=self.args.timeout)
        _, user = self.api.call("POST", "/api/v1/users", self.admin_token, {"name": "bench"})
        _, token = self.api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "bench"})
        self.user_token = token["token"]

    def start_to_prompt(self, slug: str, podman: bool) -> dict:
        """One instance of `slug`: milliseconds to running, to the prompt, and (with `podman`)
        of the first `podman images`; the instance is deleted afterwards."""
        assert self.api and self.server
        started = time.perf_counter()
        _, payload = self.api.call("POST", "/api/v1/instances", self.user_token, {"environment": slug})
        instance = instance_of(payload)
        instance_id = instance["id"]
        try:
            try:
                wait_until_running(self.api, self.user_token, instance, self.args.timeout)
            except RuntimeError as error:
                raise BenchError(f"{slug}: {error}") from None
            running = time.perf_counter()
            _, ticket = self.api.call("POST", f"/api/v1/instances/{instance_id}/terminal/ticket", self.user_token)
            term = BerthTerminal(self.server.port, f"{ticket['url']}&cols={COLS}&rows={ROWS}")
            try:
                wait_for_prompt(term, timeout=self.args.timeout)
                prompt = time.perf_counter()
                sample = {"running_ms": (running - started) * 1000, "prompt_ms": (prompt - started) * 1000}
                if podman:
                    sample["first_podman_ms"] = self.first_podman(term)
                return sample
            finally:
                term.close()
        finally:
            try:
                self.api.call("DELETE", f"/api/v1/instances/{instance_id}", self.user_token)
            except (APIError, OSError) as error:
                log(f"warning: could not delete {instance_id}: {error}")

    def first_podman(self, term: BerthTerminal) -> float:
        """Milliseconds of the first `podman images` typed into the terminal, to its end marker."""
        started = time.perf_counter()
        term.send(b"podman images >/dev/null 2>&1; echo PODMAN''DONE\r")
        seen = b""
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            seen += term.read(0.5)
            if b"PODMANDONE" in visible(seen):
                return (time.perf_counter() - started) * 1000
        raise BenchError("podman images did not finish")

    def run(self) -> dict:
        samples: dict[str, list[dict]] = {CONTAINER_LAB: [], PLAIN_LAB: []}
        failures: dict[str, list[str]] = {CONTAINER_LAB: [], PLAIN_LAB: []}
        for index in range(self.args.warmup + self.args.runs):
            order = (CONTAINER_LAB, PLAIN_LAB) if index % 2 == 0 else (PLAIN_LAB, CONTAINER_LAB)
            for slug in order:
                try:
                    sample = self.start_to_prompt(slug, podman=slug == CONTAINER_LAB)
                except (BenchError, APIError, OSError) as error:
                    failures[slug].append(str(error))
                    log(f"{slug}: {error}")
                    continue
                if index >= self.args.warmup:
                    samples[slug].append(sample)
                    log(f"{slug}: running {sample['running_ms']:.0f} ms, prompt {sample['prompt_ms']:.0f} ms"
                        + (f", first podman {sample['first_podman_ms']:.0f} ms" if "first_podman_ms" in sample else ""))
        return {"samples": samples, "failures": failures}

    def cleanup(self) -> None:
        if self.server:
            saved = Path(self.args.output).parent / "container-labs-server.log"
            saved.parent.mkdir(parents=True, exist_ok=True)
            if (self.data_dir / "server.log").exists():
                shutil.copyfile(self.data_dir / "server.log", saved)
            self.server.stop()
        remove_namespace(self.namespace)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=10, help="measured runs of each lab (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs of each lab first (default 1)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds one instance may take (default 90)")
    add_bench_arguments(parser, "container-labs.json")
    args = parser.parse_args()
    if berth_missing(args.berth):
        return 1

    bench = Benchmark(args)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    try:
        bench.prepare()
        measured = bench.run()
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()

    summaries = {}
    for slug, samples in measured["samples"].items():
        summaries[slug] = {key: summarize([s[key] for s in samples if key in s]) for key in ("running_ms", "prompt_ms", "first_podman_ms")}
    container_prompt = summaries[CONTAINER_LAB]["prompt_ms"].get("p50")
    plain_prompt = summaries[PLAIN_LAB]["prompt_ms"].get("p50")
    ratio = container_prompt / plain_prompt if container_prompt and plain_prompt else None
    results = {
        "benchmark": "container-labs",
        "startedAt": started_at.isoformat(),
        "command": " ".join([sys.argv[0], *sys.argv[1:]]),
        "machine": {
            "cores": os.cpu_count(),
            "kernel": platform.release(),
            "dockerServer": command_output(["docker", "version", "-f", "{{.Server.Version}}"]),
        },
        "berthBinary": os.path.abspath(args.berth),
        "gitCommit": command_output(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "runs": args.runs,
        "warmup": args.warmup,
        "summaries": summaries,
        "prompt_p50_ratio": ratio,
        "samples": measured["samples"],
        "failures": measured["failures"],
    }
    print()
    print(f"start-to-prompt over {args.runs} interleaved runs each (ms):")
    for slug in (CONTAINER_LAB, PLAIN_LAB):
        for key in ("running_ms", "prompt_ms", "first_podman_ms"):
            s = summaries[slug][key]
            if s.get("count"):
                print(f"  {slug:18} {key:16} p50 {s['p50']:7.0f}  p90 {s['p90']:7.0f}  min {s['min']:7.0f}  max {s['max']:7.0f}")
        print(f"  {slug:18} failures {len(measured['failures'][slug])}")
    if ratio is not None:
        print(f"  prompt p50 ratio {CONTAINER_LAB} / {PLAIN_LAB}: {ratio:.2f}")
    write_results(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
