#!/usr/bin/env python3
"""Hint latency through the HTTP operation, end to end.

1. starts a small chat-completions server on loopback (standard library, port 0) that answers at
   once (a fixed 0 ms model delay by default, `--model-delay-ms`), records each request and can
   be switched to answer 503;
2. starts two `berth serve` on free loopback ports, each with its own data directory and
   namespace: one with BERTH_AI_URL pointing at that server, one without (authored hints only);
   BERTH_HINT_LIMIT is raised so the limit does not get in the way;
3. creates a user and token on each, and one instance of the lab environment (default
   bench/environments/lab-hints, which runs berth/base:latest as it is: nothing to build) on each;
4. times `POST /api/v1/instances/{id}/hints` in interleaved rounds: AI through the local server,
   the authored fallback without an endpoint, and (with the local server answering 503) the
   fallback after a failed endpoint;
5. checks that no request the local server received held the lab's static flag, prints
   p50/p90/p99/mean per path and the AI/fallback ratio, and writes
   bench-results/hint-latency-http.json.

A step has few authored hints: once they are given (in the warm-up), the fallback paths answer
`source: none`, which takes the same path through Berth (the store, the advisor, the audit).

`make bench-hints` runs bench/HintLatencyBench (the advisor alone, no server, no Docker) first,
then this script.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from berth_api import APIError, BerthAPI, instance_of  # noqa: E402
from berth_server import (  # noqa: E402
    BerthServer, add_bench_arguments, berth_missing, remove_namespace, write_results,
)

ANSWER = "Which command prints the **end** of a file? Look at its manual page."


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


class ChatStub:
    """An OpenAI-compatible chat-completions server on 127.0.0.1, port 0."""

    def __init__(self, delay_ms: float):
        self.delay = delay_ms / 1000
        self.fail_status: int | None = None
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                with stub.lock:
                    stub.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
                    status = stub.fail_status
                if stub.delay:
                    time.sleep(stub.delay)
                if status is not None:
                    payload = {"error": {"message": "told to fail", "type": "bench"}}
                else:
                    status = 200
                    payload = {
                        "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", ""),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
                    }
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def summary(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return {"count": len(values), "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "mean": statistics.fmean(values),
            "min": ordered[0], "max": ordered[-1]}


class Side:
    """One `berth serve` with a user, a token and a running instance of the lab."""

    def __init__(self, args, name: str, extra_env: dict[str, str]):
        self.args = args
        self.name = name
        self.admin_token = secrets.token_hex(16)
        self.namespace = f"bench-hints-{secrets.token_hex(4)}"
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"berth-bench-hints-{name}-"))
        self.server = BerthServer(
            args.berth, self.data_dir, args.environments, self.namespace, self.admin_token, self.data_dir / "server.log",
            extra_env={"BERTH_HINT_LIMIT": "1000000/1s", **extra_env},
        )
        self.api: BerthAPI | None = None
        self.token: str | None = None
        self.instance: str | None = None

    def start(self) -> None:
        self.server.start_or_exit(self.args.ready_timeout, f"bench ({self.name})")
        self.api = BerthAPI(self.server.url, timeout=60)
        _, user = self.api.call("POST", "/api/v1/users", self.admin_token, {"name": f"bench-{self.name}"})
        _, token = self.api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "bench"})
        self.token = token["token"]
        _, payload = self.api.call("POST", "/api/v1/instances", self.token, {"environment": self.args.environment})
        instance = instance_of(payload)
        self.instance = instance["id"]
        deadline = time.monotonic() + 120
        while instance.get("state") != "running":
            if instance.get("state") in ("failed", "expired", "stopped"):
                raise SystemExit(f"bench: instance {self.instance} ended in state {instance.get('state')}")
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: instance {self.instance} not running after 120 s")
            time.sleep(0.05)
            _, payload = self.api.call("GET", f"/api/v1/instances/{self.instance}", self.token)
            instance = instance_of(payload)
        log(f"{self.name}: instance {self.instance} running")

    def hint(self) -> tuple[float, dict]:
        assert self.api
        started = time.perf_counter()
        _, payload = self.api.call("POST", f"/api/v1/instances/{self.instance}/hints", self.token)
        return (time.perf_counter() - started) * 1000, payload

    def stop(self) -> None:
        if self.api and self.instance:
            try:
                self.api.call("DELETE", f"/api/v1/instances/{self.instance}", self.token)
            except (APIError, OSError):
                pass
        self.server.stop()
        remove_namespace(self.namespace)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_bench_arguments(parser, "hint-latency-http.json")
    parser.set_defaults(environments=str(Path(__file__).resolve().parent / "environments"))
    parser.add_argument("--environment", default="lab-hints", help="the lab environment (default lab-hints)")
    parser.add_argument("--secret", default="CTF{hint-bench-static-flag}", help="a flag of the lab no prompt may hold")
    parser.add_argument("--requests", type=int, default=100, help="timed hints per path (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default 10)")
    parser.add_argument("--model-delay-ms", type=float, default=0, help="the local model's fixed answer delay (default 0)")
    args = parser.parse_args()
    if berth_missing(args.berth):
        return 2
    if not args.no_env_build:
        command = [args.berth, "env", "build", "--environments", args.environments]
        log("building environment images: " + " ".join(command))
        if subprocess.run(command).returncode != 0:
            return 2

    with ChatStub(args.model_delay_ms) as stub:
        ai = Side(args, "ai", {"BERTH_AI_URL": stub.url, "BERTH_AI_MODEL": "bench", "BERTH_AI_KEY": "sk-bench-key"})
        authored = Side(args, "authored", {})
        samples: dict[str, list[float]] = {"ai-local-server": [], "authored-not-configured": [], "authored-after-http-503": []}
        sources: dict[str, dict[str, int]] = {name: {} for name in samples}
        try:
            ai.start()
            authored.start()
            for round_index in range(args.warmup + args.requests):
                for name, side, fail in (("ai-local-server", ai, None), ("authored-not-configured", authored, None),
                                         ("authored-after-http-503", ai, 503)):
                    stub.fail_status = fail
                    elapsed, payload = side.hint()
                    source = payload.get("source", "?")
                    if round_index >= args.warmup:
                        samples[name].append(elapsed)
                        sources[name][source] = sources[name].get(source, 0) + 1
            stub.fail_status = None
        finally:
            ai.stop()
            authored.stop()

    leaked = [request for request in stub.requests if args.secret.lower() in json.dumps(request["body"]).lower()]
    if leaked:
        log(f"error: {len(leaked)} prompt(s) held the lab's flag")
        return 1
    if sources["ai-local-server"].get("ai", 0) != args.requests:
        log(f"error: the AI path gave {sources['ai-local-server']} instead of {args.requests} AI hints")
        return 1
    summaries = {name: summary(values) for name, values in samples.items()}
    print(f"\nHint latency through POST /api/v1/instances/{{id}}/hints, {args.requests} per path after {args.warmup} warm-up"
          f" rounds, interleaved; model delay {args.model_delay_ms:g} ms (milliseconds)")
    print(f"{'path':26}     p50     p90     p99    mean  sources")
    for name, values in summaries.items():
        print(f"{name:26} {values['p50']:7.2f} {values['p90']:7.2f} {values['p99']:7.2f} {values['mean']:7.2f}  {sources[name]}")
    ratio = summaries["ai-local-server"]["p50"] / summaries["authored-not-configured"]["p50"]
    print(f"AI p50 / authored p50: {ratio:.2f}")
    write_results({
        "benchmark": "hint-latency-http", "environment": args.environment, "requestsPerPath": args.requests,
        "warmupRounds": args.warmup, "modelDelayMs": args.model_delay_ms, "summariesMs": summaries, "sources": sources,
        "ratios": {"aiP50OverAuthoredP50": ratio}, "stubRequests": len(stub.requests),
    }, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
