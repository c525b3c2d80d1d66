#!/usr/bin/env python3
"""Workspace start benchmark: start-to-prompt with a persistent workspace, in one run:

- empty: a new owner each time, so a new, empty workspace (its ext4 image is made at the start);
- local: an owner whose workspace holds --size-mib MiB of random data, restored from this
  host's local copy (the image is only mounted);
- s3: the same owner after the local copy was deleted: the workspace is downloaded from object
  storage (a moto server on loopback with signature checking on, started here) and restored
  before the container starts.

Start-to-prompt is the time from sending POST /api/v1/instances until the shell's prompt arrives
over the terminal WebSocket (ticket, WebSocket, first prompt), as a player sees it. Each instance
is stopped (DELETE) after its measurement; before an `s3` run the upload of the stop is awaited
and the local image removed. The scenarios are interleaved (empty, local, s3, empty, ...) and
--runs times each; medians and the spread are printed and written to
bench-results/workspace-start.json.

Needs: root (workspaces are loop-mounted ext4 images), the Docker Engine, berth/base:latest
(scripts/build-base-image.sh), and moto from scripts/ensure-moto.sh. Standard library only
besides; its WebSocket client and prompt detection are bench/terminal.py's.
Exit status: 2 when the server did not start, 1 when the benchmark could not be set up.
"""

from __future__ import annotations

import argparse
import datetime
import json
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

from berth_api import APIError, BerthAPI, instance_of
from berth_server import BerthServer, add_bench_arguments, berth_missing, command_output, remove_namespace, write_results
from terminal import COLS, ROWS, BerthTerminal, BenchError, visible, wait_for_prompt

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENT = "workspace-start"


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def summarize(samples: list[float]) -> dict:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)
    return {
        "count": len(ordered), "median_ms": round(statistics.median(ordered), 1), "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1), "samples_ms": [round(s, 1) for s in samples],
    }


class Moto:
    """moto's S3 server on loopback with signature checking on (scripts/moto-server.py)."""

    def __init__(self, python: str, bucket: str):
        self.process = subprocess.Popen(
            [python, str(REPO / "scripts" / "moto-server.py"), "--bucket", bucket, "--until-stdin-closes"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise SystemExit("bench: moto did not start (run scripts/ensure-moto.sh)")
        self.settings = json.loads(line)

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.terminate()
        self.process.wait(timeout=30)


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.namespace = f"bench-ws-{secrets.token_hex(4)}"
        self.admin_token = secrets.token_hex(24)
        self.data_dir = Path(tempfile.mkdtemp(prefix="berth-bench-ws-"))
        self.server: BerthServer | None = None
        self.api: BerthAPI | None = None
        self.moto: Moto | None = None
        self.users = 0

    def start(self) -> None:
        self.moto = Moto(self.args.moto_python, "berth-bench")
        s3 = self.moto.settings
        log(f"moto on {s3['endpoint']} (signature checking on)")
        self.server = BerthServer(
            self.args.berth, self.data_dir, self.args.environments, self.namespace, self.admin_token,
            self.data_dir / "server.log",
            extra_env={
                "BERTH_ASSETS_DIR": str(REPO / "vendor"), "BERTH_S3_ENDPOINT": s3["endpoint"], "BERTH_S3_BUCKET": "berth-bench",
                "BERTH_S3_REGION": s3["region"], "BERTH_S3_ACCESS_KEY_ID": s3["accessKeyId"],
                "BERTH_S3_SECRET_ACCESS_KEY": s3["secretAccessKey"], "BERTH_S3_SYNC_INTERVAL": "24h",
            },
        )
        self.server.start_or_exit(self.args.ready_timeout, "bench")
        self.api = BerthAPI(self.server.url, timeout=self.args.timeout)

    def new_user(self) -> str:
        assert self.api
        self.users += 1
        _, user = self.api.call("POST", "/api/v1/users", self.admin_token, {"name": f"bench{self.users}"})
        _, token = self.api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "bench"})
        return token["token"]

    def start_to_prompt(self, token: str) -> tuple[float, str, BerthTerminal]:
        """POST /instances → prompt on the terminal WebSocket, in ms; the instance id and terminal."""
        assert self.api and self.server
        started = time.perf_counter()
        _, payload = self.api.call("POST", "/api/v1/instances", token, {"environment": ENVIRONMENT})
        instance = instance_of(payload)
        deadline = time.monotonic() + self.args.timeout
        while instance.get("state") != "running":
            if instance.get("state") in ("failed", "stopped", "expired") or time.monotonic() > deadline:
                raise BenchError(f"instance {instance.get('id')} did not run (state {instance.get('state')}): {instance.get('error') or ''}")
            time.sleep(0.02)
            _, payload = self.api.call("GET", f"/api/v1/instances/{instance['id']}", token)
            instance = instance_of(payload)
        _, ticket = self.api.call("POST", f"/api/v1/instances/{instance['id']}/terminal/ticket", token)
        term = BerthTerminal(self.server.port, f"{ticket['url']}&cols={COLS}&rows={ROWS}")
        wait_for_prompt(term, timeout=self.args.timeout)
        return (time.perf_counter() - started) * 1000, instance["id"], term

    def stop(self, token: str, instance_id: str, term: BerthTerminal | None) -> None:
        assert self.api
        if term:
            term.close()
        self.api.call("DELETE", f"/api/v1/instances/{instance_id}", token)
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            _, payload = self.api.call("GET", f"/api/v1/instances/{instance_id}", token)
            if instance_of(payload).get("state") in ("stopped", "expired", "failed"):
                return
            time.sleep(0.05)
        raise BenchError(f"instance {instance_id} did not stop")

    def workspace(self, token: str) -> dict:
        assert self.api
        _, payload = self.api.call("GET", "/api/v1/workspaces", token)
        items = payload.get("items", payload) if isinstance(payload, dict) else payload
        if not items:
            raise BenchError("the bench user has no workspace")
        return items[0]

    def wait_synced(self, token: str, after_version: int) -> dict:
        deadline = time.monotonic() + self.args.timeout * 4
        while time.monotonic() < deadline:
            workspace = self.workspace(token)
            sync = workspace.get("sync") or {}
            if sync.get("state") == "synced" and sync.get("remoteVersion", 0) > after_version:
                return workspace
            if sync.get("state") == "failed":
                raise BenchError(f"upload failed: {sync.get('lastError')}")
            time.sleep(0.1)
        raise BenchError("the workspace was not uploaded in time")

    def fill(self, token: str) -> None:
        """Writes --size-mib MiB of random data into the owner's workspace through the terminal."""
        _, instance_id, term = self.start_to_prompt(token)
        marker = secrets.token_hex(4)
        size = self.args.size_mib
        term.send(f"head -c {size}m /dev/urandom > blob && sync && echo done-{marker}\r".encode())
        seen = b""
        deadline = time.monotonic() + self.args.timeout * 4
        while f"done-{marker}".encode() not in visible(seen).replace(f"echo done-{marker}".encode(), b""):
            if time.monotonic() > deadline:
                raise BenchError(f"filling the workspace did not finish: {visible(seen)[-200:]!r}")
            seen = (seen + term.read(0.5))[-8192:]
        self.stop(token, instance_id, term)
        log(f"workspace filled with {size} MiB")

    def drop_local_copy(self, token: str) -> None:
        """Deletes this host's copy of the owner's workspace (no instance uses it: it is unmounted)."""
        workspace_id = self.workspace(token)["id"]
        root = self.data_dir / "workspaces"
        for path in (root / f"{workspace_id}.img", root / f"{workspace_id}.version"):
            path.unlink(missing_ok=True)

    def run(self) -> dict:
        samples: dict[str, list[float]] = {"empty": [], "local": [], "s3": []}
        local_token = self.new_user()
        s3_token = self.new_user()
        self.fill(local_token)
        self.fill(s3_token)
        s3_version = self.wait_synced(s3_token, 0)["sync"]["remoteVersion"]
        for run in range(1, self.args.runs + 1):
            # empty: a new owner, a new workspace.
            token = self.new_user()
            elapsed, instance_id, term = self.start_to_prompt(token)
            samples["empty"].append(elapsed)
            self.stop(token, instance_id, term)
            # local: the filled workspace, from this host's image.
            elapsed, instance_id, term = self.start_to_prompt(local_token)
            samples["local"].append(elapsed)
            self.stop(local_token, instance_id, term)
            # s3: the filled workspace after its local copy was removed.
            self.drop_local_copy(s3_token)
            elapsed, instance_id, term = self.start_to_prompt(s3_token)
            samples["s3"].append(elapsed)
            self.stop(s3_token, instance_id, term)
            s3_version = self.wait_synced(s3_token, s3_version)["sync"]["remoteVersion"]
            log(f"run {run}/{self.args.runs}: empty {samples['empty'][-1]:.0f} ms, local {samples['local'][-1]:.0f} ms, "
                f"s3 {samples['s3'][-1]:.0f} ms")
        return {name: summarize(values) for name, values in samples.items()}

    def cleanup(self) -> None:
        if self.server:
            self.server.stop()
        remove_namespace(self.namespace)
        if self.moto:
            self.moto.stop()
        saved = Path(self.args.output).parent / "workspace-start-server.log"
        log_path = self.data_dir / "server.log"
        if log_path.exists():
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, saved)
        # Workspaces are loop-mounted under the data directory; the server unmounts them when it stops.
        subprocess.run(["umount", "-R", str(self.data_dir / "workspaces" / "mnt")], capture_output=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_bench_arguments(parser, "workspace-start.json")
    parser.set_defaults(environments=str(REPO / "bench" / "environments"))
    parser.add_argument("--runs", type=int, default=5, help="measurements of each scenario (default 5)")
    parser.add_argument("--size-mib", type=int, default=100, help="data in the restored workspaces (default 100 MiB)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one start or stop may take")
    parser.add_argument("--moto-python", default=str(REPO / ".build-moto-venv" / "bin" / "python"),
                        help="python with moto[server] (scripts/ensure-moto.sh makes it)")
    args = parser.parse_args()
    if berth_missing(args.berth):
        return 1
    if os.geteuid() != 0:
        print("bench: error: workspaces are loop-mounted images: run as root", file=sys.stderr)
        return 1
    bench = Bench(args)
    try:
        bench.start()
        results = bench.run()
    except (APIError, BenchError, OSError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        if bench.server:
            bench.server.print_log_tail(40, "bench: last lines of the server log:")
        bench.cleanup()
        return 1
    bench.cleanup()
    print()
    print(f"Start-to-prompt with a workspace ({args.runs} runs each, {args.size_mib} MiB restored):")
    print(f"  {'scenario':<8} {'median':>10} {'min':>10} {'max':>10}")
    for name, label in (("empty", "empty"), ("local", "local"), ("s3", "from S3")):
        summary = results[name]
        print(f"  {label:<8} {summary['median_ms']:>8.0f} ms {summary['min_ms']:>7.0f} ms {summary['max_ms']:>7.0f} ms")
    write_results({
        "benchmark": "workspace-start",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": {"platform": platform.platform(), "cpus": os.cpu_count(), "docker": command_output(["docker", "version", "--format", "{{.Server.Version}}"])},
        "berth": args.berth, "runs": args.runs, "size_mib": args.size_mib, "results": results,
    }, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
