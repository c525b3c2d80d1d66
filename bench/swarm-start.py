#!/usr/bin/env python3
"""Swarm start benchmark: Berth's POST /api/v1/instances → running on a three-node Docker Swarm,
against `docker service create` through the CLI and against Berth on one local engine, plus a
burst of concurrent starts across the nodes.

It needs a running harness (scripts/swarm-harness.sh up, as root): its env file
(/run/berth-swarm/env by default, --harness-env) names the manager's socket, the client
certificate and the nodes. It never brings a harness up or down (another run may be using it),
and removes everything it creates: the services of its own namespaces (label berth.namespace),
its CLI services (name prefix swbench-cli-<run>-, label berth.bench=<run>) and its local
containers.

What it does, in one run:

1. builds the environment's image (web-service by default) on the host engine with `berth env
   build`, in a temporary copy of the environment folder that also holds `swarm-burst` (below),
   and loads it into every node whose engine lacks that tag with that id (`docker save | docker
   load`, which keeps the id: a swarm starts images by id);
2. starts two `berth serve` on free loopback ports: one with BERTH_ENGINE=swarm on the harness's
   manager, one with BERTH_ENGINE=docker on the host engine (/var/run/docker.sock), each in a
   namespace of its own, BERTH_ASSIGNMENT=unlimited and caps raised;
3. --runs times, interleaved (after --warmup uncounted rounds):
   - Berth on the swarm: from sending POST until the instance is `running` (the 201 answer, or
     polling GET every 10 ms), then DELETE, waiting until the service's tasks are gone;
   - CLI, converged: `docker -H <manager> service create --detach=false` with the same image id,
     resources (reservations = limits), host-mode port, hardening and command, timed until the
     command returns; the CLI then also waits 5 s to "verify that tasks are stable", which is
     part of what `--detach=false` costs and is reported as such;
   - CLI, task running: `service create --detach` timed until the service's task is `running`
     with its port published (the manager's API polled every 10 ms), which is Berth's readiness
     criterion and the like-for-like baseline;
   - Berth on the local engine: POST → running as above;
   every CLI service is removed (`service rm`) and its task awaited;
4. a burst of --burst (50) concurrent POSTs on the swarm, one per player (--burst users created
   through the admin API), of `swarm-burst`: web-service's image and settings with its CPU
   reservation lowered to --burst-cpus (see below). It reports failures by error code, the wall
   time, latencies, and how the running instances spread over the nodes (count per node from the
   tasks' NodeID, max/min ratio), then stops them all and times that; then the same burst
   through the CLI (--burst concurrent `docker service create --detach`, each until its task
   runs), as its baseline, unless --no-cli-burst;
5. prints a table with the p50/p90 ratios Berth/CLI and swarm/local, and writes
   bench-results/swarm-start.json.

Why swarm-burst: reservations equal limits, so the scheduler admits only what fits. The harness's
nodes share this machine, and each reports all of its CPUs (2 on the 2-core CI machine) to the
scheduler: 3 nodes × 2 CPUs = 6 CPUs, which holds 12 instances of web-service's 0.5 CPU. At 0.1
CPU (the default --burst-cpus) each node holds 20 and the swarm 60, so 50 fit with room for a
test running on the harness at the same time. The script prints each node's free CPUs before the
burst and says whether the burst fits.

Only the Python standard library is used. Exit status: 2 when a server did not start, 1 when the
benchmark could not be set up (no harness, nodes not ready), 0 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import http.client
import json
import math
import os
import platform
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from berth_api import APIError, BerthAPI, instance_of, wait_until_running
from berth_server import BerthServer, add_bench_arguments, berth_missing, command_output, remove_namespace, write_results
from swarm_harness import DEFAULT_HARNESS_ENV, read_harness_env

REPO = Path(__file__).resolve().parent.parent

HOST_ENGINE = "unix:///var/run/docker.sock"
BURST_ENVIRONMENT = "swarm-burst"
ACTIVE_STATES = {"requested", "starting", "running", "stopping"}
# Task states of a task that holds (or is about to hold) its reservation on a node.
RESERVING_TASK_STATES = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running"}
POLL_SECONDS = 0.01
API_VERSION = "v1.41"


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def summarize(samples_ms: list[float]) -> dict:
    if not samples_ms:
        return {"count": 0}
    ordered = sorted(samples_ms)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8] if len(ordered) > 1 else ordered[0]
    return {
        "count": len(ordered), "p50": statistics.median(ordered), "p90": p90, "min": ordered[0], "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def ratio(a: dict, b: dict, key: str) -> float | None:
    if not a.get("count") or not b.get("count") or not b[key]:
        return None
    return a[key] / b[key]


# -- the Engine API over a Unix socket ------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class EngineError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(f"engine answered {status}: {message}")
        self.status = status


class Engine:
    """GETs against one Docker Engine's API (a unix:// DOCKER_HOST), for what the CLI cannot tell
    fast: task states, nodes, reservations."""

    def __init__(self, url: str, timeout: float = 30):
        if not url.startswith("unix://"):
            raise SystemExit(f"bench: error: only unix:// engines are supported for the manager's API, got {url}")
        self.url = url
        self.path = url[len("unix://"):]
        self.timeout = timeout

    def get(self, path: str, filters: dict | None = None):
        query = "?filters=" + urllib.parse.quote(json.dumps(filters)) if filters else ""
        connection = UnixHTTPConnection(self.path, self.timeout)
        try:
            connection.request("GET", f"/{API_VERSION}{path}{query}")
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise EngineError(response.status, body.decode(errors="replace")[:300])
        return json.loads(body)

    def nodes(self) -> list[dict]:
        nodes = []
        for node in self.get("/nodes"):
            resources = node.get("Description", {}).get("Resources", {})
            labels = node.get("Spec", {}).get("Labels") or {}
            nodes.append({
                "id": node["ID"],
                "hostname": node.get("Description", {}).get("Hostname", node["ID"][:12]),
                "address": labels.get("berth.address") or node.get("Status", {}).get("Addr", ""),
                "state": node.get("Status", {}).get("State", "unknown"),
                "availability": node.get("Spec", {}).get("Availability", "unknown"),
                "role": node.get("Spec", {}).get("Role", "unknown"),
                "cpus": resources.get("NanoCPUs", 0) / 1e9,
                "memoryBytes": resources.get("MemoryBytes", 0),
            })
        return sorted(nodes, key=lambda node: node["hostname"])

    def reserved_cpus(self) -> dict[str, float]:
        """CPUs reserved on each node (by node id) by every task that holds a reservation, whoever made it."""
        reserved: dict[str, float] = {}
        for task in self.get("/tasks", {"desired-state": ["running"]}):
            node = task.get("NodeID")
            if not node or task.get("Status", {}).get("State") not in RESERVING_TASK_STATES:
                continue
            nano = ((task.get("Spec", {}).get("Resources") or {}).get("Reservations") or {}).get("NanoCPUs", 0)
            reserved[node] = reserved.get(node, 0) + nano / 1e9
        return reserved

    def tasks_of(self, service: str) -> list[dict]:
        try:
            return self.get("/tasks", {"service": [service]})
        except EngineError as error:
            if error.status == 404:
                return []
            raise

    def running_published(self, service: str) -> bool:
        """Whether `service` has a running task with its ports published."""
        for task in self.tasks_of(service):
            status = task.get("Status", {})
            if status.get("State") == "running" and any(p.get("PublishedPort") for p in (status.get("PortStatus") or {}).get("Ports") or []):
                return True
            if status.get("State") in {"failed", "rejected", "shutdown", "complete", "orphaned"}:
                raise RuntimeError(f"task of {service} ended in state {status.get('State')}: {status.get('Err') or status.get('Message')}")
        return False

    def wait_tasks_gone(self, service: str, timeout: float = 30) -> bool:
        """Waits until `service` has no task left (its container removed on its node)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.tasks_of(service):
                return True
            time.sleep(0.05)
        return False

    def services(self, label: str) -> list[dict]:
        return self.get("/services", {"label": [label]})


# -- the benchmark --------------------------------------------------------------------------------


class Target:
    """One Berth server under test (on the swarm or on the local engine), with its users."""

    def __init__(self, name: str, engine_env: dict[str, str]):
        self.name = name
        self.engine_env = engine_env
        self.namespace = f"swbench-{name}-{secrets.token_hex(3)}"
        self.server: BerthServer | None = None
        self.log_path: Path | None = None
        self.data_dir: Path | None = None
        self.api: BerthAPI | None = None
        self.token: str | None = None
        self.created: dict[str, str] = {}  # instance id → the token of its owner
        self.created_lock = threading.Lock()


class Benchmark:
    def __init__(self, args: argparse.Namespace, harness: dict[str, str]):
        self.args = args
        self.harness = harness
        self.manager_url = harness["BERTH_SWARM_MANAGER"]
        self.manager = Engine(self.manager_url)
        self.run_id = secrets.token_hex(3)
        self.cli_prefix = f"swbench-cli-{self.run_id}-"
        self.cli_label = f"berth.bench={self.run_id}"
        self.admin_token = secrets.token_hex(16)
        self.work = Path(tempfile.mkdtemp(prefix="berth-swarm-bench-"))
        self.environments = self.work / "environments"
        self.image_reference = ""
        self.image_id = ""
        self.settings: dict = {}
        self.cli_count = 0
        self.cli_lock = threading.Lock()
        swarm_env = {
            "BERTH_ENGINE": "swarm", "DOCKER_HOST": self.manager_url,
            "BERTH_SWARM_TLS_DIR": harness["BERTH_SWARM_TLS_DIR"],
            "BERTH_SWARM_ENGINE_PORT": harness.get("BERTH_SWARM_ENGINE_PORT", "2376"),
        }
        self.swarm = Target("swarm", swarm_env)
        self.local = Target("local", {"BERTH_ENGINE": "docker", "DOCKER_HOST": HOST_ENGINE})
        self.targets = [self.swarm, self.local]
        self.burst_tokens: list[str] = []

    # -- set-up -----------------------------------------------------------------------------

    def check_nodes(self, phase: str) -> list[dict]:
        nodes = self.manager.nodes()
        ready = [n for n in nodes if n["state"] == "ready" and n["availability"] == "active"]
        log(f"nodes ({phase}): " + ", ".join(f"{n['hostname']} {n['role']} {n['address']} {n['state']}/{n['availability']} "
                                             f"{n['cpus']:g} CPUs {n['memoryBytes'] / 2**30:.1f} GiB" for n in nodes))
        if len(ready) < 3:
            log(f"warning: {len(ready)} of {len(nodes)} nodes are ready and active ({phase}); figures may not be comparable")
        return nodes

    def prepare_environments(self) -> None:
        """A temporary environments folder: a copy of --environment, and swarm-burst, which starts
        the same image (named by its content tag) with the CPU reservation lowered."""
        source = Path(self.args.environments) / self.args.environment
        if not (source / "challenge.yml").is_file():
            raise SystemExit(f"bench: error: no environment {self.args.environment} in {self.args.environments}")
        shutil.copytree(source, self.environments / self.args.environment, symlinks=True)
        command = [self.args.berth, "env", "build", "--environments", str(self.environments), "--json", self.args.environment]
        log("building: " + " ".join(command) + f" (engine {HOST_ENGINE})")
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "DOCKER_HOST": HOST_ENGINE})
        try:
            built = json.loads(result.stdout)[0]
            self.image_reference, self.image_id = built["image"], built["imageID"]
        except (ValueError, LookupError, TypeError):
            raise SystemExit(f"bench: error: `{' '.join(command)}` failed ({result.returncode}): {result.stdout[-500:]} {result.stderr[-500:]}")
        log(f"image {self.image_reference} = {self.image_id}")

        text = (source / "challenge.yml").read_text()
        self.settings = environment_settings(text)
        burst = text
        burst, images = re.subn(r"(?m)^image:.*$", f"image: {self.image_reference}", burst)
        burst, cpus = re.subn(r"cpus:\s*[0-9.]+", f"cpus: {self.args.burst_cpus:g}", burst)
        burst, names = re.subn(r"(?m)^name:.*$", "name: Swarm burst (web-service at a smaller CPU reservation)", burst)
        if images != 1 or cpus != 1 or names != 1:
            raise SystemExit(f"bench: error: cannot derive {BURST_ENVIRONMENT} from {source}/challenge.yml: expected one top-level"
                             f" `name:` and `image:` and one `cpus:` (found {names}, {images}, {cpus})")
        (self.environments / BURST_ENVIRONMENT).mkdir()
        (self.environments / BURST_ENVIRONMENT / "challenge.yml").write_text(
            f"# Written by bench/swarm-start.py from {self.args.environment}: its image, {self.args.burst_cpus:g} CPU.\n" + burst)

    def load_image_into_nodes(self) -> None:
        """Every node needs the image under the same id, and the manager its tag (Berth resolves
        the tag to the id there): load it from the host engine where either is missing."""
        for index in range(1, 10):
            sock = self.harness.get(f"BERTH_SWARM_NODE{index}_SOCK")
            if not sock:
                break
            have = command_output(["docker", "-H", sock, "image", "inspect", "-f", "{{.Id}}", self.image_reference])
            if have == self.image_id:
                continue
            log(f"node {index}: loading {self.image_reference} (has {have or 'nothing'})")
            save = subprocess.Popen(["docker", "-H", HOST_ENGINE, "save", self.image_reference], stdout=subprocess.PIPE)
            load = subprocess.run(["docker", "-H", sock, "load", "-q"], stdin=save.stdout, capture_output=True, text=True)
            save.wait()
            if save.returncode != 0 or load.returncode != 0:
                raise SystemExit(f"bench: error: loading {self.image_reference} into node {index} failed: {load.stderr.strip()}")

    def start_servers(self) -> None:
        for target in self.targets:
            target.data_dir = self.work / f"data-{target.name}"
            target.data_dir.mkdir()
            target.log_path = self.work / f"server-{target.name}.log"
            extra = {
                **target.engine_env, "BERTH_ASSIGNMENT": "unlimited", "BERTH_OWNER_CAP": str(self.args.burst + 10),
                "BERTH_GLOBAL_CAP": str(self.args.burst + 50),
            }
            target.server = BerthServer(self.args.berth, target.data_dir, self.environments, target.namespace, self.admin_token,
                                        target.log_path, extra_env=extra)
            target.server.start_or_exit(self.args.ready_timeout, f"bench ({target.name})")
            target.api = BerthAPI(target.server.url, timeout=self.args.timeout + 30)
            target.token = self.create_user(target, "swbench")

    def create_user(self, target: Target, name: str) -> str:
        assert target.api
        try:
            _, user = target.api.call("POST", "/api/v1/users", self.admin_token, {"name": name})
            _, token = target.api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "bench"})
            return token["token"]
        except (APIError, OSError, KeyError, TypeError) as error:
            raise SystemExit(f"bench: error: could not create user {name} on {target.name}: {error}")

    # -- Berth ------------------------------------------------------------------------------

    def berth_start(self, target: Target, token: str, environment: str) -> tuple[float, dict]:
        """Milliseconds from sending the POST until the instance is running, and the instance."""
        assert target.api
        started = time.perf_counter()
        _, payload = target.api.call("POST", "/api/v1/instances", token, {"environment": environment})
        instance = instance_of(payload)
        answered = instance.get("state")
        with target.created_lock:
            target.created[instance["id"]] = token
        try:
            wait_until_running(target.api, token, instance, self.args.timeout)
        except RuntimeError as error:
            reason = self.reason_of(target, token, instance["id"])
            raise RuntimeError(f"{error}{': ' + reason if reason else ''}") from None
        elapsed = (time.perf_counter() - started) * 1000
        _, payload = target.api.call("GET", f"/api/v1/instances/{instance['id']}", token)
        return elapsed, {**instance_of(payload), "answeredState": answered}

    @staticmethod
    def reason_of(target: Target, token: str, instance_id: str) -> str:
        assert target.api
        try:
            _, payload = target.api.call("GET", f"/api/v1/instances/{instance_id}", token)
            return instance_of(payload).get("reason") or ""
        except (APIError, OSError):
            return ""

    def berth_delete(self, target: Target, instance_id: str, wait: bool = True) -> None:
        assert target.api
        token = target.created.get(instance_id, target.token)
        try:
            target.api.call("DELETE", f"/api/v1/instances/{instance_id}", token)
        except APIError as error:
            if error.status != 404:
                log(f"warning: DELETE {instance_id} on {target.name}: {error}")
        deadline = time.monotonic() + 60
        while wait and time.monotonic() < deadline:
            try:
                _, payload = target.api.call("GET", f"/api/v1/instances/{instance_id}", token)
            except APIError as error:
                if error.status == 404:
                    break
                raise
            if instance_of(payload).get("state") not in ACTIVE_STATES:
                break
            time.sleep(0.05)
        if wait and target is self.swarm:
            self.manager.wait_tasks_gone(f"berth-{instance_id}")
        with target.created_lock:
            target.created.pop(instance_id, None)

    # -- the CLI baseline -------------------------------------------------------------------

    def cli_command(self, name: str, detach: bool, cpus: str | None = None) -> list[str]:
        """`docker service create` for what Berth's service of the environment holds: the image
        by id, reservations = limits, the port in host mode, the hardening a service can say, the
        same command; both without restart. `cpus` replaces the environment's (the burst's)."""
        s = {**self.settings, "cpus": cpus or self.settings["cpus"]}
        command = [
            "docker", "-H", self.manager_url, "service", "create", "--name", name,
            "--detach=false" if not detach else "--detach", "--label", self.cli_label,
            "--restart-condition", "none",
            "--reserve-cpu", s["cpus"], "--limit-cpu", s["cpus"], "--reserve-memory", s["memory"], "--limit-memory", s["memory"],
            "--limit-pids", s["pids"],
            "--cap-drop", "ALL", *[flag for cap in s["capabilities"] for flag in ("--cap-add", cap)],
            "--init", "--tty", "--hostname", self.args.environment,
            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=32768:32768",
            "--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=1",
            "--stop-grace-period", "2s",
        ]
        if s["readOnlyRoot"]:
            command.append("--read-only")
        for path in s["writable"]:
            command += ["--mount", f"type=tmpfs,target={path},tmpfs-size={64 << 20},tmpfs-mode=1777"]
        for port in s["ports"]:
            command += ["--publish", f"mode=host,target={port}"]
        command.append(self.image_id)
        command += s["command"]
        return command

    def cli_start(self, detach: bool, cpus: str | None = None) -> tuple[float, str]:
        with self.cli_lock:
            self.cli_count += 1
            name = f"{self.cli_prefix}{self.cli_count}"
        command = self.cli_command(name, detach, cpus)
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            self.cli_remove(name)
            raise RuntimeError(f"docker service create failed: {(result.stderr or result.stdout).strip()[-300:]}")
        if detach:
            deadline = time.monotonic() + self.args.timeout
            while not self.manager.running_published(name):
                if time.monotonic() > deadline:
                    self.cli_remove(name)
                    raise RuntimeError(f"service {name} not running after {self.args.timeout}s")
                time.sleep(POLL_SECONDS)
        elif not self.manager.running_published(name):
            self.cli_remove(name)
            raise RuntimeError(f"service {name}: the CLI returned, but its task is not running")
        return (time.perf_counter() - started) * 1000, name

    def cli_remove(self, name: str) -> None:
        subprocess.run(["docker", "-H", self.manager_url, "service", "rm", name], capture_output=True)
        self.manager.wait_tasks_gone(name)

    # -- phases -----------------------------------------------------------------------------

    def sequential(self) -> dict:
        kinds = ["berth-swarm", "cli-converged", "cli-running", "berth-local"]
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        failures: dict[str, list[str]] = {kind: [] for kind in kinds}
        total = self.args.warmup + self.args.runs
        for index in range(total):
            counted = index >= self.args.warmup
            label = f"run {index - self.args.warmup + 1}/{self.args.runs}" if counted else f"warm-up {index + 1}"
            texts = []
            for kind in kinds:
                try:
                    if kind.startswith("berth"):
                        target = self.swarm if kind == "berth-swarm" else self.local
                        assert target.token
                        elapsed, instance = self.berth_start(target, target.token, self.args.environment)
                        self.berth_delete(target, instance["id"])
                    else:
                        elapsed, name = self.cli_start(detach=kind == "cli-running")
                        self.cli_remove(name)
                    if counted:
                        samples[kind].append(elapsed)
                    texts.append(f"{kind} {elapsed:7.1f} ms")
                except (APIError, RuntimeError, OSError, KeyError, TypeError, EngineError) as error:
                    if counted:
                        failures[kind].append(str(error))
                    texts.append(f"{kind} FAILED ({error})")
            log(f"{label}: " + ", ".join(texts))
        return {"samples_ms": samples, "failures": failures}

    def capacity(self) -> dict:
        """Each ready node's CPUs, what is reserved there now, and how many burst instances fit."""
        nodes = self.check_nodes("before the burst")
        reserved = self.manager.reserved_cpus()
        rows = []
        for node in nodes:
            usable = node["state"] == "ready" and node["availability"] == "active"
            free = max(0.0, node["cpus"] - reserved.get(node["id"], 0)) if usable else 0.0
            fits = math.floor(free / self.args.burst_cpus + 1e-9)
            rows.append({"hostname": node["hostname"], "cpus": node["cpus"], "reserved": reserved.get(node["id"], 0), "free": free,
                         "fits": fits, "usable": usable})
        total = sum(row["fits"] for row in rows)
        for row in rows:
            log(f"capacity {row['hostname']}: {row['cpus']:g} CPUs, {row['reserved']:.2f} reserved by running tasks, room for"
                f" {row['fits']} instances of {self.args.burst_cpus:g} CPU")
        if total < self.args.burst:
            log(f"warning: the swarm has room for {total} instances of {self.args.burst_cpus:g} CPU, fewer than the burst's"
                f" {self.args.burst}: expect no_capacity failures (lower --burst-cpus)")
        return {"nodes": rows, "fits": total, "burstCpus": self.args.burst_cpus}

    def create_burst_users(self) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            self.burst_tokens = list(pool.map(lambda i: self.create_user(self.swarm, f"swbench-player-{i:02d}"), range(self.args.burst)))
        log(f"{len(self.burst_tokens)} players created on the swarm server")

    def burst(self) -> dict:
        count = self.args.burst
        capacity = self.capacity()
        barrier = threading.Barrier(count)

        def one(index: int) -> dict:
            token = self.burst_tokens[index]
            barrier.wait()
            started = time.perf_counter()
            try:
                elapsed, instance = self.berth_start(self.swarm, token, BURST_ENVIRONMENT)
                hosts = sorted({e.get("host", "") for e in instance.get("endpoints") or []})
                return {"ok": True, "ms": elapsed, "id": instance["id"], "hosts": hosts, "answered": instance["answeredState"],
                        "start": started, "end": time.perf_counter()}
            except APIError as error:
                return {"ok": False, "code": error.code, "error": str(error), "start": started, "end": time.perf_counter()}
            except (RuntimeError, OSError, KeyError, TypeError) as error:
                code = "instance_failed" if "ended in state" in str(error) else "timeout" if "not running after" in str(error) else type(error).__name__
                return {"ok": False, "code": code, "error": str(error), "start": started, "end": time.perf_counter()}

        log(f"burst: {count} concurrent POST /api/v1/instances of {BURST_ENVIRONMENT} by {count} players")
        with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(one, range(count)))
        wall_ms = (max(r["end"] for r in results) - min(r["start"] for r in results)) * 1000
        by_code: dict[str, int] = {}
        for r in results:
            if not r["ok"]:
                by_code[r["code"]] = by_code.get(r["code"], 0) + 1
        for message in sorted({r["error"] for r in results if not r["ok"]}):
            log(f"burst failure: {message}")

        spread = self.spread({f"berth-{r['id']}" for r in results if r["ok"]}, f"berth.namespace={self.swarm.namespace}")
        endpoint_hosts: dict[str, int] = {}
        for r in results:
            for host in r.get("hosts") or []:
                endpoint_hosts[host] = endpoint_hosts.get(host, 0) + 1

        ids = [r["id"] for r in results if r["ok"]]
        stop_started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda instance_id: self.berth_delete(self.swarm, instance_id, wait=True), ids))
        stop_ms = (time.perf_counter() - stop_started) * 1000
        return {
            "count": count, "environment": BURST_ENVIRONMENT, "capacity": capacity, "failures": count - len(ids), "failuresByCode": by_code,
            "errors": [r["error"] for r in results if not r["ok"]], "wall_ms": wall_ms,
            "latency": summarize([r["ms"] for r in results if r["ok"]]), "spread": spread, "endpointHosts": endpoint_hosts,
            "stopAll_ms": stop_ms, "answeredRunning": sum(1 for r in results if r["ok"] and r["answered"] == "running"),
        }

    def cli_burst(self) -> dict:
        """The baseline of the burst: --burst concurrent `docker service create --detach` of the same
        image and resources as swarm-burst, each timed until its task runs with its port published,
        then all removed."""
        count = self.args.burst
        barrier = threading.Barrier(count)

        def one(_: int) -> dict:
            barrier.wait()
            started = time.perf_counter()
            try:
                elapsed, name = self.cli_start(detach=True, cpus=f"{self.args.burst_cpus:g}")
                return {"ok": True, "ms": elapsed, "name": name, "start": started, "end": time.perf_counter()}
            except (RuntimeError, OSError, EngineError) as error:
                return {"ok": False, "error": str(error), "start": started, "end": time.perf_counter()}

        log(f"CLI burst: {count} concurrent docker service create -d of the same image at {self.args.burst_cpus:g} CPU")
        with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(one, range(count)))
        wall_ms = (max(r["end"] for r in results) - min(r["start"] for r in results)) * 1000
        for message in sorted({r["error"] for r in results if not r["ok"]}):
            log(f"CLI burst failure: {message}")
        names = [r["name"] for r in results if r["ok"]]
        spread = self.spread(set(names), self.cli_label)
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self.cli_remove, names))
        return {
            "count": count, "failures": count - len(names), "errors": [r["error"] for r in results if not r["ok"]],
            "wall_ms": wall_ms, "latency": summarize([r["ms"] for r in results if r["ok"]]), "spread": spread,
        }

    def spread(self, wanted: set[str], label: str) -> dict:
        """How many of the services named in `wanted` (labelled `label`) run on each node, from the manager's tasks."""
        nodes = {n["id"]: n["hostname"] for n in self.manager.nodes()}
        services = {s["ID"]: s["Spec"]["Name"] for s in self.manager.services(label)}
        per_node = {hostname: 0 for hostname in nodes.values()}
        placed = 0
        for task in self.manager.get("/tasks", {"desired-state": ["running"]}):
            name = services.get(task.get("ServiceID", ""))
            if name in wanted and task.get("Status", {}).get("State") == "running":
                hostname = nodes.get(task.get("NodeID", ""), task.get("NodeID", "?"))
                per_node[hostname] = per_node.get(hostname, 0) + 1
                placed += 1
        counts = list(per_node.values())
        max_min = (max(counts) / min(counts)) if counts and min(counts) > 0 else None
        return {"perNode": per_node, "placed": placed, "maxMinRatio": max_min}

    # -- clean-up ---------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Best effort: nothing this run created may be left behind, whatever happened."""
        for target in self.targets:
            if target.api and target.server and target.server.running:
                with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                    list(pool.map(lambda i, t=target: self.berth_delete(t, i, wait=False), list(target.created)))
            if target.server:
                target.server.stop()
        leftovers = self.remove_swarm_services()
        if leftovers:
            log(f"removed {leftovers} leftover swarm service(s)")
        removed = remove_namespace(self.local.namespace)
        if removed:
            log(f"removed {removed} leftover local container(s) (namespace {self.local.namespace})")

    def remove_swarm_services(self) -> int:
        names = []
        for label in (f"berth.namespace={self.swarm.namespace}", self.cli_label):
            try:
                names += [s["Spec"]["Name"] for s in self.manager.services(label)]
            except (EngineError, OSError) as error:
                log(f"warning: could not list services labelled {label}: {error}")
        try:
            names += [s["Spec"]["Name"] for s in self.manager.get("/services") if s["Spec"]["Name"].startswith(self.cli_prefix)]
        except (EngineError, OSError):
            pass
        names = sorted(set(names))
        if names:
            subprocess.run(["docker", "-H", self.manager_url, "service", "rm", *names], capture_output=True)
        return len(names)


def environment_settings(text: str) -> dict:
    """The settings of a challenge.yml the CLI baseline repeats, read with regular expressions
    (the benchmarks use the standard library only): resources, capabilities, command, ports,
    read-only root and writable paths, from the flow-style lines web-service uses."""

    def flow_list(key: str) -> list[str]:
        match = re.search(rf"(?m)^\s+{key}:\s*\[(.*)\]\s*$", text)
        if not match:
            return []
        return [item.strip().strip("\"'") for item in match.group(1).split(",") if item.strip()]

    def resource(key: str, default: str) -> str:
        match = re.search(rf"resources:\s*\{{[^}}]*\b{key}:\s*([0-9.]+[a-zA-Z]*)", text)
        return match.group(1) if match else default

    ports = [int(p) for p in re.findall(r"\{\s*port:\s*([0-9]+)", text)]
    read_only = re.search(r"(?m)^\s+readOnlyRoot:\s*true\s*$", text) is not None
    return {
        "cpus": resource("cpus", "1"), "memory": resource("memory", "256m"), "pids": resource("pids", "256"),
        "capabilities": flow_list("capabilities"), "command": flow_list("command"), "ports": ports,
        "readOnlyRoot": read_only, "writable": flow_list("writable") if read_only else [],
    }


def render(results: dict) -> str:
    def row(name: str, summary: dict, failures: int) -> str:
        if not summary.get("count"):
            return f"  {name:<52} {0:>5} {failures:>5}        -        -        -        -"
        return (f"  {name:<52} {summary['count']:>5} {failures:>5} {summary['p50']:>8.1f} {summary['p90']:>8.1f}"
                f" {summary['min']:>8.1f} {summary['max']:>8.1f}")

    def ratio_text(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "n/a"

    seq = results["sequential"]
    names = {
        "berth-swarm": "berth on the swarm: POST → running",
        "cli-converged": "docker service create --detach=false (CLI)",
        "cli-running": "docker service create -d → task running (CLI)",
        "berth-local": "berth on the local engine: POST → running",
    }
    lines = [
        "",
        f"Instance start on a {results['nodes']} node swarm: {results['environment']} ({results['image']}),"
        f" {results['runs']} sequential runs, interleaved",
        f"  {'':<52} {'runs':>5} {'fail':>5} {'p50 ms':>8} {'p90 ms':>8} {'min ms':>8} {'max ms':>8}",
    ]
    for kind, name in names.items():
        lines.append(row(name, seq[kind]["summary"], len(seq[kind]["failures"])))
    lines.append("Ratios (p50, p90):")
    for name, key in (("berth swarm / CLI task running", "berthSwarm_cliRunning"), ("berth swarm / CLI --detach=false", "berthSwarm_cliConverged"),
                      ("berth swarm / berth local", "swarm_local"), ("CLI task running / berth local", "cliRunning_berthLocal")):
        pair = results["ratios"][key]
        lines.append(f"  {name:<36} {ratio_text(pair['p50']):>6}, {ratio_text(pair['p90']):>6}")
    burst = results.get("burst")
    if burst:
        latency = burst["latency"]
        codes = ", ".join(f"{code} {n}" for code, n in sorted(burst["failuresByCode"].items())) or "none"
        lines.append(f"Burst on the swarm: {burst['count']} concurrent starts of {burst['environment']}"
                     f" ({burst['capacity']['burstCpus']:g} CPU each; the nodes had room for {burst['capacity']['fits']})")
        lines.append(f"  failures {burst['failures']} (by code: {codes}), wall {burst['wall_ms']:.0f} ms"
                     + (f", POST → running p50 {latency['p50']:.0f} ms, p90 {latency['p90']:.0f} ms, max {latency['max']:.0f} ms"
                        if latency.get("count") else ""))
        spread = burst["spread"]
        per_node = ", ".join(f"{host} {n}" for host, n in sorted(spread["perNode"].items()))
        lines.append(f"  spread over the nodes: {per_node}; max/min {ratio_text(spread['maxMinRatio'])}")
        lines.append(f"  stopping all {spread['placed']}: {burst['stopAll_ms']:.0f} ms")
    cli = results.get("cliBurst")
    if cli:
        latency = cli["latency"]
        spread = cli["spread"]
        per_node = ", ".join(f"{host} {n}" for host, n in sorted(spread["perNode"].items()))
        lines.append(f"Burst baseline: {cli['count']} concurrent docker service create -d → task running (CLI), same image and resources")
        lines.append(f"  failures {cli['failures']}, wall {cli['wall_ms']:.0f} ms"
                     + (f", p50 {latency['p50']:.0f} ms, p90 {latency['p90']:.0f} ms, max {latency['max']:.0f} ms" if latency.get("count") else ""))
        lines.append(f"  spread over the nodes: {per_node}; max/min {ratio_text(spread['maxMinRatio'])}")
        if burst and burst.get("wall_ms") and cli.get("wall_ms"):
            lines.append(f"  burst wall ratio berth/CLI: {burst['wall_ms'] / cli['wall_ms']:.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--harness-env", default=DEFAULT_HARNESS_ENV, help=f"the harness's env file (default {DEFAULT_HARNESS_ENV})")
    parser.add_argument("-n", "--runs", type=int, default=20, help="sequential starts of each kind (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds first (default 1)")
    parser.add_argument("--burst", type=int, default=50, help="concurrent starts in the burst, one player each (default 50; 0 skips it)")
    parser.add_argument("--no-cli-burst", action="store_true", help="skip the burst's CLI baseline")
    parser.add_argument("--burst-cpus", type=float, default=0.1, help="CPU reservation (= limit) of swarm-burst (default 0.1)")
    parser.add_argument("--environment", default="web-service", help="environment to start, with a port (default web-service)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one start may take (default 120)")
    add_bench_arguments(parser, "swarm-start.json")
    args = parser.parse_args()

    if berth_missing(args.berth):
        return 1
    if shutil.which("docker") is None:
        print("bench: error: the docker CLI is needed for the baseline; run scripts/ensure-docker.sh", file=sys.stderr)
        return 1
    if not Path(args.harness_env).is_file():
        print(f"bench: error: no swarm harness: {args.harness_env} is missing; start one with `make swarm-harness-up` (as root)",
              file=sys.stderr)
        return 1
    harness = read_harness_env(args.harness_env)
    for name in ("BERTH_SWARM_MANAGER", "BERTH_SWARM_TLS_DIR"):
        if not harness.get(name):
            print(f"bench: error: {args.harness_env} does not set {name}", file=sys.stderr)
            return 1
    if args.burst_cpus <= 0:
        print("bench: error: --burst-cpus must be above 0", file=sys.stderr)
        return 1

    if args.no_env_build:
        log("--no-env-build is ignored: the build (cached) gives the content tag and image id every node must hold")
    bench = Benchmark(args, harness)
    try:
        nodes = bench.check_nodes("at the start")
    except (EngineError, OSError) as error:
        print(f"bench: error: the harness's manager ({bench.manager_url}) does not answer: {error}", file=sys.stderr)
        shutil.rmtree(bench.work, ignore_errors=True)
        return 1
    if sum(1 for n in nodes if n["state"] == "ready") < 3:
        print("bench: error: the harness does not have 3 ready nodes", file=sys.stderr)
        return 1
    started_at = datetime.datetime.now(datetime.timezone.utc)
    burst = None
    cli_burst = None
    try:
        bench.prepare_environments()
        bench.load_image_into_nodes()
        bench.start_servers()
        sequential = bench.sequential()
        if args.burst > 0:
            bench.create_burst_users()
            burst = bench.burst()
            if not args.no_cli_burst:
                cli_burst = bench.cli_burst()
        nodes_after = bench.check_nodes("at the end")
    except (EngineError, OSError) as error:
        print(f"bench: error: the swarm's manager stopped answering ({error}); was the harness torn down during the run?", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()
        for target in bench.targets:
            if target.log_path and target.log_path.exists():
                saved = Path(args.output).parent / f"swarm-start-server-{target.name}.log"
                saved.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(target.log_path, saved)
        shutil.rmtree(bench.work, ignore_errors=True)

    summaries = {kind: summarize(samples) for kind, samples in sequential["samples_ms"].items()}
    # The same nodes, ready, from start to end: a harness rebuilt or a node stopped during the run
    # (by a test sharing it) makes the figures meaningless.
    stable = ({n["id"] for n in nodes} == {n["id"] for n in nodes_after}
              and all(n["state"] == "ready" for n in nodes_after))

    def pair(a: str, b: str) -> dict:
        return {"p50": ratio(summaries[a], summaries[b], "p50"), "p90": ratio(summaries[a], summaries[b], "p90")}

    results = {
        "benchmark": "swarm-start",
        "startedAt": started_at.isoformat(),
        "command": " ".join([sys.argv[0], *sys.argv[1:]]),
        "machine": {
            "cores": os.cpu_count(), "kernel": platform.release(),
            "dockerServer": command_output(["docker", "-H", bench.manager_url, "version", "-f", "{{.Server.Version}}"]),
            "dockerClient": command_output(["docker", "version", "-f", "{{.Client.Version}}"]),
        },
        "berthBinary": os.path.abspath(args.berth),
        "gitCommit": command_output(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "nodes": len(nodes), "nodesAtStart": nodes, "nodesAtEnd": nodes_after, "harnessStable": stable,
        "environment": args.environment, "image": bench.image_reference, "imageId": bench.image_id,
        "runs": args.runs, "warmup": args.warmup,
        "cliCommand": " ".join(shlex.quote(part) for part in bench.cli_command(f"{bench.cli_prefix}N", detach=True)),
        "sequential": {kind: {"summary": summaries[kind], "samples_ms": sequential["samples_ms"][kind],
                              "failures": sequential["failures"][kind]} for kind in summaries},
        "ratios": {
            "berthSwarm_cliRunning": pair("berth-swarm", "cli-running"),
            "berthSwarm_cliConverged": pair("berth-swarm", "cli-converged"),
            "swarm_local": pair("berth-swarm", "berth-local"),
            "cliRunning_berthLocal": pair("cli-running", "berth-local"),
        },
        "burst": burst,
        "cliBurst": cli_burst,
        "namespaces": {target.name: target.namespace for target in bench.targets},
    }
    print(render(results))
    write_results(results, args.output)
    if not stable:
        print("bench: error: the swarm's nodes changed or went down during the run; the figures are not comparable", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
