#!/usr/bin/env python3
"""Berth behind a real nginx reverse proxy: client addresses, sign-in throttling and the terminal.

What it does, in one run:

1. starts `berth serve` on a loopback port with BERTH_TRUSTED_PROXIES=127.0.0.1 (the proxy), and
   nginx in front of it with the configuration docs/reverse-proxy.md shows (X-Forwarded-For,
   Host and the WebSocket upgrade headers);
2. plays a classroom behind one address: clients connect to nginx from 127.0.0.2, 127.0.0.3 and
   127.0.0.4 (all loopback on Linux), so nginx forwards a different client address for each;
   - ann mistypes her password five times from 127.0.0.2 and is throttled (429) there;
   - ben, at the same address, still signs in; ann from 127.0.0.3 signs in too;
   - a client at 127.0.0.4 that writes its own `X-Forwarded-For: 6.6.6.6` is logged as 127.0.0.4;
   - the audit log holds the players' addresses, never the proxy's 127.0.0.1 nor the spoofed one;
3. opens a terminal through nginx: starts linux-basics (its image must be built), takes a
   ticket, opens the WebSocket with the proxy's origin, and runs `echo` in the shell;
4. always stops nginx and the server and removes the namespace's containers.

Exit status: 0 when every check passed, 1 when one failed, 2 when a prerequisite is missing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench"))

from berth_api import free_port  # noqa: E402
from berth_server import BerthServer, ServerNotReady, remove_namespace  # noqa: E402

PROGRAM = "test_behind_nginx"
PASSWORD = "sturdy-Lantern-42"

# The same directives docs/reverse-proxy.md shows; only the ports and paths differ.
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


class Failure(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)
    print(f"{PROGRAM}: ok: {message}", flush=True)


class Client:
    """One browser at a source address: keeps its cookies and CSRF token."""

    def __init__(self, port: int, source: str):
        self.port = port
        self.source = source
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    def request(self, method: str, path: str, body: object | None = None, headers: dict[str, str] | None = None,
                token: str | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.source, 0))
        sent = {"Accept": "application/json", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            payload = {}
        return response.status, payload

    def start_session(self) -> None:
        status, body = self.request("GET", "/api/v1/session")
        if status != 200:
            raise Failure(f"GET /api/v1/session answered {status}")
        self.csrf = body.get("csrfToken")

    def login(self, name: str, password: str, forwarded_for: str | None = None) -> int:
        self.cookies.pop("berth_session", None)
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        return self.request("POST", "/api/v1/auth/login", {"name": name, "password": password}, headers)[0]


def terminal_round_trip(port: int, admin_token: str) -> None:
    import websocket  # websocket-client, installed with Selenium by scripts/ensure-browser.sh

    admin = Client(port, "127.0.0.5")
    status, instance = admin.request("POST", "/api/v1/instances", {"environment": "linux-basics"}, token=admin_token)
    check(status == 201, f"an instance starts through the proxy (HTTP {status})")
    instance_id = instance["id"]
    try:
        status, ticket = admin.request("POST", f"/api/v1/instances/{instance_id}/terminal/ticket", token=admin_token)
        check(status in (200, 201), f"a terminal ticket through the proxy (HTTP {status})")
        url = f"ws://127.0.0.1:{port}{ticket['url']}"
        socket = websocket.create_connection(url, origin=f"http://127.0.0.1:{port}", timeout=30)
        output = b""
        deadline = time.monotonic() + 30
        sent = False
        try:
            while time.monotonic() < deadline and b"behind-42" not in output:
                opcode, data = socket.recv_data()
                if opcode == websocket.ABNF.OPCODE_BINARY:
                    output += data
                    # ash asks where the cursor is before its first prompt; answer as a terminal
                    # would, then type once the prompt is there.
                    if b"\x1b[6n" in data:
                        socket.send_binary(b"\x1b[1;1R")
                    if not sent and b"~$ " in output:
                        socket.send_binary(b"echo behind-$((6*7))\n")
                        sent = True
                elif opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
        except websocket.WebSocketException as error:
            raise Failure(f"the terminal WebSocket through the proxy failed: {error}; output so far: {output[-200:]!r}") from None
        socket.close()
        check(b"behind-42" in output, "the terminal WebSocket works through the proxy (echo came back)")
    finally:
        admin.request("DELETE", f"/api/v1/instances/{instance_id}", token=admin_token)


def run(args: argparse.Namespace, work: Path) -> None:
    namespace = f"proxy-{uuid.uuid4().hex[:8]}"
    admin_token = uuid.uuid4().hex + uuid.uuid4().hex
    nginx_port = free_port()
    server = BerthServer(
        args.berth, work / "data", args.environments, namespace, admin_token, work / "berth.log",
        extra_env={"BERTH_TRUSTED_PROXIES": "127.0.0.1", "BERTH_ALLOWED_ORIGINS": f"http://127.0.0.1:{nginx_port}"},
    )
    prefix = work / "nginx"
    prefix.mkdir()
    nginx = None
    try:
        server.start_or_exit(args.ready_timeout, PROGRAM)
        (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, listen=nginx_port, upstream=server.port))
        nginx = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while True:
            try:
                if Client(nginx_port, "127.0.0.1").request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if nginx.poll() is not None or time.monotonic() > deadline:
                raise Failure(f"nginx did not start: {(prefix / 'error.log').read_text() if (prefix / 'error.log').exists() else ''}")
            time.sleep(0.1)
        print(f"{PROGRAM}: nginx on 127.0.0.1:{nginx_port} in front of Berth on port {server.port}", flush=True)

        for name, source in (("ann", "127.0.0.2"), ("ben", "127.0.0.2")):
            client = Client(nginx_port, source)
            client.start_session()
            status, _ = client.request("POST", "/api/v1/auth/register", {"name": name, "password": PASSWORD})
            check(status == 201, f"{name} registers from {source} (HTTP {status})")

        ann = Client(nginx_port, "127.0.0.2")
        ann.start_session()
        statuses = [ann.login("ann", "typo-typo-typo") for _ in range(5)]
        check(statuses == [401] * 5, f"five wrong passwords for ann from 127.0.0.2 answer 401 ({statuses})")
        check(ann.login("ann", PASSWORD) == 429, "ann is throttled at 127.0.0.2, even with the right password")
        ben = Client(nginx_port, "127.0.0.2")
        ben.start_session()
        check(ben.login("ben", PASSWORD) == 200, "ben, behind the same address, still signs in")
        ann_elsewhere = Client(nginx_port, "127.0.0.3")
        ann_elsewhere.start_session()
        check(ann_elsewhere.login("ann", PASSWORD) == 200, "ann signs in from another address (127.0.0.3)")
        spoofer = Client(nginx_port, "127.0.0.4")
        spoofer.start_session()
        check(spoofer.login("nobody", "wrong-wrong-wrong", forwarded_for="6.6.6.6") == 401, "a spoofing client is refused as usual")

        status, audit = Client(nginx_port, "127.0.0.1").request("GET", "/api/v1/audit?action=login&limit=100", token=admin_token)
        check(status == 200, f"the audit log answers through the proxy (HTTP {status})")
        addresses = {item.get("clientIp") for item in audit.get("items", [])}
        check({"127.0.0.2", "127.0.0.3", "127.0.0.4"} <= addresses, f"the audit log has each player's address ({sorted(map(str, addresses))})")
        check("6.6.6.6" not in addresses and "127.0.0.1" not in addresses,
              "the audit log has neither the spoofed address nor the proxy's")

        terminal_round_trip(nginx_port, admin_token)
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            nginx.wait(timeout=10)
        server.stop()
        remove_namespace(namespace)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--berth", default=str(REPO / ".build" / "debug" / "berth"))
    parser.add_argument("--environments", default=str(REPO / "examples" / "environments"))
    parser.add_argument("--ready-timeout", type=float, default=60)
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        print(f"{PROGRAM}: error: nginx is missing (apt-get install -y nginx)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="berth-proxy-") as work:
        try:
            run(args, Path(work))
        except (Failure, ServerNotReady) as failure:
            print(f"{PROGRAM}: FAILED: {failure}", file=sys.stderr)
            return 1
    print(f"{PROGRAM}: all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
