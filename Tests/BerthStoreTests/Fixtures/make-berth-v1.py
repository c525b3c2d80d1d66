#!/usr/bin/env python3
"""Makes berth-v1.sql: a text dump of a real berth.db written by the current store (migrations
0001_initial..0006_workspaces), the input of the in-place migration test of store v2.

It drives a real `berth serve` (its own data directory under /tmp, a free port, a namespace of its
own) through the REST API and the CLI, as players and an admin would: users (one created by the
admin, two registered with passwords and signed in), API tokens, a team with an invite code and
two members, instances (one left running with a published port, others stopped), submissions (a
wrong flag, a hint unlock, a solve), a lab's progress, checks and a hint, and a workspace. It
copies the database with SQLite's online backup while the server still runs (so the running
instance is stored as running), then purges the instances, stops the server, removes anything
left in its namespace, and writes the copy as `sqlite3.Connection.iterdump()` SQL next to this
script. It prints the facts the test relies on (ids, names, ports, row counts) as JSON.

As root, on a machine with the Docker Engine, the example images built
(`berth env build --environments examples/environments`) and loop devices (workspace-notes):

    python3 Tests/BerthStoreTests/Fixtures/make-berth-v1.py --berth .build/debug/berth
"""

from __future__ import annotations

import argparse
import base64
import http.cookiejar
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "bench"))
from berth_server import BerthServer, remove_namespace  # noqa: E402

PROGRAM = "make-berth-v1"
PASSWORD_BOB = "sturdy-Lantern-42"
PASSWORD_CAROL = "quiet-Harbour-977"
ENVIRONMENTS_USED = ["web-service", "linux-basics", "lab-shell-steps", "workspace-notes"]
# Seconds an instance may take to reach a state.
STATE_TIMEOUT = 120


def say(message: str) -> None:
    print(f"{PROGRAM}: {message}", file=sys.stderr, flush=True)


class Refused(Exception):
    """A non-2xx answer: its status and the error envelope's code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


class Caller:
    """One caller of the API: an API token (Bearer), or a browser-like session (cookie jar plus the
    CSRF token from GET /api/v1/session)."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.token = token
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf: str | None = None

    def refresh_csrf(self) -> None:
        self.csrf = self.call("GET", "/api/v1/session")["csrfToken"]

    def call(self, method: str, path: str, body: object | None = None, raw: bytes | None = None,
             headers: dict[str, str] | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if raw is not None:
            request.add_header("Content-Type", "application/octet-stream")
        elif body is not None:
            request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        elif self.csrf and method not in ("GET", "HEAD"):
            request.add_header("X-CSRF-Token", self.csrf)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with self.opener.open(request, timeout=STATE_TIMEOUT) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                envelope = json.loads(payload)["error"]
                raise Refused(error.code, envelope["code"], envelope["message"]) from None
            except (ValueError, KeyError, TypeError):
                raise Refused(error.code, "http_error", payload.decode(errors="replace")[:300]) from None
        return json.loads(payload) if payload.strip() else None

    def refused(self, method: str, path: str, body: object | None = None) -> Refused:
        """Calls and expects a refusal; answers it (an answer that succeeds is an error)."""
        try:
            answer = self.call(method, path, body)
        except Refused as refusal:
            return refusal
        raise SystemExit(f"{PROGRAM}: error: {method} {path} {body} was accepted ({answer}), expected a refusal")


def register(base_url: str, name: str, password: str) -> Caller:
    """Registers `name` in a fresh browser-like session, which is then signed in."""
    caller = Caller(base_url)
    caller.refresh_csrf()
    caller.call("POST", "/api/v1/auth/register", {"name": name, "password": password})
    caller.refresh_csrf()
    return caller


def wait_for_state(caller: Caller, instance_id: str, wanted: set[str]) -> dict:
    deadline = time.monotonic() + STATE_TIMEOUT
    while True:
        instance = caller.call("GET", f"/api/v1/instances/{instance_id}")
        if instance["state"] in wanted:
            return instance
        if instance["state"] in {"failed", "expired", "stopped"} - wanted:
            raise SystemExit(f"{PROGRAM}: error: instance {instance_id} ended as {instance['state']}: {instance.get('reason')}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{PROGRAM}: error: instance {instance_id} still {instance['state']} after {STATE_TIMEOUT}s")
        time.sleep(0.1)


def start(caller: Caller, environment: str) -> dict:
    instance = caller.call("POST", "/api/v1/instances", {"environment": environment})
    instance = wait_for_state(caller, instance["id"], {"running"})
    say(f"{environment}: instance {instance['id']} running")
    return instance


def stop(caller: Caller, instance_id: str) -> dict:
    caller.call("DELETE", f"/api/v1/instances/{instance_id}")
    return wait_for_state(caller, instance_id, {"stopped"})


def write_file(caller: Caller, instance_id: str, path: str, content: bytes) -> None:
    query = urllib.parse.urlencode({"path": path})
    caller.call("PUT", f"/api/v1/instances/{instance_id}/files/content?{query}", raw=content)


def open_terminal(caller: Caller, instance_id: str, keystrokes: bytes) -> str:
    """Opens the instance's terminal WebSocket with a ticket (so the server starts a PTY and its
    recording), types `keystrokes`, reads output for a moment and closes. A minimal client on a
    plain socket (RFC 6455 framing), since the standard library has none. Answers what was read."""
    ticket = caller.call("POST", f"/api/v1/instances/{instance_id}/terminal/ticket", {})
    host, port = urllib.parse.urlsplit(caller.base_url).hostname, urllib.parse.urlsplit(caller.base_url).port
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall((f"GET {ticket['url']}&cols=80&rows=24 HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise SystemExit(f"{PROGRAM}: error: terminal of {instance_id} refused: {head[:300]!r}")
        output = head.split(b"\r\n\r\n", 1)[1]

        def frame(opcode: int, payload: bytes) -> bytes:
            mask = secrets.token_bytes(4)
            masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
            assert len(payload) < 126
            return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked

        sock.sendall(frame(0x2, keystrokes))
        deadline = time.monotonic() + 1.5
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            output += chunk
        sock.sendall(frame(0x8, (1000).to_bytes(2, "big")))
    return output.decode(errors="replace")


def cli(berth: str, base_url: str, admin_token: str, *arguments: str):
    """Runs a `berth` CLI command through the server, with --json, and answers its JSON."""
    environment = {**os.environ, "BERTH_URL": base_url, "BERTH_TOKEN": admin_token}
    result = subprocess.run([berth, *arguments, "--json"], env=environment, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit(f"{PROGRAM}: error: berth {' '.join(arguments)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def drive(server: BerthServer, berth: str, admin_token: str) -> dict:
    """Everything a few players and an admin do; answers the facts worth checking after a migration."""
    base = server.url
    admin = Caller(base, admin_token)
    facts: dict = {"refusals": {}}

    # A settings row.
    admin.call("PUT", "/api/v1/admin/settings", {"registrationOpen": True, "defaultTTL": "45m"})

    # alice: made by the admin with the CLI, no password, and an API token (CLI too).
    alice = cli(berth, base, admin_token, "users", "create", "alice")
    alice_token = cli(berth, base, admin_token, "tokens", "create", "--user", alice["id"], "--name", "fixture laptop")
    alice_caller = Caller(base, alice_token["token"])
    # The same name in other case is refused: names are unique regardless of case (NOCASE index).
    refusal = admin.refused("POST", "/api/v1/users", {"name": "ALICE"})
    facts["refusals"]["POST /api/v1/users ALICE"] = f"{refusal.status} {refusal.code}"

    # Bob and carol register with passwords (a session each); "bob" is refused like ALICE.
    bob = register(base, "Bob", PASSWORD_BOB)
    carol = register(base, "carol", PASSWORD_CAROL)
    anonymous = Caller(base)
    anonymous.refresh_csrf()
    refusal = anonymous.refused("POST", "/api/v1/auth/register", {"name": "bob", "password": "other-Password-5150"})
    facts["refusals"]["POST /api/v1/auth/register bob"] = f"{refusal.status} {refusal.code}"
    # Bob signs in a second time from another session (a second sessions row).
    bob_again = Caller(base)
    bob_again.refresh_csrf()
    bob_again.call("POST", "/api/v1/auth/login", {"name": "Bob", "password": PASSWORD_BOB})
    # Bob makes a personal API token from his session.
    bob_token = bob.call("POST", "/api/v1/me/tokens", {"name": "bob's script"})

    # A team: Bob creates it, carol joins with its invite code.
    team = bob.call("POST", "/api/v1/me/team", {"name": "Blue team"})
    team = carol.call("POST", "/api/v1/me/team/join", {"inviteCode": team["inviteCode"]})

    # alice's web-service instance stays running, with its published port.
    web = start(alice_caller, "web-service")
    # Its terminal was opened (a recording, still open when the database is copied: the PTY
    # outlives its client for the reconnect window).
    open_terminal(alice_caller, web["id"], b"echo fixture\n")

    # Bob plays linux-basics: a wrong flag, a paid hint, the right flag, then stops.
    basics = start(bob, "linux-basics")
    open_terminal(bob, basics["id"], b"ls -a\n")  # its recording ends when the instance stops
    wrong = bob.call("POST", "/api/v1/environments/linux-basics/submissions", {"flag": "berth{not_it}"})
    hint = bob.call("POST", "/api/v1/environments/linux-basics/hints/1/unlock")
    right = bob.call("POST", "/api/v1/environments/linux-basics/submissions", {"flag": "berth{dotfiles_hide_in_plain_sight}"})
    if wrong.get("correct") or not right.get("correct"):
        raise SystemExit(f"{PROGRAM}: error: submissions answered {wrong} and {right}")
    basics = stop(bob, basics["id"])

    # carol works through the lab: its progress, a failing check, a passing one, a hint.
    lab = start(carol, "lab-shell-steps")
    carol.call("GET", "/api/v1/environments/lab-shell-steps/lab")
    failed_check = carol.call("POST", f"/api/v1/instances/{lab['id']}/checks")
    write_file(carol, lab["id"], "/home/player/project/notes.txt", b"made by make-berth-v1.py\n")
    passed_check = carol.call("POST", f"/api/v1/instances/{lab['id']}/checks")
    lab_hint = carol.call("POST", f"/api/v1/instances/{lab['id']}/hints")
    lab = stop(carol, lab["id"])

    # carol's workspace: a file under ~/work, kept after the instance stops.
    notes = start(carol, "workspace-notes")
    write_file(carol, notes["id"], "/home/player/work/notes.txt", b"kept across instances\n")
    notes = stop(carol, notes["id"])
    workspaces = admin.call("GET", "/api/v1/admin/workspaces")

    # Team mode for a while: rows owned and scored by the team. Bob starts the lab for the team
    # and looks at its progress; carol submits a wrong flag for the team. Then back to user mode.
    admin.call("PUT", "/api/v1/admin/settings", {"assignment": "team"})
    team_lab = start(bob, "lab-shell-steps")
    bob.call("GET", "/api/v1/environments/lab-shell-steps/lab")
    team_wrong = carol.call("POST", "/api/v1/environments/web-service/submissions", {"flag": "berth{guess}"})
    team_lab = stop(bob, team_lab["id"])
    admin.call("PUT", "/api/v1/admin/settings", {"assignment": "user"})

    verify = admin.call("GET", "/api/v1/audit/verify")
    listed = cli(berth, base, admin_token, "instances", "list")

    facts.update({
        "users": {"alice": alice["id"], "Bob": bob.call("GET", "/api/v1/me"), "carol": carol.call("GET", "/api/v1/me")},
        # Secrets of a throwaway server, kept so a test can prove they still authenticate.
        "secrets": {"admin_token": server.environment["BERTH_ADMIN_TOKEN"],
                    "alice_token": alice_token["token"], "bob_token": bob_token["token"],
                    "bob_password": PASSWORD_BOB, "carol_password": PASSWORD_CAROL,
                    "bob_session_cookie": next(cookie.value for cookie in bob.jar if cookie.name == "berth_session")},
        "tokens": {"alice": {"id": alice_token.get("id"), "name": "fixture laptop"},
                   "Bob": {"id": bob_token.get("id"), "name": "bob's script"}},
        "team": {"id": team["id"], "name": team["name"], "inviteCode": team["inviteCode"],
                 "members": [member["name"] for member in team["members"]]},
        "running_instance": {"id": web["id"], "environment": "web-service", "owner": web["owner"],
                             "endpoints": web["endpoints"]},
        "stopped_instances": {basics["id"]: basics["environment"], lab["id"]: lab["environment"],
                              notes["id"]: notes["environment"], team_lab["id"]: "lab-shell-steps (team)"},
        "team_submission": team_wrong,
        "submissions": {"wrong": wrong, "hint": hint, "right": right},
        "lab_checks": {"failed": failed_check.get("status"), "passed": passed_check.get("status")},
        "lab_hint": lab_hint,
        "workspaces": workspaces,
        "audit_verify": verify,
        "cli_instances": listed,
    })
    return facts


def dump(database: Path, output: Path) -> dict[str, int]:
    """Writes `database` as iterdump() SQL to `output`; answers the row count of each table."""
    connection = sqlite3.connect(database)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        counts = {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
        with open(output, "w", encoding="utf-8") as out:
            for line in connection.iterdump():
                out.write(line + "\n")
    finally:
        connection.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--berth", default=str(REPO / ".build" / "debug" / "berth"), help="berth binary")
    parser.add_argument("--environments", default=str(REPO / "examples" / "environments"))
    parser.add_argument("--output", default=str(HERE / "berth-v1.sql"))
    parser.add_argument("--facts", default=None, help="also write the facts JSON to this file")
    parser.add_argument("--no-env-build", action="store_true", help="skip `berth env build` (images built)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    arguments = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="berth-v1-fixture-"))
    data_dir = work / "data"
    namespace = "fixture-v1-" + secrets.token_hex(4)
    admin_token = secrets.token_hex(24)
    server = BerthServer(arguments.berth, data_dir, arguments.environments, namespace, admin_token, work / "server.log")
    say(f"data directory {data_dir}, namespace {namespace}")
    if not arguments.no_env_build:
        # The images of the environments used (cached: quick when they are built).
        subprocess.run([arguments.berth, "env", "build", "--environments", arguments.environments, *ENVIRONMENTS_USED],
                       check=True, stdout=sys.stderr)
    server.start_or_exit(60, PROGRAM)
    copy = work / "berth-v1.db"
    try:
        facts = drive(server, arguments.berth, admin_token)
        # SQLite's online backup, while the server runs: the running instance is stored as running.
        source = sqlite3.connect(data_dir / "berth.db")
        target = sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
        say(f"database copied to {copy}")
        Caller(server.url, admin_token).call("POST", "/api/v1/admin/purge")
    finally:
        server.stop()
        removed = remove_namespace(namespace)
        if removed:
            say(f"removed {removed} container(s) left in namespace {namespace}")
    facts["row_counts"] = dump(copy, Path(arguments.output))
    facts["namespace"] = namespace
    say(f"wrote {arguments.output}")
    text = json.dumps(facts, indent=2, sort_keys=True)
    print(text)
    if arguments.facts:
        Path(arguments.facts).write_text(text + "\n")
    mounted = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
               if line.split()[1].startswith(str(work))]
    if arguments.keep or mounted:
        if mounted:
            say(f"left {work} in place: still mounted: {mounted}")
        else:
            say(f"kept {work}")
    else:
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
