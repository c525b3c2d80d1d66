"""`berth serve` as a child process, standard library only: shared by the benchmarks in bench/
and the browser tests in tests/browser/, next to the API client in berth_api.py. ReplicaSet runs
several replicas on one PostgreSQL database behind nginx (NginxBalancer), for the replica test in
tests/replicas/ and bench/api-throughput.py --replicas 2."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from berth_api import APIError, BerthAPI, free_port

# Seconds between two GET /readyz while the server starts.
READY_POLL_INTERVAL = 0.1

REPO = Path(__file__).resolve().parent.parent


def default_berth() -> str:
    """The release binary when it is built, else the debug one (the benchmarks' default)."""
    for config in ("release", "debug"):
        candidate = REPO / ".build" / config / "berth"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return str(REPO / ".build" / "release" / "berth")


def add_bench_arguments(parser: argparse.ArgumentParser, results_file: str) -> None:
    """The options every benchmark takes: the binary, the environments, the server's start-up
    time, where the results go, and whether to build the images first."""
    parser.add_argument("--berth", default=default_berth(), help="berth binary (default: .build/release/berth, else .build/debug/berth)")
    parser.add_argument("--environments", default=str(REPO / "examples" / "environments"), help="environments folder")
    parser.add_argument("--ready-timeout", type=float, default=60, help="seconds the server may take to be ready")
    parser.add_argument("--output", default=str(REPO / "bench-results" / results_file), help="JSON results file")
    parser.add_argument("--no-env-build", action="store_true", help="skip `berth env build` (images already built)")


def command_output(command: list[str]) -> str | None:
    """What `command` printed, trimmed, or None when it failed or took over 20 s."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def write_results(results: dict, output: str) -> None:
    """Writes a benchmark's results as JSON to `output` (creating its folder) and says where."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nResults written to {path}")


def add_postgres_argument(parser: argparse.ArgumentParser, make_target: str) -> None:
    """--postgres-url: the PostgreSQL server a benchmark also runs Berth on, in a schema of its own."""
    parser.add_argument("--postgres-url", default=os.environ.get("BERTH_BENCH_POSTGRES_URL"),
                        help="a PostgreSQL server (postgres://user@host:port/database) to run Berth on too, in a schema of its own "
                             f"(default $BERTH_BENCH_POSTGRES_URL; `make {make_target}` starts one with scripts/ensure-postgres.sh)")



def wait_ready(url: str, process: subprocess.Popen, timeout: float, request_timeout: float) -> bool:
    """Polls `url`/readyz until it answers 200 (True), the process exits or `timeout` passes (False)."""
    api = BerthAPI(url, timeout=request_timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if api.call("GET", "/readyz")[0] == 200:
                return True
        except (APIError, OSError):
            pass
        time.sleep(READY_POLL_INTERVAL)
    return False

class PostgresSchema:
    """A schema of its own on a PostgreSQL server for one benchmark run: `url` is what
    BERTH_DATABASE_URL gets (the server's URL with search_path), `create()` makes it with psql
    and `drop()` removes it, only warning when it cannot."""

    def __init__(self, server_url: str, prefix: str, program: str):
        self.server_url = server_url
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        separator = "&" if "?" in server_url else "?"
        self.url = f"{server_url}{separator}search_path={self.name}"
        self.program = program

    def psql(self, statement: str) -> None:
        result = subprocess.run(["psql", self.server_url, "-v", "ON_ERROR_STOP=1", "-qc", statement], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{self.program}: psql failed ({statement}): {result.stderr.strip()}")

    def create(self) -> None:
        self.psql(f"CREATE SCHEMA {self.name}")

    def drop(self) -> None:
        try:
            self.psql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        except SystemExit as error:
            print(f"{self.program}: warning: {error}", flush=True)


def berth_missing(berth: str) -> bool:
    """True (after saying so on stderr) when `berth` is not an executable file."""
    if os.path.isfile(berth) and os.access(berth, os.X_OK):
        return False
    print(f"bench: error: no berth binary at {berth}; build it with `swift build -c release --product berth`"
          " or pass --berth PATH", file=sys.stderr)
    return True


class ServerNotReady(Exception):
    """`berth serve` exited, or did not answer GET /readyz with 200 in time; `returncode` is its
    exit status when it exited, else None."""

    def __init__(self, returncode: int | None, ready_timeout: float):
        reason = f"exited with status {returncode}" if returncode is not None else f"not ready after {ready_timeout}s"
        super().__init__(f"berth serve {reason}")
        self.returncode = returncode


class BerthServer:
    """One `berth serve` on a free loopback port, in a process session of its own (so that
    stopping it stops its children too), its output going to `log_path`. `command` and `url`
    are known before `start()`, so a caller can say what it starts."""

    def __init__(self, berth: str, data_dir: str | Path, environments: str | Path, namespace: str,
                 admin_token: str, log_path: str | Path, extra_env: dict[str, str] | None = None,
                 cwd: str | Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.command = [
            str(berth), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--data-dir", str(data_dir), "--environments", str(environments),
        ]
        self.environment = {
            **os.environ, "BERTH_ADMIN_TOKEN": admin_token, "BERTH_NAMESPACE": namespace, **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id once started (it leads its own process group)."""
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        """Whether the server was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def start(self, ready_timeout: float) -> None:
        """Starts the server and waits until GET /readyz answers 200; raises ServerNotReady when
        the process exits first or `ready_timeout` seconds pass (the process is left to stop())."""
        with open(self.log_path, "wb") as server_log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.environment, stdin=subprocess.DEVNULL, stdout=server_log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        if wait_ready(self.url, self.process, ready_timeout, request_timeout=ready_timeout):
            return
        raise ServerNotReady(self.process.poll(), ready_timeout)

    def start_or_exit(self, ready_timeout: float, program: str, tail_lines: int = 40) -> None:
        """start(), for a script that cannot go on without the server, saying `PROGRAM: starting:
        <command>` and `PROGRAM: server ready on port N`: when it is not ready, prints the log's
        tail and `PROGRAM: error: ...` to stderr and exits with status 2."""
        print(f"{program}: starting: " + " ".join(self.command), flush=True)
        try:
            self.start(ready_timeout)
        except ServerNotReady as error:
            self.print_log_tail(tail_lines, f"{program}: last lines of the server log:")
            print(f"{program}: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        print(f"{program}: server ready on port {self.port}", flush=True)

    def log_tail(self, lines: int) -> list[str]:
        """The last `lines` lines of the server's log (none before it starts)."""
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()[-lines:]

    def print_log_tail(self, lines: int, heading: str) -> None:
        """Prints `heading` (its {count} and {path} filled in) and the log's last `lines` lines,
        indented, to stderr; nothing when there is no log yet."""
        if not self.log_path.exists():
            return
        tail = self.log_tail(lines)
        print(heading.format(count=len(tail), path=self.log_path), file=sys.stderr)
        for line in tail:
            print("  " + line, file=sys.stderr)

    def stop(self, grace: float = 15, kill_wait: float = 5) -> None:
        """SIGTERM to the server's process group, SIGKILL after `grace` seconds; nothing if it
        is not running."""
        if not self.running:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=kill_wait)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the server's process group at once (`kill -9`: no shutdown, no clean-up), and
        waits for it to be gone; nothing if it is not running."""
        if not self.running:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


# nginx in front of several replicas. POSTs are never retried on another replica (nginx's
# `proxy_next_upstream` leaves out non-idempotent requests unless told `non_idempotent`): a POST
# whose replica died answers 502, it is never started twice. Idempotent requests move on to the
# next replica on a connection error or timeout, and a replica that failed once is skipped for
# `fail_timeout`. `Connection` is emptied (not `close`) for plain requests so upstream
# connections are kept alive; the WebSocket upgrade headers are the ones docs/reverse-proxy.md
# shows. The access log names the replica (`$upstream_addr`) that answered each request.
NGINX_UPSTREAM_CONF = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format replicas '$upstream_addr $request_method $uri $status';
    access_log {prefix}/access.log replicas;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
    upstream berth {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{listen};
        location / {{
            proxy_pass http://berth;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


class NginxBalancer:
    """Debian's nginx as a load balancer on a free loopback port, round robin over `upstream_ports`,
    run as the current user in the foreground with its configuration, pid file, logs and
    temporary folders under `prefix`."""

    def __init__(self, prefix: Path, upstream_ports: list[int]):
        self.prefix = Path(prefix)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def start(self, timeout: float = 15) -> None:
        """Writes the configuration, starts nginx and waits until it answers; RuntimeError with its
        error log when it exits or does not answer in `timeout` seconds."""
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is missing (scripts/ensure-apt-packages.sh nginx)")
        self.prefix.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;" for port in self.upstream_ports)
        config = self.prefix / "nginx.conf"
        config.write_text(NGINX_UPSTREAM_CONF.format(prefix=self.prefix, listen=self.port, servers=servers))
        self.process = subprocess.Popen(["nginx", "-p", str(self.prefix), "-c", str(config)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        if wait_ready(self.url, self.process, timeout, request_timeout=5):
            return
        error_log = self.prefix / "error.log"
        detail = error_log.read_text(errors="replace")[-2000:] if error_log.exists() else ""
        self.stop()
        raise RuntimeError(f"nginx did not answer on port {self.port}: {detail.strip() or 'no error log'}")

    def answered_by(self, method: str, path: str) -> dict[str, int]:
        """How many `method path` requests each replica answered ("127.0.0.1:PORT" → count), from
        the access log; a request retried on another replica counts for the one that answered."""
        counts: dict[str, int] = {}
        if not self.access_log.exists():
            return counts
        for line in self.access_log.read_text(errors="replace").splitlines():
            parts = line.split(" ")
            if len(parts) >= 4 and parts[-3] == method and parts[-2] == path:
                upstream = parts[0].split(",")[-1].strip()
                counts[upstream] = counts.get(upstream, 0) + 1
        return counts

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class ReplicaSet:
    """`count` replicas of `berth serve` on one PostgreSQL database (`database_url`) and one engine
    namespace, behind an NginxBalancer: what a deployment of several replicas looks like, on one
    machine. Each replica has a data directory of its own (as on separate hosts: its recordings,
    workspaces and server-id stay its own), and the data directory's keys (`keys/`: the recording
    signing key and the flag secret) are copied from the first replica, once it has made them, to
    the others before they start, as the README says an operator does. Each replica's
    BERTH_INTERNAL_URL is its own loopback URL; BERTH_ALLOWED_ORIGINS holds the balancer's origin
    and each replica's, so a terminal may be opened through either. `url` is the balancer's."""

    def __init__(self, berth: str, environments: str | Path, namespace: str, admin_token: str, database_url: str,
                 work_dir: Path, count: int = 2, extra_env: dict[str, str] | None = None):
        self.work_dir = Path(work_dir)
        self.servers: list[BerthServer] = []
        self.data_dirs: list[Path] = []
        for index in range(count):
            data_dir = self.work_dir / f"replica-{index}"
            data_dir.mkdir(parents=True, exist_ok=True)
            self.data_dirs.append(data_dir)
            server = BerthServer(berth, data_dir, environments, namespace, admin_token, self.work_dir / f"replica-{index}.log",
                                 extra_env={**(extra_env or {}), "BERTH_DATABASE_URL": database_url})
            server.environment["BERTH_INTERNAL_URL"] = server.url
            self.servers.append(server)
        self.balancer = NginxBalancer(self.work_dir / "nginx", [server.port for server in self.servers])
        self.url = self.balancer.url
        origins = [self.url, *(server.url for server in self.servers)]
        for server in self.servers:
            given = server.environment.get("BERTH_ALLOWED_ORIGINS")
            server.environment["BERTH_ALLOWED_ORIGINS"] = ",".join(([given] if given else []) + origins)

    def start(self, ready_timeout: float, program: str) -> None:
        """Starts the first replica, shares its keys, starts the others one by one, then nginx.
        Raises ServerNotReady (after printing that replica's log tail) when a replica does not
        become ready, RuntimeError when nginx does not start."""
        for index, server in enumerate(self.servers):
            if index > 0:
                self.share_keys(self.data_dirs[0], self.data_dirs[index])
            print(f"{program}: starting replica {index}: " + " ".join(server.command), flush=True)
            try:
                server.start(ready_timeout)
            except ServerNotReady:
                server.print_log_tail(40, f"{program}: last lines of replica {index}'s log ({{path}}):")
                raise
            print(f"{program}: replica {index} ready on port {server.port}", flush=True)
        self.balancer.start()
        print(f"{program}: nginx on port {self.balancer.port} in front of ports "
              + ", ".join(str(server.port) for server in self.servers), flush=True)

    @staticmethod
    def share_keys(source: Path, target: Path) -> None:
        """Copies `source/keys/` (files 0600, folder 0700) to `target/keys/`."""
        keys = target / "keys"
        keys.mkdir(mode=0o700, exist_ok=True)
        for key in sorted((source / "keys").iterdir()):
            if key.is_file():
                shutil.copy2(key, keys / key.name)
                os.chmod(keys / key.name, 0o600)

    def stop(self) -> None:
        """Stops nginx, then every replica still running."""
        self.balancer.stop()
        for server in self.servers:
            server.stop()


def remove_containers(label: str) -> int:
    """Force-removes, with the docker CLI, every container labelled `label` ("key" or
    "key=value"); how many there were (0 without a docker CLI)."""
    if shutil.which("docker") is None:
        return 0
    listed = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True)
    containers = listed.stdout.split()
    if containers:
        subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
    return len(containers)


def remove_namespace(namespace: str) -> int:
    """Removes the containers, then the networks, a Berth server with BERTH_NAMESPACE=`namespace`
    left behind (labelled berth.namespace=`namespace`); how many containers there were."""
    label = f"berth.namespace={namespace}"
    removed = remove_containers(label)
    if shutil.which("docker") is not None:
        listed = subprocess.run(["docker", "network", "ls", "-q", "--filter", f"label={label}"], capture_output=True, text=True)
        networks = listed.stdout.split()
        if networks:
            subprocess.run(["docker", "network", "rm", *networks], capture_output=True)
    return removed
