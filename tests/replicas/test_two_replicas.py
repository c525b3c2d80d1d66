#!/usr/bin/env python3
"""Two Berth replicas on one PostgreSQL database and one Docker Engine, behind nginx.

What it does, in one run (issue 12, "real parts"):

- makes a PostgreSQL schema of its own (on --postgres-url, else $BERTH_TEST_POSTGRES_URL, else
  the server scripts/ensure-postgres.sh starts) and starts two `berth serve` on it with one
  BERTH_NAMESPACE, each with a data directory of its own (as two hosts would have) and the first
  one's `keys/` copied to the second before it starts (the recording signing key and the flag
  secret must be the same everywhere), each with its own BERTH_INTERNAL_URL; then nginx (Debian's)
  in front of both, round robin, with the WebSocket headers, POSTs never retried on the other
  replica (bench/berth_server.py: ReplicaSet, NginxBalancer). The environments are written to a
  temporary folder and use berth/base:latest (scripts/build-base-image.sh);
- a. caps: 40 concurrent POST /api/v1/instances through nginx from 8 users (BERTH_OWNER_CAP=3,
  BERTH_GLOBAL_CAP=10, BERTH_ASSIGNMENT=unlimited): exactly 10 are admitted, at most 3 per owner,
  every refusal is 429 owner_cap_reached or global_cap_reached, and nginx's log shows that both
  replicas answered POSTs;
- b. every active instance has its own host port (its endpoints);
- d. a terminal opened on replica A directly prints a marker; a new ticket and a WebSocket to
  replica B directly: the marker is in the screen replayed after `ready`;
- c. three instances of an environment with a 40 s TTL started and running on replica A, then
  `kill -9` of replica A during a burst of POSTs of that environment: within 15 s
  no instance is left requested, starting or stopping; the namespace's containers are exactly
  the active instances (no orphan), no instance has two containers, the caps still hold; and
  replica B reaps each instance within 5 s of its expiry;
- e. the audit chain verifies (`berth audit verify` through nginx, after the kill).

Each check prints `ok:` or `FAILED:` and the run goes on where it can, so one run says which
checks pass. It always stops nginx and the servers and removes the namespace's containers and
networks and the schema.

Exit status: 0 when every check passed, 1 when one failed, 2 when a prerequisite is missing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "support"))

from berth_api import APIError, BerthAPI  # noqa: E402
from berth_server import PostgresSchema, ReplicaSet, ServerNotReady, remove_namespace  # noqa: E402
from checks import Checks, Phase  # noqa: E402

PROGRAM = "test_two_replicas"
BASE_IMAGE = "berth/base:latest"
OWNER_CAP = 3
GLOBAL_CAP = 10
USERS = 8
CONCURRENT_REQUESTS = 40
ACTIVE_STATES = {"requested", "starting", "running", "stopping"}
TRANSITIONAL_STATES = {"requested", "starting", "stopping"}
# c.: the burst's environment lives this long; long enough for the burst, the kill and the 15 s
# settling to end before the first expiry, short enough for the test to wait for every expiry.
SHORT_TTL_SECONDS = 40
BURST_REQUESTS = 24
# Started on replica A (and running) before the burst, so replica B has A's instances to reap.
PRESTARTED_ON_A = 3
# c.: the kill comes this long after the burst's first request, while starts are in flight.
KILL_AFTER_SECONDS = 1.0
# The figures: nothing in a transitional state 15 s after the kill, expiries reaped
# within 5 s by the surviving replica.
SETTLED_WITHIN_SECONDS = 15
REAPED_WITHIN_SECONDS = 5
POLL_INTERVAL = 0.25
# How long orphan removal may take after the kill: the dead replica's heartbeat goes stale
# (ReplicaLiveness.deadAfterSeconds = 4), then the survivor's periodic reconciliation
# (BERTH_RECONCILE_INTERVAL below) removes what nobody owns.
RECONCILE_INTERVAL_SECONDS = 2
ORPHANS_GONE_WITHIN_SECONDS = 20

# A published port on a network of its own, so each instance leases a host port.
PORTED_SLUG = "replica-ported"
PORTED_CHALLENGE = f"""# Written by tests/replicas/test_two_replicas.py.
name: Replica ported
author: Berth replica test
category: test
description: An instance with a published port.
value: 10
type: standard
flags:
  - berth{{replica_ported}}
image: {BASE_IMAGE}
berth:
  command: ["sleep", "infinity"]
  terminal: {{command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}}
  ports: [{{port: 8080, protocol: tcp}}]
  network: isolated
  lifetime: {{ttl: 10m}}
"""
SHORT_SLUG = "replica-short"
SHORT_CHALLENGE = f"""# Written by tests/replicas/test_two_replicas.py.
name: Replica short
author: Berth replica test
category: test
description: An instance that expires soon.
value: 10
type: standard
flags:
  - berth{{replica_short}}
image: {BASE_IMAGE}
berth:
  command: ["sleep", "infinity"]
  terminal: {{command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}}
  network: none
  lifetime: {{ttl: {SHORT_TTL_SECONDS}s, renewals: 0, maxLifetime: {SHORT_TTL_SECONDS}s}}
"""


def log(message: str) -> None:
    print(f"{PROGRAM}: {message}", flush=True)


def parse_time(text: str) -> float:
    """An API date-time as epoch seconds."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class ReplicaTest:
    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.checks = Checks(PROGRAM)
        self.namespace = f"replicas-{secrets.token_hex(4)}"
        self.admin_token = secrets.token_hex(24)
        self.schema = PostgresSchema(args.postgres_url, "replicas", PROGRAM)
        self.environments = work / "environments"
        self.cluster: ReplicaSet | None = None
        self.users: list[dict] = []  # {"id", "name", "token"}
        self.owner_tokens: dict[str, str] = {}  # instance id → its owner's token

    # -- set-up --------------------------------------------------------------------------

    def write_environments(self) -> None:
        for slug, text in ((PORTED_SLUG, PORTED_CHALLENGE), (SHORT_SLUG, SHORT_CHALLENGE)):
            folder = self.environments / slug
            folder.mkdir(parents=True)
            (folder / "challenge.yml").write_text(text)

    def start(self) -> None:
        self.schema.create()
        self.cluster = ReplicaSet(
            self.args.berth, self.environments, self.namespace, self.admin_token, self.schema.url, self.work / "cluster",
            count=2,
            extra_env={
                "BERTH_ASSIGNMENT": "unlimited", "BERTH_OWNER_CAP": str(OWNER_CAP), "BERTH_GLOBAL_CAP": str(GLOBAL_CAP),
                "BERTH_RECONCILE_INTERVAL": str(RECONCILE_INTERVAL_SECONDS), "BERTH_TRUSTED_PROXIES": "127.0.0.1",
            },
        )
        try:
            self.cluster.start(self.args.ready_timeout, PROGRAM)
        except ServerNotReady as error:
            raise Phase(f"a replica did not start: {error} (its log is above)") from None
        except RuntimeError as error:
            raise Phase(str(error)) from None
        self.balancer = BerthAPI(self.cluster.url, timeout=120)
        self.replica_a = BerthAPI(self.cluster.servers[0].url, timeout=120)
        self.replica_b = BerthAPI(self.cluster.servers[1].url, timeout=120)

    def create_users(self) -> None:
        for index in range(USERS):
            name = f"replica-{index}"
            _, user = self.balancer.call("POST", "/api/v1/users", self.admin_token, {"name": name})
            _, token = self.balancer.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "replicas"})
            self.users.append({"id": user["id"], "name": name, "token": token["token"]})

    def instances(self, api: BerthAPI) -> list[dict]:
        """Every instance the database holds (the admin's view), ended ones included."""
        _, payload = api.call("GET", "/api/v1/instances", self.admin_token)
        return payload["items"]

    def containers(self) -> list[dict]:
        """The namespace's instance containers on the engine: id, instance label and state."""
        listed = subprocess.run(
            ["docker", "ps", "-a", "--filter", f"label=berth.namespace={self.namespace}", "--filter", "label=berth.instance",
             "--format", '{{.ID}} {{.Label "berth.instance"}} {{.State}}'],
            capture_output=True, text=True, check=True,
        )
        rows = []
        for line in listed.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3:
                rows.append({"container": parts[0], "instance": parts[1], "state": parts[2]})
        return rows

    def concurrent_posts(self, api: BerthAPI, slug: str, count: int,
                         first_admitted: threading.Event | None = None) -> list[tuple[int, str, dict | None, str, float]]:
        """`count` POST /api/v1/instances released together, the users' tokens in rotation: for
        each, (status, error code or "", the instance or None, the owner's token, when the answer
        came, epoch seconds). `first_admitted` is set at the first 201."""
        barrier = threading.Barrier(count)

        def one(index: int):
            token = self.users[index % len(self.users)]["token"]
            barrier.wait()
            try:
                status, instance = api.call("POST", "/api/v1/instances", token, {"environment": slug})
                if first_admitted is not None and status == 201:
                    first_admitted.set()
                return status, "", instance, token, time.time()
            except APIError as error:
                return error.status, error.code, None, token, time.time()
            except OSError as error:
                return 0, f"connection: {error}", None, token, time.time()

        with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(one, range(count)))
        for status, _, instance, token, _ in results:
            if instance and "id" in instance:
                self.owner_tokens[instance["id"]] = token
        return results

    # -- a, b ----------------------------------------------------------------------------

    def check_caps(self) -> list[dict]:
        results = self.concurrent_posts(self.balancer, PORTED_SLUG, CONCURRENT_REQUESTS)
        admitted = [instance for status, _, instance, _, _ in results if status == 201 and instance]
        refusals = [(status, code) for status, code, _, _, _ in results if status != 201]
        allowed_refusals = {(429, "owner_cap_reached"), (429, "global_cap_reached")}
        wrong = sorted({f"{status} {code}" for status, code in refusals if (status, code) not in allowed_refusals})
        self.checks.record("a. caps: admitted", len(admitted) == GLOBAL_CAP,
                           f"{len(admitted)} of {CONCURRENT_REQUESTS} concurrent POSTs through nginx answered 201 (the global cap is {GLOBAL_CAP})")
        self.checks.record("a. caps: refusals", not wrong,
                           f"{len(refusals)} refused, all 429 owner_cap_reached or global_cap_reached"
                           if not wrong else f"refusals other than 429 owner_cap_reached/global_cap_reached: {wrong}")
        active = [item for item in self.instances(self.balancer) if item["state"] in ACTIVE_STATES]
        per_owner: dict[str, int] = {}
        for item in active:
            per_owner[item["owner"]["id"]] = per_owner.get(item["owner"]["id"], 0) + 1
        self.checks.record("a. caps: per owner", all(count <= OWNER_CAP for count in per_owner.values()),
                           f"active instances per owner {sorted(per_owner.values(), reverse=True)}, cap {OWNER_CAP}")
        self.checks.record("a. caps: global", len(active) <= GLOBAL_CAP,
                           f"{len(active)} active instances in the database, cap {GLOBAL_CAP}")
        answered = self.cluster.balancer.answered_by("POST", "/api/v1/instances")
        served = {f"127.0.0.1:{server.port}": answered.get(f"127.0.0.1:{server.port}", 0) for server in self.cluster.servers}
        self.checks.record("a. both replicas served", all(count > 0 for count in served.values()),
                           "POST /api/v1/instances answered per replica (nginx's log): "
                           + ", ".join(f"{name} {count}" for name, count in served.items()))
        return active

    def check_ports(self, active: list[dict]) -> None:
        ports = [endpoint["hostPort"] for item in active for endpoint in item.get("endpoints", [])]
        without = [item["id"] for item in active if item["state"] == "running" and not item.get("endpoints")]
        duplicates = sorted({port for port in ports if ports.count(port) > 1})
        self.checks.record("b. distinct host ports", not duplicates and not without and len(ports) >= 1,
                           f"{len(ports)} host ports over {len(active)} active instances, {len(set(ports))} distinct"
                           + (f"; shared: {duplicates}" if duplicates else "")
                           + (f"; running without endpoints: {without}" if without else ""))

    # -- d -------------------------------------------------------------------------------

    def terminal_session(self, server_url: str, instance_id: str, token: str, api: BerthAPI, type_line: bytes | None,
                         wait_for: bytes, timeout: float = 30) -> tuple[dict | None, bytes, bytes]:
        """Takes a ticket from `api`, opens the terminal WebSocket on `server_url` and reads until
        `wait_for` is in the output (typing `type_line` once the prompt shows): the `ready`
        message, the replayed bytes it announced, and all output."""
        import websocket  # websocket-client, installed with Selenium by scripts/ensure-browser.sh

        try:
            _, ticket = api.call("POST", f"/api/v1/instances/{instance_id}/terminal/ticket", token)
        except APIError as error:
            raise Phase(f"a terminal ticket for {instance_id} on {api.base_url}: {error}") from None
        url = server_url.replace("http://", "ws://") + ticket["url"]
        socket = websocket.create_connection(url, origin=server_url, timeout=timeout)
        ready: dict | None = None
        output = b""
        replay_end: int | None = None
        sent = type_line is None
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and wait_for not in output:
                opcode, data = socket.recv_data()
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    message = json.loads(data)
                    if message.get("type") == "ready" and ready is None:
                        ready = message
                        replay_end = len(output) + int(message.get("replayBytes", 0))
                elif opcode == websocket.ABNF.OPCODE_BINARY:
                    output += data
                    # ash asks where the cursor is before its first prompt; answer as a terminal would.
                    if b"\x1b[6n" in data:
                        socket.send_binary(b"\x1b[1;1R")
                    if not sent and b"$ " in output:
                        socket.send_binary(type_line)
                        sent = True
                elif opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
        except (websocket.WebSocketException, OSError) as error:
            raise Phase(f"the terminal WebSocket on {server_url} failed: {error}; output so far: {output[-200:]!r}") from None
        finally:
            socket.close()
        replayed = output[:replay_end] if replay_end is not None else b""
        return ready, replayed, output

    def check_terminal(self, active: list[dict]) -> None:
        running = [item for item in active if item["state"] == "running" and item["id"] in self.owner_tokens]
        if not running:
            raise Phase("no running instance to open a terminal on")
        instance_id = running[0]["id"]
        token = self.owner_tokens[instance_id]
        marker = f"replica-{secrets.token_hex(4)}"
        # The shell prints the marker with 42 in it; the typed line has $((6*7)), so the marker is output, not echo.
        line = f"echo {marker}-$((6*7))\n".encode()
        expected = f"{marker}-42".encode()
        server_a, server_b = self.cluster.servers
        _, _, output = self.terminal_session(server_a.url, instance_id, token, self.replica_a, line, expected)
        if not self.checks.record("d. terminal on replica A", expected in output,
                                  f"the shell on replica A (port {server_a.port}) printed the marker" if expected in output
                                  else f"no marker in the output of replica A: {output[-300:]!r}"):
            return
        ready, replayed, output = self.terminal_session(server_b.url, instance_id, token, self.replica_b, None, expected, timeout=15)
        self.checks.record("d. screen back through replica B", expected in replayed,
                           f"a new ticket and a WebSocket to replica B (port {server_b.port}) replayed {len(replayed)} bytes "
                           + ("holding the marker" if expected in replayed
                              else f"without the marker (ready: {ready}; replayed tail {replayed[-200:]!r}; output tail {output[-200:]!r})"))

    # -- between phases ------------------------------------------------------------------

    def delete_all(self, api: BerthAPI) -> None:
        """DELETEs every active instance through `api` until none is left and the namespace has
        no container (asked again each round: a refusal by one replica is not the last word)."""
        deadline = time.monotonic() + 60
        refusals: dict[str, str] = {}
        while True:
            left = [item for item in self.instances(api) if item["state"] in ACTIVE_STATES]
            containers = self.containers()
            if not left and not containers:
                return
            if time.monotonic() > deadline:
                raise Phase(f"60 s after DELETE, still active: {[(i['id'], i['state']) for i in left]}; containers: {containers}; "
                            f"last refusals: {refusals}")
            for item in left:
                if item["state"] != "stopping":
                    try:
                        api.call("DELETE", f"/api/v1/instances/{item['id']}", self.admin_token)
                    except APIError as error:
                        refusals[item["id"]] = str(error)
            time.sleep(0.5)

    # -- c -------------------------------------------------------------------------------

    def check_kill(self) -> None:
        server_a, server_b = self.cluster.servers
        killed_at: list[float] = []
        first_admitted = threading.Event()
        # Instances replica A started and runs before it dies: replica B must reap them at their
        # expiry, whatever the burst's admissions (which may all go to A and die with it).
        for user in self.users[:PRESTARTED_ON_A]:
            status, instance = self.replica_a.call("POST", "/api/v1/instances", user["token"], {"environment": SHORT_SLUG})
            if status != 201 or not instance or instance.get("state") != "running":
                raise Phase(f"replica A did not start an instance before the kill: {status} {instance}")
            self.owner_tokens[instance["id"]] = user["token"]

        def kill_soon() -> None:
            # At the first instance started (others are still starting), or after KILL_AFTER_SECONDS.
            first_admitted.wait(timeout=KILL_AFTER_SECONDS)
            # The time before the signal: answers that the kill cut short (502) come right after it.
            killed_at.append(time.time())
            server_a.kill()
            log(f"kill -9 of replica A (port {server_a.port}) during the burst")

        killer = threading.Thread(target=kill_soon)
        killer.start()
        results = self.concurrent_posts(self.balancer, SHORT_SLUG, BURST_REQUESTS, first_admitted)
        killer.join()
        kill_time = killed_at[0]
        tally: dict[str, int] = {}
        for status, code, _, _, _ in results:
            key = f"{status} {code}".strip()
            tally[key] = tally.get(key, 0) + 1
        after_kill = sum(1 for *_, answered_at in results if answered_at >= kill_time)
        self.checks.record("c. the kill came during the burst", after_kill > 0,
                           f"{after_kill} of {BURST_REQUESTS} POSTs were answered after the kill; answers: {tally}")

        # No instance left half-done 15 s after the kill.
        stuck: list[tuple[str, str]] = []
        while True:
            items = self.instances(self.replica_b)
            stuck = [(item["id"], item["state"]) for item in items if item["state"] in TRANSITIONAL_STATES]
            if not stuck or time.time() > kill_time + SETTLED_WITHIN_SECONDS:
                break
            time.sleep(POLL_INTERVAL)
        settled_after = time.time() - kill_time
        self.checks.record("c. nothing stuck", not stuck,
                           f"no instance requested, starting or stopping {settled_after:.1f} s after the kill" if not stuck
                           else f"{len(stuck)} instances still requested/starting/stopping {SETTLED_WITHIN_SECONDS} s after the kill: {stuck}")

        # The engine's containers are exactly the database's active instances.
        deadline = kill_time + ORPHANS_GONE_WITHIN_SECONDS
        while True:
            items = self.instances(self.replica_b)
            active_ids = {item["id"] for item in items if item["state"] in ACTIVE_STATES}
            containers = self.containers()
            labelled = [row["instance"] for row in containers]
            if set(labelled) == active_ids or time.time() > deadline:
                break
            time.sleep(POLL_INTERVAL)
        orphans = sorted(set(labelled) - active_ids)
        missing = sorted(active_ids - set(labelled))
        self.checks.record("c. no orphan", not orphans and not missing,
                           f"{len(containers)} containers in the namespace, one for each of the {len(active_ids)} active instances"
                           if not orphans and not missing
                           else f"{ORPHANS_GONE_WITHIN_SECONDS} s after the kill: containers without an active instance {orphans}, "
                                f"active instances without a container {missing}")
        twice = sorted({instance for instance in labelled if labelled.count(instance) > 1})
        ids = [item["id"] for item in items]
        self.checks.record("c. no double start", not twice and len(ids) == len(set(ids)),
                           "no instance has two containers, and no id is listed twice" if not twice and len(ids) == len(set(ids))
                           else f"instances with two containers: {twice}; ids listed twice: {sorted({i for i in ids if ids.count(i) > 1})}")
        per_owner: dict[str, int] = {}
        for item in items:
            if item["state"] in ACTIVE_STATES:
                per_owner[item["owner"]["id"]] = per_owner.get(item["owner"]["id"], 0) + 1
        self.checks.record("c. caps after the kill",
                           len(active_ids) <= GLOBAL_CAP and all(count <= OWNER_CAP for count in per_owner.values()),
                           f"{len(active_ids)} active (cap {GLOBAL_CAP}), per owner {sorted(per_owner.values(), reverse=True)} (cap {OWNER_CAP})")

        # Replica B reaps every running instance within 5 s of its expiry.
        running = {item["id"]: parse_time(item["expiresAt"]) for item in items if item["state"] == "running"}
        if not running:
            self.checks.record("c. expiries reaped by replica B", False, "no instance was running after the burst, not even those replica A started before it")
            return
        reaped_at: dict[str, float] = {}
        states: dict[str, str] = {}
        deadline = max(running.values()) + REAPED_WITHIN_SECONDS + SETTLED_WITHIN_SECONDS
        log(f"waiting for {len(running)} instances to expire (the last at {datetime.datetime.fromtimestamp(max(running.values())).time()})")
        while len(reaped_at) < len(running) and time.time() < deadline:
            now = time.time()
            for item in self.instances(self.replica_b):
                if item["id"] in running and item["id"] not in reaped_at:
                    states[item["id"]] = item["state"]
                    if item["state"] not in ACTIVE_STATES:
                        reaped_at[item["id"]] = now
            time.sleep(POLL_INTERVAL)
        # The observation is at most one poll late; the margin for that is POLL_INTERVAL plus one
        # second for the request itself on a loaded machine.
        late = {instance: round(reaped_at[instance] - expiry, 1) for instance, expiry in running.items()
                if instance in reaped_at and reaped_at[instance] - expiry > REAPED_WITHIN_SECONDS + POLL_INTERVAL + 1}
        never = sorted(set(running) - set(reaped_at))
        not_expired = sorted(instance for instance in reaped_at if states.get(instance) != "expired")
        delays = sorted(round(reaped_at[instance] - running[instance], 1) for instance in reaped_at)
        self.checks.record("c. expiries reaped by replica B", not late and not never and not not_expired,
                           f"{len(running)} instances expired, seen ended {delays} s after their expiry"
                           + (f"; later than {REAPED_WITHIN_SECONDS} s: {late}" if late else "")
                           + (f"; never reaped: {never}" if never else "")
                           + (f"; ended in another state than expired: {[(i, states.get(i)) for i in not_expired]}" if not_expired else ""))
        gone = self.containers()
        self.checks.record("c. expired containers removed", not gone,
                           "no container left in the namespace" if not gone else f"containers left: {gone}")

    # -- e -------------------------------------------------------------------------------

    def check_audit(self) -> None:
        environment = {**os.environ, "BERTH_TOKEN": self.admin_token}
        result = subprocess.run([self.args.berth, "audit", "verify", "--server", self.cluster.url, "--json"],
                                capture_output=True, text=True, env=environment, timeout=120)
        try:
            report = json.loads(result.stdout)
        except ValueError:
            report = {}
        self.checks.record("e. audit chain", result.returncode == 0 and report.get("valid") is True,
                           f"berth audit verify: valid, {report.get('entries')} entries, head {report.get('headSequence')}"
                           if result.returncode == 0 and report.get("valid") is True
                           else f"berth audit verify exited {result.returncode}: {result.stdout.strip()[-500:]} {result.stderr.strip()[-500:]}")

    # -- the run -------------------------------------------------------------------------

    def phase(self, label: str, action) -> bool:
        try:
            action()
            return True
        except Phase as problem:
            self.checks.record(label, False, str(problem))
        except (APIError, OSError, KeyError, TypeError, ValueError, subprocess.CalledProcessError) as error:
            self.checks.record(label, False, f"{type(error).__name__}: {error}")
        return False

    def run(self) -> None:
        self.write_environments()
        if not self.phase("replicas start", self.start):
            return
        self.checks.record("replicas start", True, f"two replicas on one PostgreSQL schema ({self.schema.name}) and namespace {self.namespace}, behind nginx")
        if not self.phase("users", self.create_users):
            return
        active: list[dict] = []

        def caps() -> None:
            active.extend(self.check_caps())
        self.phase("a. caps", caps)
        self.phase("b. distinct host ports", lambda: self.check_ports(active))
        self.phase("d. terminal across replicas", lambda: self.check_terminal(active))
        if not self.phase("between phases: every instance deleted", lambda: self.delete_all(self.balancer)):
            return
        self.phase("c. kill -9 of a replica", self.check_kill)
        self.phase("e. audit chain", self.check_audit)

    def clean_up(self) -> None:
        if self.cluster:
            if self.checks.failed:
                for index, server in enumerate(self.cluster.servers):
                    server.print_log_tail(30, f"{PROGRAM}: last lines of replica {index}'s log ({{path}}):")
            if self.args.keep_logs:
                target = Path(self.args.keep_logs)
                target.mkdir(parents=True, exist_ok=True)
                for path in [*(server.log_path for server in self.cluster.servers), self.cluster.balancer.access_log]:
                    if path.exists():
                        shutil.copyfile(path, target / path.name)
            self.cluster.stop()
        removed = remove_namespace(self.namespace)
        if removed:
            log(f"removed {removed} container(s) left in namespace {self.namespace}")
        self.schema.drop()


def ensure_postgres() -> str | None:
    result = subprocess.run([str(REPO / "scripts" / "ensure-postgres.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return None
    return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--berth", default=str(REPO / ".build" / "debug" / "berth"))
    parser.add_argument("--postgres-url", default=os.environ.get("BERTH_TEST_POSTGRES_URL"),
                        help="PostgreSQL server (default $BERTH_TEST_POSTGRES_URL, else the one scripts/ensure-postgres.sh starts)")
    parser.add_argument("--ready-timeout", type=float, default=60)
    parser.add_argument("--keep-logs", help="copy the replicas' logs and nginx's access log into this folder")
    args = parser.parse_args()
    for tool, package in (("nginx", "nginx"), ("psql", "postgresql-client"), ("docker", "docker.io")):
        if shutil.which(tool) is None:
            print(f"{PROGRAM}: error: {tool} is missing (scripts/ensure-apt-packages.sh {package})", file=sys.stderr)
            return 2
    if not (os.path.isfile(args.berth) and os.access(args.berth, os.X_OK)):
        print(f"{PROGRAM}: error: no berth binary at {args.berth} (swift build --product berth)", file=sys.stderr)
        return 2
    if subprocess.run(["docker", "image", "inspect", BASE_IMAGE], capture_output=True).returncode != 0:
        print(f"{PROGRAM}: error: the image {BASE_IMAGE} is missing (scripts/build-base-image.sh)", file=sys.stderr)
        return 2
    try:
        import websocket  # noqa: F401
    except ImportError:
        print(f"{PROGRAM}: error: Python's websocket-client is missing (scripts/ensure-browser.sh installs it)", file=sys.stderr)
        return 2
    if not args.postgres_url:
        args.postgres_url = ensure_postgres()
        if not args.postgres_url:
            print(f"{PROGRAM}: error: no PostgreSQL server (scripts/ensure-postgres.sh failed)", file=sys.stderr)
            return 2
    # make's SIGTERM cleans up as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with tempfile.TemporaryDirectory(prefix="berth-replicas-") as work:
        test = ReplicaTest(args, Path(work))
        try:
            test.run()
        except KeyboardInterrupt:
            print(f"{PROGRAM}: interrupted", file=sys.stderr)
            return 130
        finally:
            test.clean_up()
        print(test.checks.summary(), flush=True)
    return 1 if test.checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
