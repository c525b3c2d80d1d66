"""Berth's REST API from Python, standard library only: shared by the benchmarks in bench/ and
the browser test in tests/browser/."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request


class APIError(Exception):
    """A non-2xx answer from Berth, with the error envelope's code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


class BerthAPI:
    """A tiny JSON client for Berth's REST API (thread-safe: one urllib request per call)."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, token: str | None = None, body: object | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw.strip() else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            code, message = "http_error", raw.decode(errors="replace")[:300]
            try:
                envelope = json.loads(raw)["error"]
                code, message = envelope.get("code", code), envelope.get("message", message)
            except (ValueError, KeyError, TypeError):
                pass
            raise APIError(error.code, code, message) from None


def instance_of(payload):
    """The instance object of an answer (top level, or under `instance` if wrapped)."""
    if isinstance(payload, dict) and "id" not in payload and isinstance(payload.get("instance"), dict):
        return payload["instance"]
    return payload


FINAL_FAILED_STATES = {"failed", "stopped", "expired"}


def wait_until_running(api: BerthAPI, token: str, instance: dict, timeout: float) -> None:
    """Polls the instance (as answered by POST /api/v1/instances) every 10 ms until it is running;
    raises RuntimeError when it ends in a final state or is not running within `timeout` seconds."""
    instance_id = instance["id"]
    state = instance.get("state")
    deadline = time.monotonic() + timeout
    while state != "running":
        if state in FINAL_FAILED_STATES:
            raise RuntimeError(f"instance {instance_id} ended in state {state}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"instance {instance_id} not running after {timeout}s (state {state})")
        time.sleep(0.01)
        _, payload = api.call("GET", f"/api/v1/instances/{instance_id}", token)
        state = instance_of(payload).get("state")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
