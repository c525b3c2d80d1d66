#!/usr/bin/env python3
"""Berth on a real three-node Docker Swarm (issue 15), end to end through the API, real terminals
and the engines of the manager and the nodes.

It needs a harness up (scripts/swarm-harness.sh up, its env file /run/berth-swarm/env, or
/run/berth-swarm-K/env with BERTH_SWARM_INSTANCE=K) holding the images `--print-images` names (it
loads those a node lacks), and starts `berth serve` with BERTH_ENGINE=swarm,
DOCKER_HOST=$BERTH_SWARM_MANAGER, BERTH_SWARM_TLS_DIR, BERTH_SWARM_PENDING_TIMEOUT=8s, SQLite in a
data directory of its own, a free port and a BERTH_NAMESPACE of its own. Its environments are
copies of the examples it uses (same folders, so the same content tags as `berth env build` gave
on the host engine) plus one written here that no node can hold. Then, each check printing `ok:`
or `FAILED:`:

1. lifecycle: `web-service` reaches running; its endpoint is a node address whose HTTP URL answers
   from this machine; the service `berth-<id>` on the manager has Berth's labels (service and
   container spec), an image named by id, 1 replica, restart condition none, reservations equal
   to limits, host-mode ports; stop removes the service; a service removed by hand counts as
   already removed (the stop still succeeds);
2. terminal and hardening: in the terminal, /proc/1/status has NoNewPrivs 1 and Seccomp 2, the
   shell's CapEff is 0, the root is mounted read-only, pids.max is the environment's, the host
   name is the slug; a resize reaches the PTY (`stty size`); typed input comes back as output;
   the session's recording is listed and verifies;
3. flags, files and checks: `own-flag`'s per-instance flag is in the container, read through the
   file API and accepted; the file API lists, writes and reads back a file the shell then sees;
   `lab-shell-steps` runs its setup, and its first check fails, then passes once the folder exists;
4. spread: 6 instances of 3 players land on at least 2 nodes (the node of each service's task);
5. isolation: from the terminal of an instance on a worker (busybox nc -w 2), another node's
   instance endpoint, the manager's engine (its port 2376) and its own node's engine are
   unreachable, while its own web server answers inside and every one of those answers from this
   machine;
6. no capacity: an environment reserving 64 CPUs answers 503 no_capacity within about the pending
   timeout, and leaves no service behind;
7. reconcile: with an instance running, Berth stops (SIGTERM); an orphan service with Berth's
   labels (an instance id the store does not know) is created by hand; Berth starts again: the
   instance is still running and its terminal works, the orphan is removed;
8. node failure: with an instance running on a worker, `swarm-harness.sh stop-node N`: the
   instance becomes failed within a bounded time (measured) with a reason naming the node; then
   `start-node N` and the node is Ready again.

It always deletes what it started (instances through the API, then any service left in its
namespace, by label), stops the server and starts a stopped node again.

Exit status: 0 when every check passed, 1 when one failed, 2 when a prerequisite is missing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "support"))

from berth_api import APIError, BerthAPI, wait_until_running  # noqa: E402
from berth_server import BerthServer, ServerNotReady  # noqa: E402
from checks import Checks, Phase  # noqa: E402
from swarm_harness import DEFAULT_HARNESS_ENV, read_harness_env  # noqa: E402

PROGRAM = "test_swarm"
HARNESS = REPO / "scripts" / "swarm-harness.sh"
BASE_IMAGE = "berth/base:latest"
# The example environments this test starts (copied, so their content tags stay those the host
# engine built and the harness loaded into every node).
WEB_SLUG = "web-service"
FLAG_SLUG = "own-flag"
LAB_SLUG = "lab-shell-steps"
EXAMPLES = (WEB_SLUG, FLAG_SLUG, LAB_SLUG)
# Written here: more CPUs than any node has (every harness node sees this machine's cores).
NO_CAPACITY_SLUG = "swarm-no-capacity"
NO_CAPACITY_CPUS = 64
NO_CAPACITY_CHALLENGE = f"""# Written by tests/swarm/test_swarm.py: no node has {NO_CAPACITY_CPUS} CPUs to reserve.
name: Swarm no capacity
author: Berth swarm test
category: test
description: An instance no swarm node can hold.
value: 10
type: standard
flags:
  - berth{{no_capacity}}
image: {BASE_IMAGE}
berth:
  command: ["sleep", "infinity"]
  terminal: {{command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}}
  resources: {{cpus: {NO_CAPACITY_CPUS}, memory: 64m, pids: 64}}
  network: none
"""
PENDING_TIMEOUT_SECONDS = 8
# 6.: the refusal may come this much after the pending timeout (the manager's answers, the
# removal of the service, a loaded 2-core machine).
NO_CAPACITY_MARGIN_SECONDS = 15
RECONCILE_INTERVAL_SECONDS = 5
SPREAD_INSTANCES = 6
SPREAD_PLAYERS = 3
START_TIMEOUT = 90
# 8.: the manager marks a node down after missing its heartbeats (5 s period by default); Berth
# reads the tasks and nodes every second.
NODE_DOWN_WITHIN_SECONDS = 90
ORPHAN_GONE_WITHIN_SECONDS = 30
SERVICE_GONE_WITHIN_SECONDS = 30
ACTIVE_STATES = {"requested", "starting", "running", "stopping"}
ENDED_STATES = {"stopped", "failed", "expired"}


def log(message: str) -> None:
    print(f"{PROGRAM}: {message}", flush=True)


def harness_instance(state: str | None = None) -> str:
    """The harness instance (scripts/swarm-harness.sh's BERTH_SWARM_INSTANCE, 0-9): the environment's,
    else the digit its state folder ends with (/run/berth-swarm-K), else 0."""
    if os.environ.get("BERTH_SWARM_INSTANCE"):
        return os.environ["BERTH_SWARM_INSTANCE"]
    match = re.search(r"-([0-9])$", state or "")
    return match.group(1) if match else "0"


def default_harness_env() -> str:
    instance = harness_instance()
    return DEFAULT_HARNESS_ENV if instance == "0" else DEFAULT_HARNESS_ENV.replace("/berth-swarm/", f"/berth-swarm-{instance}/")


def tcp_answers(host: str, port: int, timeout: float = 3) -> bool:
    """Whether a TCP connection to host:port opens from this machine."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    """(status, body) of a GET from this machine; status 0 when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def raw_call(base_url: str, method: str, path: str, token: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
    """A request whose body or answer is not JSON (the file API's content): status, headers, body."""
    request = urllib.request.Request(base_url.rstrip("/") + path, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Terminal:
    """A terminal WebSocket (ticket, then the socket with an Origin): runs commands and returns
    what they printed, between markers only the shell's output can hold."""

    def __init__(self, server_url: str, api: BerthAPI, token: str, instance_id: str, timeout: float = 30):
        import websocket  # websocket-client, installed with Selenium by scripts/ensure-browser.sh

        self.websocket = websocket
        try:
            _, ticket = api.call("POST", f"/api/v1/instances/{instance_id}/terminal/ticket", token)
        except APIError as error:
            raise Phase(f"a terminal ticket for {instance_id}: {error}") from None
        url = server_url.replace("http://", "ws://") + ticket["url"]
        try:
            self.socket = websocket.create_connection(url, origin=server_url, timeout=timeout)
        except (websocket.WebSocketException, OSError) as error:
            raise Phase(f"the terminal WebSocket of {instance_id} did not open: {error}") from None
        self.output = b""
        self.messages: list[dict] = []
        self.timeout = timeout
        self.read_until(lambda: any(message.get("type") == "ready" for message in self.messages), "the ready message")
        # Input typed before the shell's first prompt is lost (ash reads it as the answer to its
        # cursor query): wait for the prompt, then for a moment of quiet.
        self.read_until(lambda: b"$ " in self.output, "the shell's prompt")
        self.settle()

    def settle(self, quiet: float = 0.5) -> None:
        """Reads until no output came for `quiet` seconds (at most 10 s)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            seen = len(self.output)
            try:
                self.read_until(lambda: len(self.output) > seen, "more output", timeout=quiet)
            except Phase:
                return

    def read_until(self, done, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while not done():
                if time.monotonic() > deadline:
                    raise Phase(f"no {what} on the terminal within {timeout or self.timeout:.0f} s; output tail {self.output[-300:]!r}")
                self.socket.settimeout(max(0.1, deadline - time.monotonic()))
                opcode, data = self.socket.recv_data()
                if opcode == self.websocket.ABNF.OPCODE_TEXT:
                    self.messages.append(json.loads(data))
                elif opcode == self.websocket.ABNF.OPCODE_BINARY:
                    self.output += data
                    # ash asks where the cursor is before its first prompt; answer as a terminal would.
                    if b"\x1b[6n" in data:
                        self.socket.send_binary(b"\x1b[1;1R")
                elif opcode == self.websocket.ABNF.OPCODE_CLOSE:
                    raise Phase(f"the terminal closed while waiting for {what}; messages {self.messages[-3:]}; output tail {self.output[-300:]!r}")
        except (self.websocket.WebSocketException, OSError) as error:
            raise Phase(f"the terminal failed while waiting for {what}: {error}; output tail {self.output[-300:]!r}") from None

    def run(self, command: str, timeout: float | None = None) -> str:
        """Types `command` and returns what it printed. The markers are typed as `$((6*7))` and
        printed as `42`, so the echo of the typed line never matches them."""
        marker = f"m{secrets.token_hex(4)}"
        start, end = f"{marker}-S42".encode(), f"{marker}-E42".encode()
        line = f"echo {marker}-S$((6*7)); {command}; echo {marker}-E$((6*7))\n"
        mark = len(self.output)
        self.socket.send_binary(line.encode())
        self.read_until(lambda: end in self.output[mark:], f"output of `{command}`", timeout)
        text = self.output[mark:]
        between = text[text.rindex(start) + len(start):text.rindex(end)] if start in text else b""
        return between.decode(errors="replace").replace("\r", "").strip("\n")

    def resize(self, cols: int, rows: int) -> None:
        self.socket.send(json.dumps({"type": "resize", "cols": cols, "rows": rows}))

    def close(self) -> None:
        try:
            self.socket.close()
        except (self.websocket.WebSocketException, OSError):
            pass


class SwarmTest:
    def __init__(self, args: argparse.Namespace, work: Path, harness: dict[str, str]):
        self.args = args
        self.work = work
        self.harness = harness
        self.checks = Checks(PROGRAM)
        self.namespace = f"swarmtest-{secrets.token_hex(4)}"
        self.admin_token = secrets.token_hex(24)
        self.environments = work / "environments"
        self.data_dir = work / "data"
        self.server: BerthServer | None = None
        self.api: BerthAPI | None = None
        self.players: list[dict] = []  # {"id", "name", "token"}
        self.owner_tokens: dict[str, str] = {}  # instance id → its owner's token
        self.node_ids = {harness[f"BERTH_SWARM_NODE{n}_ID"]: n for n in (1, 2, 3) if f"BERTH_SWARM_NODE{n}_ID" in harness}
        self.node_addresses = harness.get("BERTH_SWARM_NODES", "").split()
        self.engine_port = int(harness.get("BERTH_SWARM_ENGINE_PORT", "2376"))
        self.stopped_node: int | None = None
        self.server_log_index = 0

    # -- engines ---------------------------------------------------------------------------

    def docker(self, *arguments: str, node: int = 1, check: bool = True, timeout: float = 60) -> str:
        """The docker CLI against node `node`'s engine (1: the manager), over its Unix socket."""
        host = self.harness["BERTH_SWARM_MANAGER"] if node == 1 else self.harness[f"BERTH_SWARM_NODE{node}_SOCK"]
        environment = {**os.environ, "DOCKER_HOST": host}
        for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
            environment.pop(name, None)
        result = subprocess.run(["docker", *arguments], capture_output=True, text=True, env=environment, timeout=timeout)
        if check and result.returncode != 0:
            raise Phase(f"docker {' '.join(arguments)} on node {node}: {result.stderr.strip()[-400:]}")
        return result.stdout

    def services(self) -> list[dict]:
        """The namespace's services on the manager, inspected."""
        ids = self.docker("service", "ls", "-q", "--filter", f"label=berth.namespace={self.namespace}").split()
        if not ids:
            return []
        return json.loads(self.docker("service", "inspect", *ids))

    def service_of(self, instance_id: str) -> dict | None:
        result = self.docker("service", "inspect", f"berth-{instance_id}", check=False)
        try:
            parsed = json.loads(result)
        except ValueError:
            return None
        return parsed[0] if parsed else None

    def task_node(self, instance_id: str) -> int | None:
        """The harness node number running the instance's task (its running task, else its newest)."""
        ids = self.docker("service", "ps", "-q", "--no-trunc", f"berth-{instance_id}", check=False).split()
        if not ids:
            return None
        tasks = json.loads(self.docker("inspect", *ids))
        running = [task for task in tasks if task.get("Status", {}).get("State") == "running"]
        task = (running or sorted(tasks, key=lambda item: item.get("CreatedAt", "")))[-1]
        return self.node_ids.get(task.get("NodeID", ""))

    def wait_service_gone(self, name: str, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not self.docker("service", "ls", "-q", "--filter", f"name={name}").split():
                return True
            time.sleep(0.5)
        return False

    # -- set-up ----------------------------------------------------------------------------

    def write_environments(self) -> None:
        copy_examples(Path(self.args.environments), self.environments)
        folder = self.environments / NO_CAPACITY_SLUG
        folder.mkdir(parents=True)
        (folder / "challenge.yml").write_text(NO_CAPACITY_CHALLENGE)

    def start_server(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server_log_index += 1
        self.server = BerthServer(
            self.args.berth, self.data_dir, self.environments, self.namespace, self.admin_token,
            self.work / f"berth-{self.server_log_index}.log",
            extra_env={
                "BERTH_ENGINE": "swarm", "DOCKER_HOST": self.harness["BERTH_SWARM_MANAGER"],
                "BERTH_SWARM_TLS_DIR": self.harness["BERTH_SWARM_TLS_DIR"],
                "BERTH_SWARM_ENGINE_PORT": str(self.engine_port),
                "BERTH_SWARM_PENDING_TIMEOUT": f"{PENDING_TIMEOUT_SECONDS}s",
                "BERTH_RECONCILE_INTERVAL": str(RECONCILE_INTERVAL_SECONDS),
                "BERTH_ASSIGNMENT": "unlimited", "BERTH_OWNER_CAP": "10", "BERTH_GLOBAL_CAP": "20",
            },
        )
        for name in ("BERTH_DATABASE_URL", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
            self.server.environment.pop(name, None)
        log("starting: " + " ".join(self.server.command) + " (BERTH_ENGINE=swarm, DOCKER_HOST=" + self.harness["BERTH_SWARM_MANAGER"] + ")")
        try:
            self.server.start(self.args.ready_timeout)
        except ServerNotReady as error:
            self.server.print_log_tail(40, f"{PROGRAM}: last lines of the server log ({{path}}):")
            raise Phase(f"berth serve on the swarm: {error}") from None
        self.api = BerthAPI(self.server.url, timeout=120)
        log(f"server ready on port {self.server.port}")

    def create_players(self) -> None:
        for index in range(SPREAD_PLAYERS):
            name = f"swarm-{index}"
            _, user = self.api.call("POST", "/api/v1/users", self.admin_token, {"name": name})
            _, token = self.api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "swarm"})
            self.players.append({"id": user["id"], "name": name, "token": token["token"]})

    def start_instance(self, slug: str, player: int = 0) -> dict:
        token = self.players[player]["token"]
        try:
            _, instance = self.api.call("POST", "/api/v1/instances", token, {"environment": slug})
        except APIError as error:
            raise Phase(f"POST {slug}: {error}") from None
        self.owner_tokens[instance["id"]] = token
        try:
            wait_until_running(self.api, token, instance, START_TIMEOUT)
        except RuntimeError as error:
            raise Phase(f"{slug}: {error}") from None
        return self.get(instance["id"])

    def get(self, instance_id: str) -> dict:
        _, instance = self.api.call("GET", f"/api/v1/instances/{instance_id}", self.admin_token)
        return instance

    def stop(self, instance_id: str) -> dict:
        token = self.owner_tokens.get(instance_id, self.admin_token)
        self.api.call("DELETE", f"/api/v1/instances/{instance_id}", token)
        deadline = time.monotonic() + 60
        while True:
            instance = self.get(instance_id)
            if instance["state"] not in ACTIVE_STATES or time.monotonic() > deadline:
                return instance
            time.sleep(0.25)

    def terminal(self, instance_id: str) -> Terminal:
        return Terminal(self.server.url, self.api, self.owner_tokens.get(instance_id, self.admin_token), instance_id)

    # -- 1. lifecycle ----------------------------------------------------------------------

    def check_lifecycle(self) -> None:
        instance = self.start_instance(WEB_SLUG)
        instance_id = instance["id"]
        endpoints = instance.get("endpoints") or []
        endpoint = endpoints[0] if endpoints else {}
        host = endpoint.get("host", "")
        self.checks.record("1. running, endpoint on a node", instance["state"] == "running" and host in self.node_addresses,
                           f"{instance_id} {instance['state']}, endpoint {host}:{endpoint.get('hostPort')} "
                           f"({'a node address' if host in self.node_addresses else 'NOT one of the nodes ' + str(self.node_addresses)})")
        url = endpoint.get("url") or f"http://{host}:{endpoint.get('hostPort')}/"
        status, body = http_get(url)
        self.checks.record("1. HTTP endpoint answers from this machine", status == 200 and b"<" in body,
                           f"GET {url}: {status}, {len(body)} bytes")

        service = self.service_of(instance_id)
        if service is None:
            raise Phase(f"no service berth-{instance_id} on the manager")
        spec = service["Spec"]
        task = spec.get("TaskTemplate", {})
        container = task.get("ContainerSpec", {})
        wanted = {"berth.instance": instance_id, "berth.environment": WEB_SLUG, "berth.namespace": self.namespace}
        labels_ok = all(spec.get("Labels", {}).get(key) == value for key, value in wanted.items()) \
            and all(container.get("Labels", {}).get(key) == value for key, value in wanted.items()) \
            and "berth.owner" in spec.get("Labels", {}) and "berth.owner" in container.get("Labels", {})
        self.checks.record("1. service labels", labels_ok,
                           f"service labels {spec.get('Labels')}, container spec labels {container.get('Labels')}")
        image = container.get("Image", "")
        self.checks.record("1. image named by id", image.startswith("sha256:"), f"ContainerSpec.Image {image}")
        replicas = spec.get("Mode", {}).get("Replicated", {}).get("Replicas")
        restart = task.get("RestartPolicy", {}).get("Condition")
        self.checks.record("1. one replica, never restarted", replicas == 1 and restart == "none",
                           f"replicas {replicas}, restart condition {restart}")
        resources = task.get("Resources", {})
        limits, reservations = resources.get("Limits", {}), resources.get("Reservations", {})
        equal = all(limits.get(key) and limits.get(key) == reservations.get(key) for key in ("NanoCPUs", "MemoryBytes"))
        self.checks.record("1. reservations equal limits", equal and limits.get("NanoCPUs") == 500_000_000 and limits.get("MemoryBytes") == 64 << 20,
                           f"limits {limits}, reservations {reservations} (web-service: 0.5 CPU, 64 MiB)")
        ports = spec.get("EndpointSpec", {}).get("Ports", [])
        self.checks.record("1. ports in host mode", bool(ports) and all(port.get("PublishMode") == "host" for port in ports)
                           and not any(port.get("PublishedPort") for port in ports),
                           f"EndpointSpec.Ports {ports} (host mode, a port the node picks)")

        ended = self.stop(instance_id)
        gone = self.wait_service_gone(f"berth-{instance_id}", SERVICE_GONE_WITHIN_SECONDS)
        self.checks.record("1. stop removes the service", ended["state"] == "stopped" and gone,
                           f"after DELETE: {ended['state']}, service berth-{instance_id} {'gone' if gone else 'still there'}")

        # A service someone removed by hand: the stop still succeeds.
        instance = self.start_instance(WEB_SLUG)
        instance_id = instance["id"]
        self.docker("service", "rm", f"berth-{instance_id}")
        try:
            status, _ = self.api.call("DELETE", f"/api/v1/instances/{instance_id}", self.owner_tokens[instance_id])
            refusal = ""
        except APIError as error:
            status, refusal = error.status, str(error)
        ended = self.get(instance_id)
        deadline = time.monotonic() + 30
        while ended["state"] in ACTIVE_STATES and time.monotonic() < deadline:
            time.sleep(0.25)
            ended = self.get(instance_id)
        self.checks.record("1. a service removed by hand counts as removed", 200 <= status < 300 and ended["state"] == "stopped",
                           f"DELETE after `docker service rm`: {status} {refusal}; the instance is {ended['state']}"
                           + (f" ({ended.get('reason')})" if ended.get("reason") else ""))

    # -- 2. terminal and hardening ---------------------------------------------------------

    def check_terminal(self) -> None:
        instance = self.start_instance(WEB_SLUG)
        instance_id = instance["id"]
        node = self.task_node(instance_id)
        terminal = self.terminal(instance_id)
        try:
            marker = f"flow-{secrets.token_hex(3)}"
            echoed = terminal.run(f"echo {marker}-$((20+22))")
            self.checks.record("2. output flows both ways", f"{marker}-42" in echoed,
                               f"typed on node {node}'s instance, printed {echoed!r}")
            status = terminal.run("grep -E '^(NoNewPrivs|Seccomp):' /proc/1/status")
            fields = dict(line.split(":\t", 1) if ":\t" in line else (line, "") for line in status.splitlines())
            self.checks.record("2. /proc/1/status: NoNewPrivs 1, Seccomp 2",
                               fields.get("NoNewPrivs", "").strip() == "1" and fields.get("Seccomp", "").strip() == "2",
                               f"{status!r}")
            shell = terminal.run("id -un; grep -E '^(CapEff|NoNewPrivs):' /proc/$$/status")
            self.checks.record("2. the shell has no capabilities", "player" in shell and "CapEff:\t0000000000000000" in shell
                               and "NoNewPrivs:\t1" in shell, f"{shell!r}")
            root = terminal.run("awk '$2 == \"/\" { print $4 }' /proc/mounts | tail -n 1; touch /rootfs-probe 2>&1; touch /tmp/probe && echo tmp-writable")
            root_options = root.splitlines()[0] if root else ""
            self.checks.record("2. read-only root, writable /tmp", root_options.split(",")[0] == "ro" and "tmp-writable" in root,
                               f"root mounted {root_options.split(',')[0]!r}; {root.splitlines()[1:]!r}")
            pids = terminal.run("cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null")
            self.checks.record("2. pids limit is the environment's", pids.strip().splitlines()[:1] == ["64"],
                               f"pids.max {pids!r} (web-service: pids 64)")
            hostname = terminal.run("hostname")
            self.checks.record("2. hostname", hostname.strip() == WEB_SLUG, f"hostname {hostname!r}")
            terminal.resize(123, 45)
            size = terminal.run("stty size")
            resized = [message for message in terminal.messages if message.get("type") == "resized"]
            self.checks.record("2. resize", size.strip() == "45 123",
                               f"after resize 123x45: stty size {size!r}; resized messages {resized[-1:]}")
        finally:
            terminal.close()
        self.stop(instance_id)
        # The recording is Berth's own, as on one engine: listed for the instance and verified.
        deadline = time.monotonic() + 20
        while True:
            _, listed = self.api.call("GET", f"/api/v1/recordings?instance={instance_id}", self.admin_token)
            recordings = listed.get("items", [])
            if recordings or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        report: dict = {}
        if recordings:
            _, report = self.api.call("GET", f"/api/v1/recordings/{recordings[0]['id']}/verify", self.admin_token)
        self.checks.record("2. the terminal was recorded", bool(recordings) and report.get("valid") is True
                           and (report.get("bytesVerified") or 0) > 0,
                           f"{len(recordings)} recording(s) of {instance_id}; verify: valid {report.get('valid')}, "
                           f"{report.get('bytesVerified')} bytes, problems {report.get('problems')}")

    # -- 3. flags, files, checks -----------------------------------------------------------

    def check_flags_files(self) -> None:
        instance = self.start_instance(FLAG_SLUG)
        instance_id = instance["id"]
        token = self.owner_tokens[instance_id]
        base = self.server.url
        quoted = urllib.parse.quote
        status, _, body = raw_call(base, "GET", f"/api/v1/instances/{instance_id}/files/content?path={quoted('/home/player/flag.txt')}", token)
        flag = body.decode(errors="replace").strip()
        self.checks.record("3. the flag file, read through the file API", status == 200 and flag.startswith("berth{") and flag.endswith("}"),
                           f"GET files/content /home/player/flag.txt: {status} {flag[:12]!r}…")
        terminal = self.terminal(instance_id)
        try:
            seen = terminal.run("cat ~/flag.txt")
            try:
                _, result = self.api.call("POST", f"/api/v1/environments/{FLAG_SLUG}/submissions", token, {"flag": flag})
            except APIError as error:
                result = {"error": str(error)}
            self.checks.record("3. the per-instance flag is accepted", seen.strip() == flag and result.get("correct") is True,
                               f"the terminal's cat {'matches' if seen.strip() == flag else 'differs: ' + repr(seen[:60])}; submission: {result}")
            _, listing = self.api.call("GET", f"/api/v1/instances/{instance_id}/files?path={quoted('/home/player')}", token)
            names = sorted(entry["name"] for entry in listing.get("entries", []))
            self.checks.record("3. the file API lists", "flag.txt" in names and "/home/player" in listing.get("roots", []),
                               f"roots {listing.get('roots')}, /home/player holds {names}")
            content = f"written through the API on a swarm {secrets.token_hex(4)}\n".encode()
            path = "/home/player/notes/swarm.txt"
            written, _, answer = raw_call(base, "PUT", f"/api/v1/instances/{instance_id}/files/content?path={quoted(path)}", token,
                                          content, {"Content-Type": "application/octet-stream"})
            read, _, back = raw_call(base, "GET", f"/api/v1/instances/{instance_id}/files/content?path={quoted(path)}", token)
            shell = terminal.run(f"cat {path}; stat -c '%u %a' {path}")
            self.checks.record("3. the file API writes and reads", written == 200 and read == 200 and back == content
                               and content.decode().strip() in shell,
                               f"PUT {written} {answer[:120]!r}; GET {read} {'same bytes' if back == content else repr(back[:80])}; "
                               f"the shell sees {shell!r}")
        finally:
            terminal.close()
        self.stop(instance_id)

    def check_lab(self) -> None:
        base = self.server.url
        quoted = urllib.parse.quote
        lab = self.start_instance(LAB_SLUG)
        lab_id = lab["id"]
        token = self.owner_tokens[lab_id]
        _, progress = self.api.call("GET", f"/api/v1/environments/{LAB_SLUG}/lab", token)
        status, _, welcome = raw_call(base, "GET", f"/api/v1/instances/{lab_id}/files/content?path={quoted('/home/player/WELCOME.txt')}", token)
        self.checks.record("3. the lab's setup ran", status == 200 and b"Welcome" in welcome,
                           f"/home/player/WELCOME.txt: {status} {welcome[:60]!r}")
        _, first = self.api.call("POST", f"/api/v1/instances/{lab_id}/checks", token)
        messages = [failure.get("message") for failure in first.get("failures", [])]
        self.checks.record("3. a lab check reports a failure", first.get("status") == "failed" and any("project" in (m or "") for m in messages),
                           f"step {first.get('step')}: {first.get('status')}, failures {messages}, metrics {first.get('metrics')}")
        terminal = self.terminal(lab_id)
        made = ""
        try:
            made = terminal.run("mkdir -p ~/project 2>&1; ls -ld /home/player ~/project 2>&1")
        finally:
            terminal.close()
        _, second = self.api.call("POST", f"/api/v1/instances/{lab_id}/checks", token)
        self.checks.record("3. a lab check passes", second.get("status") == "passed" and second.get("metrics", {}).get("owner_uid") == 1000,
                           f"after `mkdir ~/project` in the terminal ({made!r}): "
                           f"step {second.get('step')}: {second.get('status')}, metrics {second.get('metrics')}, "
                           f"failures {[f.get('message') for f in second.get('failures', [])]}; "
                           f"progress then {(second.get('progress') or {}).get('currentStep', (second.get('progress') or {}).get('step'))}")
        self.stop(lab_id)

    # -- 4. spread, 5. isolation -----------------------------------------------------------

    def check_spread(self) -> list[tuple[dict, int | None]]:
        def one(index: int) -> dict:
            return self.start_instance(WEB_SLUG, player=index % SPREAD_PLAYERS)

        with concurrent.futures.ThreadPoolExecutor(max_workers=SPREAD_INSTANCES) as pool:
            futures = [pool.submit(one, index) for index in range(SPREAD_INSTANCES)]
            started, problems = [], []
            for future in futures:
                try:
                    started.append(future.result())
                except Phase as problem:
                    problems.append(str(problem))
        placed = [(instance, self.task_node(instance["id"])) for instance in started]
        nodes = sorted({node for _, node in placed if node is not None})
        per_node = {n: sum(1 for _, node in placed if node == n) for n in (1, 2, 3)}
        self.checks.record("4. spread over nodes", len(started) == SPREAD_INSTANCES and len(nodes) >= 2,
                           f"{len(started)} of {SPREAD_INSTANCES} running ({SPREAD_PLAYERS} players); instances per node {per_node}"
                           + (f"; failures {problems}" if problems else ""))
        endpoints_ok = all((instance.get("endpoints") or [{}])[0].get("host") == self.node_addresses[node - 1]
                           for instance, node in placed if node is not None)
        self.checks.record("4. each endpoint is its task's node", endpoints_ok,
                           ", ".join(f"{instance['id']}: node {node} {(instance.get('endpoints') or [{}])[0].get('host')}:"
                                     f"{(instance.get('endpoints') or [{}])[0].get('hostPort')}" for instance, node in placed))
        return placed

    def check_isolation(self, placed: list[tuple[dict, int | None]]) -> None:
        workers = [(instance, node) for instance, node in placed if node in (2, 3)]
        if not workers:
            raise Phase("no instance landed on a worker")
        # The prober: an instance on a worker with an instance on the other worker if there is one.
        prober, prober_node = workers[0]
        for instance, node in workers:
            if any(other_node not in (node, None) and other_node != 1 for _, other_node in placed):
                prober, prober_node = instance, node
                break
        targets: list[tuple[str, str, int]] = []  # (what, host, port)
        for node in (1, 2, 3):
            if node == prober_node:
                continue
            others = [instance for instance, n in placed if n == node]
            if others:
                endpoint = others[0]["endpoints"][0]
                role = "worker" if node != 1 else "manager node"
                targets.append((f"instance {others[0]['id']} on {role} {node}", endpoint["host"], endpoint["hostPort"]))
        other_worker = [t for t in targets if "worker" in t[0]]
        manager = self.node_addresses[0]
        own = self.node_addresses[prober_node - 1]
        targets.append(("the manager's engine", manager, self.engine_port))
        targets.append((f"its own node's engine (node {prober_node})", own, self.engine_port))
        terminal = self.terminal(prober["id"])
        try:
            # The probe's control: the same nc reaches the instance's own web server. (busybox's
            # `wget -T` crashes with a segmentation fault, on one engine too: nc it is.)
            control = terminal.run("nc -w 2 127.0.0.1 8080 </dev/null >/dev/null 2>&1; echo rc=$?")
            self.checks.record("5. the probe works inside", "rc=0" in control,
                               f"nc to its own web server (127.0.0.1:8080) from the terminal on node {prober_node}: {control!r}")
            for what, host, port in targets:
                inside = terminal.run(f"nc -w 2 {host} {port} </dev/null >/dev/null 2>&1; echo rc=$?", timeout=30)
                outside = tcp_answers(host, port)
                self.checks.record(f"5. isolation: {what}", "rc=0" not in inside and "rc=" in inside and outside,
                                   f"{host}:{port} from the instance on node {prober_node}: "
                                   f"{'unreachable' if 'rc=0' not in inside else 'REACHABLE'} ({inside!r}); "
                                   f"from this machine: {'answers' if outside else 'does NOT answer (the check cannot tell)'}")
        finally:
            terminal.close()
        self.checks.record("5. another worker's instance was probed", bool(other_worker),
                           f"probed {[t[0] for t in other_worker]}" if other_worker
                           else f"no instance on the other worker (placement {[(i['id'], n) for i, n in placed]})")

    # -- 6. no capacity --------------------------------------------------------------------

    def check_no_capacity(self) -> None:
        token = self.players[0]["token"]
        started = time.monotonic()
        try:
            status, answer = self.api.call("POST", "/api/v1/instances", token, {"environment": NO_CAPACITY_SLUG})
            code, message = "", json.dumps(answer)[:300]
        except APIError as error:
            status, code, message = error.status, error.code, str(error)
        elapsed = time.monotonic() - started
        within = PENDING_TIMEOUT_SECONDS * 0.9 <= elapsed <= PENDING_TIMEOUT_SECONDS + NO_CAPACITY_MARGIN_SECONDS
        self.checks.record("6. no capacity answers 503 no_capacity", status == 503 and code == "no_capacity" and within,
                           f"{status} {code} after {elapsed:.1f} s (pending timeout {PENDING_TIMEOUT_SECONDS} s): {message[:300]}")
        deadline = time.monotonic() + SERVICE_GONE_WITHIN_SECONDS
        left = [1]
        while left and time.monotonic() < deadline:
            left = [service["Spec"]["Name"] for service in self.services()
                    if service["Spec"].get("Labels", {}).get("berth.environment") == NO_CAPACITY_SLUG]
            if left:
                time.sleep(0.5)
        self.checks.record("6. no service left behind", not left,
                           "no service of the environment on the manager" if not left else f"services left: {left}")

    # -- 7. reconcile ----------------------------------------------------------------------

    def check_reconcile(self) -> None:
        instance = self.start_instance(WEB_SLUG)
        instance_id = instance["id"]
        log("stopping berth serve (SIGTERM) with one instance running")
        self.server.stop()
        image = self.docker("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE).strip()
        orphan_id = "inst_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=16))
        labels = {"berth.instance": orphan_id, "berth.environment": WEB_SLUG, "berth.owner": "user:nobody", "berth.namespace": self.namespace}
        label_args = [argument for key, value in labels.items() for argument in ("--label", f"{key}={value}", "--container-label", f"{key}={value}")]
        self.docker("service", "create", "--detach", "--name", f"berth-{orphan_id}", "--restart-condition", "none",
                    "--no-resolve-image", *label_args, image, "sleep", "infinity")
        log(f"created the orphan service berth-{orphan_id}")
        self.start_server()
        gone = self.wait_service_gone(f"berth-{orphan_id}", ORPHAN_GONE_WITHIN_SECONDS)
        self.checks.record("7. the orphan service is removed", gone,
                           f"berth-{orphan_id} {'removed' if gone else f'still there {ORPHAN_GONE_WITHIN_SECONDS} s after the restart'}")
        adopted = self.get(instance_id)
        kept = self.service_of(instance_id) is not None
        terminal = self.terminal(instance_id)
        try:
            echoed = terminal.run("echo adopted-$((40+2))")
        finally:
            terminal.close()
        self.checks.record("7. the running instance is adopted", adopted["state"] == "running" and kept and "adopted-42" in echoed,
                           f"{instance_id} {adopted['state']} after the restart, service {'kept' if kept else 'GONE'}, terminal printed {echoed!r}")
        self.stop(instance_id)

    # -- 8. node failure -------------------------------------------------------------------

    def check_node_failure(self) -> None:
        instance, node = None, None
        started: list[str] = []
        for _ in range(4):
            candidate = self.start_instance(WEB_SLUG)
            started.append(candidate["id"])
            node = self.task_node(candidate["id"])
            if node in (2, 3):
                instance = candidate
                break
        for other in started:
            if instance is None or other != instance["id"]:
                self.stop(other)
        if instance is None:
            raise Phase(f"4 instances in a row landed on the manager: {started}")
        instance_id = instance["id"]
        hostname = self.harness.get(f"BERTH_SWARM_NODE{node}_HOSTNAME", f"bsw-node{node}")
        log(f"stopping node {node} ({hostname}) with {instance_id} running on it")
        stop_started = time.monotonic()
        self.stopped_node = node
        self.harness_command("stop-node", str(node))
        current = self.get(instance_id)
        while current["state"] in ACTIVE_STATES and time.monotonic() - stop_started < NODE_DOWN_WITHIN_SECONDS:
            time.sleep(0.5)
            current = self.get(instance_id)
        elapsed = time.monotonic() - stop_started
        reason = current.get("reason") or ""
        self.checks.record("8. node failure fails the instance", current["state"] == "failed" and hostname in reason,
                           f"{instance_id} {current['state']} {elapsed:.1f} s after stop-node {node}; reason {reason!r}")
        restarted = time.monotonic()
        self.harness_command("start-node", str(node))
        self.stopped_node = None
        state = self.docker("node", "inspect", "-f", "{{.Status.State}}", self.harness.get(f"BERTH_SWARM_NODE{node}_ID", hostname)).strip()
        self.checks.record("8. the node is Ready again", state == "ready",
                           f"node {node} {state} {time.monotonic() - restarted:.1f} s after start-node")
        gone = self.wait_service_gone(f"berth-{instance_id}", SERVICE_GONE_WITHIN_SECONDS)
        self.checks.record("8. the failed instance's service is removed", gone,
                           f"berth-{instance_id} {'removed' if gone else 'still there'}")

    def harness_command(self, *arguments: str) -> None:
        state = self.harness.get("BERTH_SWARM_STATE", "/run/berth-swarm")
        environment = {**os.environ, "STATE": state, "BERTH_SWARM_INSTANCE": harness_instance(state)}
        result = subprocess.run([str(HARNESS), *arguments], capture_output=True, text=True, timeout=180, env=environment)
        if result.returncode != 0:
            raise Phase(f"swarm-harness.sh {' '.join(arguments)}: {result.stderr.strip()[-400:]}")

    # -- the run ---------------------------------------------------------------------------

    def phase(self, label: str, action) -> bool:
        started = time.monotonic()
        try:
            action()
            return True
        except Phase as problem:
            self.checks.record(label, False, str(problem))
        except (APIError, OSError, KeyError, IndexError, TypeError, ValueError, subprocess.SubprocessError) as error:
            self.checks.record(label, False, f"{type(error).__name__}: {error}")
        finally:
            log(f"{label}: {time.monotonic() - started:.1f} s")
        return False

    def delete_active(self) -> None:
        """Stops every active instance (between phases, so each starts on an empty swarm)."""
        _, payload = self.api.call("GET", "/api/v1/instances", self.admin_token)
        for item in payload["items"]:
            if item["state"] in ACTIVE_STATES:
                try:
                    self.stop(item["id"])
                except APIError as error:
                    log(f"warning: DELETE {item['id']}: {error}")

    def run(self) -> None:
        self.write_environments()
        if not self.phase("berth serve on the swarm", self.start_server):
            return
        if not self.phase("players", self.create_players):
            return
        self.phase("1. lifecycle", self.check_lifecycle)
        self.phase("2. terminal and hardening", self.check_terminal)
        self.phase("3. flags and files", self.check_flags_files)
        self.phase("3. lab checks", self.check_lab)
        placed: list[tuple[dict, int | None]] = []
        self.phase("4. spread", lambda: placed.extend(self.check_spread()))
        if placed:
            self.phase("5. isolation", lambda: self.check_isolation(placed))
        self.phase("between phases", self.delete_active)
        self.phase("6. no capacity", self.check_no_capacity)
        if self.phase("7. reconcile", self.check_reconcile):
            self.phase("8. node failure", self.check_node_failure)
        else:
            # The server may be down after a failed restart: start it again for the node test.
            if not (self.server and self.server.running):
                self.phase("berth serve again", self.start_server)
            if self.server and self.server.running:
                self.phase("8. node failure", self.check_node_failure)

    def clean_up(self) -> None:
        if self.stopped_node is not None:
            try:
                self.harness_command("start-node", str(self.stopped_node))
            except (Phase, subprocess.SubprocessError) as error:
                log(f"warning: starting node {self.stopped_node} again: {error}")
        if self.server and self.server.running:
            try:
                self.delete_active()
            except (APIError, OSError, Phase) as error:
                log(f"warning: deleting the instances: {error}")
            if self.checks.failed:
                self.server.print_log_tail(40, f"{PROGRAM}: last lines of the server log ({{path}}):")
            self.server.stop()
        if self.args.keep_logs:
            target = Path(self.args.keep_logs)
            target.mkdir(parents=True, exist_ok=True)
            for path in self.work.glob("berth-*.log"):
                shutil.copyfile(path, target / path.name)
        try:
            left = self.docker("service", "ls", "-q", "--filter", f"label=berth.namespace={self.namespace}", check=False).split()
            if left:
                self.docker("service", "rm", *left, check=False)
                log(f"removed {len(left)} service(s) left in namespace {self.namespace}")
        except subprocess.SubprocessError as error:
            log(f"warning: listing the namespace's services: {error}")


def copy_examples(source: Path, target: Path) -> None:
    """Copies the examples the test starts, modes kept (the content tag hashes paths, modes and bytes)."""
    target.mkdir(parents=True, exist_ok=True)
    for slug in EXAMPLES:
        if not (source / slug / "challenge.yml").is_file():
            raise SystemExit(f"{PROGRAM}: error: no {slug}/challenge.yml in {source}")
        shutil.copytree(source / slug, target / slug, symlinks=True)


def host_engine_environment() -> dict[str, str]:
    """This process's environment without what would point the docker CLI or berth elsewhere."""
    return {key: value for key, value in os.environ.items()
            if key not in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "BERTH_ENGINE")}


def needed_images(args: argparse.Namespace) -> list[str]:
    """Builds the examples the test starts on the host engine (a no-op when built) and returns the
    images a harness must hold for it: their content tags and the base image."""
    with tempfile.TemporaryDirectory(prefix="berth-swarm-images-") as work:
        copy_examples(Path(args.environments), Path(work))
        result = subprocess.run([args.berth, "env", "build", "--environments", work, "--json"],
                                capture_output=True, text=True, env=host_engine_environment())
        if result.returncode != 0:
            raise SystemExit(f"{PROGRAM}: error: berth env build failed: {result.stderr.strip()[-1000:]}")
        return [item["image"] for item in json.loads(result.stdout)] + [BASE_IMAGE]


def load_missing_images(images: list[str], harness: dict[str, str]) -> None:
    """Loads into each node the images it lacks (`docker save | docker load`, ids kept), so the test
    also runs on a harness someone brought up with other images."""
    for node in (1, 2, 3):
        socket_url = harness.get(f"BERTH_SWARM_NODE{node}_SOCK")
        if not socket_url:
            continue
        node_env = {**host_engine_environment(), "DOCKER_HOST": socket_url}
        missing = [image for image in images
                   if subprocess.run(["docker", "image", "inspect", image], capture_output=True, env=node_env).returncode != 0]
        if not missing:
            continue
        log(f"loading {missing} into node {node}")
        saved = subprocess.Popen(["docker", "save", *missing], stdout=subprocess.PIPE, env=host_engine_environment())
        loaded = subprocess.run(["docker", "load", "-q"], stdin=saved.stdout, capture_output=True, text=True, env=node_env)
        saved.stdout.close()
        if saved.wait() != 0 or loaded.returncode != 0:
            raise SystemExit(f"{PROGRAM}: error: loading {missing} into node {node} failed: {loaded.stderr.strip()[-500:]}")


def print_images(args: argparse.Namespace) -> int:
    """Prints the images a harness must hold for the test, one a line."""
    for image in needed_images(args):
        print(image)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--berth", default=str(REPO / ".build" / "debug" / "berth"))
    parser.add_argument("--environments", default=str(REPO / "examples" / "environments"))
    parser.add_argument("--harness-env", default=default_harness_env(),
                        help=f"the harness's env file (default {DEFAULT_HARNESS_ENV}, or /run/berth-swarm-K/env with BERTH_SWARM_INSTANCE=K)")
    parser.add_argument("--ready-timeout", type=float, default=90)
    parser.add_argument("--keep-logs", help="copy the server's logs into this folder")
    parser.add_argument("--print-images", action="store_true",
                        help="build the examples the test starts (host engine) and print the images the harness must load, then exit")
    args = parser.parse_args()
    if not (os.path.isfile(args.berth) and os.access(args.berth, os.X_OK)):
        print(f"{PROGRAM}: error: no berth binary at {args.berth} (swift build --product berth)", file=sys.stderr)
        return 2
    if args.print_images:
        return print_images(args)
    if shutil.which("docker") is None:
        print(f"{PROGRAM}: error: the docker CLI is missing (scripts/ensure-docker.sh)", file=sys.stderr)
        return 2
    try:
        import websocket  # noqa: F401
    except ImportError:
        print(f"{PROGRAM}: error: Python's websocket-client is missing (scripts/ensure-apt-packages.sh python3-websocket)", file=sys.stderr)
        return 2
    if not os.path.isfile(args.harness_env):
        print(f"{PROGRAM}: error: no harness env file at {args.harness_env} (scripts/swarm-harness.sh up)", file=sys.stderr)
        return 2
    harness = read_harness_env(args.harness_env)
    missing = [name for name in ("BERTH_SWARM_MANAGER", "BERTH_SWARM_TLS_DIR", "BERTH_SWARM_NODES", "BERTH_SWARM_NODE2_SOCK",
                                 "BERTH_SWARM_NODE2_ID") if name not in harness]
    if missing:
        print(f"{PROGRAM}: error: {args.harness_env} lacks {missing}", file=sys.stderr)
        return 2
    load_missing_images(needed_images(args), harness)
    # make's SIGTERM cleans up as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="berth-swarm-test-") as work:
        test = SwarmTest(args, Path(work), harness)
        log(f"namespace {test.namespace}, harness {args.harness_env} (nodes {harness['BERTH_SWARM_NODES']})")
        interrupted = False
        try:
            test.run()
        except KeyboardInterrupt:
            print(f"{PROGRAM}: interrupted", file=sys.stderr)
            interrupted = True
        finally:
            test.clean_up()
        if interrupted:
            return 130
        print(test.checks.summary(), flush=True)
        log(f"the run took {time.monotonic() - started:.0f} s")
    return 1 if test.checks.failed or not test.checks.results else 0


if __name__ == "__main__":
    sys.exit(main())
