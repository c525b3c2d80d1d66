#!/usr/bin/env python3
"""API throughput benchmark: requests/s and latency of GET and POST /api/v1/instances, driven by
wrk, on one Berth server on SQLite and one on PostgreSQL, and with --replicas 2 one and two
replicas on PostgreSQL behind nginx, in one run.

What it does, per store (SQLite always; PostgreSQL with --postgres-url; with --replicas 2 also
"postgres-nginx-1", one replica on PostgreSQL behind nginx, and "postgres-nginx-2", two replicas
on one PostgreSQL database behind nginx, round robin; each PostgreSQL store in a schema of its
own, dropped at the end, through BERTH_DATABASE_URL):

1. starts one `berth serve` on a free loopback port with a temporary data directory, a namespace
   of its own and the caps BERTH_ASSIGNMENT=unlimited, BERTH_OWNER_CAP=1, BERTH_GLOBAL_CAP=N (the
   nginx stores: that many replicas and nginx in front, started by bench/berth_server.py's
   ReplicaSet as the replica test starts them; the load goes to nginx);
2. creates N users (50 by default) and an API token for each through the admin API;
3. GET /api/v1/instances: wrk, 2 threads, C connections (16), a 2 s warm-up run, then D seconds
   (10); a Lua script sends `Authorization: Bearer <token>` rotating over the users' tokens;
4. starts one real `linux-basics` instance per user and waits until each is running, so every
   owner is at its cap (and the server at its global cap);
5. POST /api/v1/instances {"environment":"linux-basics"} the same way. This measures the
   admission path, not container starts: every POST goes through authentication, the catalog and
   the caps check-and-claim transaction, and is answered 429 owner_cap_reached. The Lua script
   tallies the statuses; any other answer (a 201, a 5xx, another 4xx) is a failure;
6. deletes the instances and stops the server.

Then it prints a table (store, endpoint, requests/s, p50, p90, p99, errors), the
PostgreSQL/SQLite ratios and the two-replicas/one-replica ratios (both behind nginx, so the
ratio is the second replica's effect alone), with how many requests each replica answered (from
nginx's access log), and writes bench-results/api-throughput.json. The stores run one after the
other, never at once.

Only the Python standard library, wrk and (for --replicas 2) nginx, Debian's packages, are used.
Exit status: 2 when a server did not start (the stores that did are still measured and
printed), 1 when the benchmark could not be set up, 0 otherwise (failed requests are reported,
not fatal).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from berth_api import APIError, BerthAPI, instance_of, wait_until_running
from berth_server import (BerthServer, PostgresSchema, ReplicaSet, ServerNotReady, add_bench_arguments, add_postgres_argument, berth_missing,
                          command_output, remove_namespace, write_results)

REPO = Path(__file__).resolve().parent.parent

ENVIRONMENT = "linux-basics"
WRK_THREADS = 2
WARMUP_SECONDS = 2
# wrk's own timeout per request: generous, so a slow answer on a loaded machine is a latency,
# not a lost request.
WRK_TIMEOUT = "10s"
RESULT_MARKER = "BERTH_WRK_RESULT "
ACTIVE_STATES = {"requested", "starting", "running", "stopping"}

# The wrk script. Placeholders: @TOKENS@ (a Lua list of strings), @METHOD@, @BODY@ (a Lua string
# or nil), @EXPECTED_CODE@ (the error code an expected 429 names, or "").
LUA_TEMPLATE = r"""
local tokens = @TOKENS@
local method = "@METHOD@"
local body = @BODY@
local expected_code = "@EXPECTED_CODE@"
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  counter = offset or 0
  statuses = {}
  expected_codes = 0
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
  if body then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, "/api/v1/instances", headers, body)
end

function response(status, headers, response_body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 429 and expected_code ~= "" and response_body and string.find(response_body, '"' .. expected_code .. '"', 1, true) then
    expected_codes = expected_codes + 1
  end
end

function done(summary, latency, requests)
  local merged = {}
  local coded = 0
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    if counts then
      for status, count in pairs(counts) do
        merged[status] = (merged[status] or 0) + count
      end
    end
    coded = coded + (thread:get("expected_codes") or 0)
  end
  local parts = {}
  for status, count in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    '@MARKER@{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_ms": {"p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f, "mean": %.3f}, ' ..
    '"statuses": {%s}, "expected_code_count": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    table.concat(parts, ", "), coded))
end
"""


def log(message: str) -> None:
    print(f"bench-api: {message}", flush=True)


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII is a valid Lua string literal


def wrk_script(tokens: list[str], method: str, body: str | None, expected_code: str) -> str:
    return (LUA_TEMPLATE
            .replace("@TOKENS@", "{" + ", ".join(lua_string(token) for token in tokens) + "}")
            .replace("@METHOD@", method)
            .replace("@BODY@", lua_string(body) if body is not None else "nil")
            .replace("@EXPECTED_CODE@", expected_code)
            .replace("@MARKER@", RESULT_MARKER))


def parse_wrk(output: str) -> dict:
    """The JSON line the Lua done() printed, plus wrk's own Requests/sec line as a cross-check."""
    result = None
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER):])
    if result is None:
        raise RuntimeError("wrk printed no result line:\n" + output[-2000:])
    match = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    result["wrk_requests_per_second"] = float(match.group(1)) if match else None
    result["requests_per_second"] = result["requests"] / (result["duration_us"] / 1e6) if result["duration_us"] else 0.0
    return result


class Store:
    """One store under test: its database (a PostgreSQL schema of its own, or SQLite), its servers
    (one, or `replicas` behind nginx when `balanced`), the URL the load goes to (nginx's when
    balanced), and the users it made."""

    def __init__(self, name: str, schema: PostgresSchema | None, replicas: int = 1, balanced: bool = False):
        self.name = name
        self.schema = schema
        self.database_url = schema.url if schema else None
        self.replicas = replicas
        self.balanced = balanced
        self.namespace = f"bench-api-{secrets.token_hex(4)}"
        self.cluster: ReplicaSet | None = None
        self.servers: list[BerthServer] = []
        self.data_dirs: list[Path] = []
        self.url: str | None = None
        self.api: BerthAPI | None = None
        self.users: list[dict] = []  # {"id", "token"}
        self.instances: dict[str, str] = {}  # instance id → owner's token


class Benchmark:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.admin_token = secrets.token_hex(16)
        self.stores = [Store("sqlite", None)]
        if args.postgres_url:
            self.stores.append(Store("postgres", self.new_schema()))
            if args.replicas > 1:
                self.stores.append(Store("postgres-nginx-1", self.new_schema(), replicas=1, balanced=True))
                self.stores.append(Store(f"postgres-nginx-{args.replicas}", self.new_schema(), replicas=args.replicas, balanced=True))
        self.work_dir = Path(tempfile.mkdtemp(prefix="berth-bench-api-"))

    def new_schema(self) -> PostgresSchema:
        return PostgresSchema(self.args.postgres_url, "bench_api", "bench-api")

    def build_images(self) -> None:
        command = [self.args.berth, "env", "build", "--environments", self.args.environments]
        log("building environment images: " + " ".join(command))
        if subprocess.run(command).returncode != 0:
            raise SystemExit(f"bench-api: `{' '.join(command)}` failed")

    # -- servers and users ---------------------------------------------------------------

    def start(self, store: Store) -> None:
        """Starts the store's server, or its replicas and nginx; raises ServerNotReady (after
        printing the log's tail) or RuntimeError (nginx) when they do not start."""
        if store.schema:
            store.schema.create()
        data_dir = Path(tempfile.mkdtemp(prefix=f"berth-bench-api-{store.name}-"))
        store.data_dirs.append(data_dir)
        extra = {
            "BERTH_ASSIGNMENT": "unlimited", "BERTH_OWNER_CAP": "1", "BERTH_GLOBAL_CAP": str(self.args.users),
        }
        if store.balanced and store.database_url:
            store.cluster = ReplicaSet(self.args.berth, self.args.environments, store.namespace, self.admin_token,
                                       store.database_url, data_dir, count=store.replicas, extra_env=extra)
            store.servers = store.cluster.servers
            store.cluster.start(self.args.ready_timeout, f"bench-api ({store.name})")
            store.url = store.cluster.url
            store.api = BerthAPI(store.url, timeout=60)
            return
        if store.database_url:
            extra["BERTH_DATABASE_URL"] = store.database_url
        server = BerthServer(self.args.berth, data_dir, self.args.environments, store.namespace, self.admin_token,
                             data_dir / "server.log", extra_env=extra)
        store.servers.append(server)
        server.start_or_exit(self.args.ready_timeout, f"bench-api ({store.name})")
        store.url = server.url
        store.api = BerthAPI(store.url, timeout=60)

    def create_users(self, store: Store) -> None:
        assert store.api
        api = store.api

        def one(index: int) -> dict:
            _, user = api.call("POST", "/api/v1/users", self.admin_token, {"name": f"bench-{index:03d}"})
            _, token = api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "bench"})
            return {"id": user["id"], "token": token["token"]}

        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
                store.users = list(pool.map(one, range(self.args.users)))
        except (APIError, OSError, KeyError, TypeError) as error:
            raise SystemExit(f"bench-api: could not create the users on {store.name}: {error}")
        log(f"{store.name}: {len(store.users)} users and their tokens created")

    def fill_caps(self, store: Store) -> None:
        """One running linux-basics instance per user: every owner is at BERTH_OWNER_CAP=1."""
        assert store.api
        api = store.api

        def one(user: dict) -> None:
            _, payload = api.call("POST", "/api/v1/instances", user["token"], {"environment": ENVIRONMENT})
            instance = instance_of(payload)
            store.instances[instance["id"]] = user["token"]
            wait_until_running(api, user["token"], instance, 120)

        started = time.monotonic()
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(one, store.users))
        except (APIError, RuntimeError, OSError, KeyError, TypeError) as error:
            raise SystemExit(f"bench-api: could not start one instance per user on {store.name}: {error}")
        log(f"{store.name}: {len(store.instances)} instances running, one per user ({time.monotonic() - started:.1f} s)")

    def delete_instances(self, store: Store) -> None:
        """Deletes every active instance of the store's users (the ones it started, and any a
        POST let through), best effort."""
        if not store.api or not any(server.running for server in store.servers):
            return
        api = store.api
        targets = dict(store.instances)
        for user in store.users:
            try:
                _, payload = api.call("GET", "/api/v1/instances", user["token"])
            except (APIError, OSError):
                continue
            listed = payload.get("instances", payload.get("items", [])) if isinstance(payload, dict) else payload
            for instance in listed or []:
                if isinstance(instance, dict) and instance.get("state") in ACTIVE_STATES and "id" in instance:
                    targets[instance["id"]] = user["token"]

        def one(item: tuple[str, str]) -> None:
            try:
                api.call("DELETE", f"/api/v1/instances/{item[0]}", item[1])
            except (APIError, OSError) as error:
                if not isinstance(error, APIError) or error.status != 404:
                    log(f"warning: DELETE {item[0]} on {store.name}: {error}")

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, targets.items()))
        store.instances.clear()
        if targets:
            log(f"{store.name}: {len(targets)} instances deleted")

    # -- load ----------------------------------------------------------------------------

    def run_wrk(self, store: Store, endpoint: str, method: str, body: str | None, expected_code: str) -> dict:
        assert store.url
        script = self.work_dir / f"{store.name}-{method.lower()}.lua"
        script.write_text(wrk_script([user["token"] for user in store.users], method, body, expected_code))
        base = ["wrk", "-t", str(WRK_THREADS), "-c", str(self.args.connections), "--timeout", WRK_TIMEOUT,
                "--latency", "-s", str(script)]
        subprocess.run([*base, "-d", f"{WARMUP_SECONDS}s", store.url + "/api/v1/instances"], capture_output=True, text=True)
        command = [*base, "-d", f"{self.args.duration}s", store.url + "/api/v1/instances"]
        log(f"{store.name}: {endpoint}: " + " ".join(command))
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"wrk failed with status {result.returncode}: {result.stderr.strip()}")
        parsed = parse_wrk(result.stdout)
        parsed["wrk_output"] = result.stdout
        if store.cluster:
            # Counted over the warm-up and the run, for the split between replicas.
            parsed["answered_by_replica"] = store.cluster.balancer.answered_by(method, "/api/v1/instances")
        return parsed

    @staticmethod
    def unaccounted(run: dict) -> int:
        """Requests wrk completed that the Lua tally did not see (0 unless the tally is broken):
        counted as errors, so a broken tally cannot hide failures."""
        run["unaccounted"] = max(0, run["requests"] - sum(run["statuses"].values()))
        return run["unaccounted"]

    def measure(self, store: Store) -> dict:
        results = {}
        get = self.run_wrk(store, "GET", "GET", None, "")
        statuses = get["statuses"]
        get["failures"] = sum(count for status, count in statuses.items() if status != "200") + \
            sum(count for kind, count in get["errors"].items() if kind != "status") + self.unaccounted(get)
        results["GET /api/v1/instances"] = get

        self.fill_caps(store)
        post = self.run_wrk(store, "POST", "POST", json.dumps({"environment": ENVIRONMENT}), "owner_cap_reached")
        statuses = post["statuses"]
        # Every answer must be 429 owner_cap_reached (the contract's answer to a cap, E429): any
        # other status, a 429 naming another code, a socket error or a timeout is a failure.
        post["failures"] = sum(count for status, count in statuses.items() if status != "429") + \
            (statuses.get("429", 0) - post["expected_code_count"]) + \
            sum(count for kind, count in post["errors"].items() if kind != "status") + self.unaccounted(post)
        post["server_errors"] = sum(count for status, count in statuses.items() if status.startswith("5"))
        results["POST /api/v1/instances (refused at the owner cap)"] = post
        return results

    def cleanup(self, store: Store) -> None:
        try:
            self.delete_instances(store)
        except Exception as error:  # cleanup goes on whatever happened
            log(f"warning: deleting instances on {store.name}: {error}")
        if store.cluster:
            store.cluster.balancer.stop()
        for index, server in enumerate(store.servers):
            server.stop()
            suffix = f"-replica-{index}" if store.balanced else ""
            saved = Path(self.args.output).parent / f"api-throughput-server-{store.name}{suffix}.log"
            if server.log_path.exists():
                saved.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(server.log_path, saved)
        removed = remove_namespace(store.namespace)
        if removed:
            log(f"removed {removed} container(s) still in namespace {store.namespace} (deleted instances whose removal had not finished, or leftovers)")
        for data_dir in store.data_dirs:
            shutil.rmtree(data_dir, ignore_errors=True)
        if store.schema:
            store.schema.drop()


def render(results: dict) -> str:
    lines = [
        "",
        f"API throughput: wrk, {results['threads']} threads, {results['connections']} connections, "
        f"{results['duration']} s after a {WARMUP_SECONDS} s warm-up, tokens of {results['users']} users in rotation",
        f"  {'store':<16} {'endpoint':<52} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for store, endpoints in results["stores"].items():
        for endpoint, run in endpoints.items():
            latency = run["latency_ms"]
            lines.append(f"  {store:<16} {endpoint:<52} {run['requests_per_second']:>9.1f} {latency['p50']:>8.2f}"
                         f" {latency['p90']:>8.2f} {latency['p99']:>8.2f} {run['failures']:>7}")
    for store, problem in results.get("notMeasured", {}).items():
        lines.append(f"  {store:<16} not measured: {problem}")
    for endpoint, ratio in results.get("postgres_sqlite_ratios", {}).items():
        lines.append(f"  postgres/sqlite {endpoint}: requests/s {ratio['requests_per_second']:.2f}, p99 {ratio['p99']:.2f}")
    for endpoint, ratio in results.get("replica_ratios", {}).items():
        lines.append(f"  {ratio['stores']} {endpoint}: requests/s {ratio['requests_per_second']:.2f}, p99 {ratio['p99']:.2f}")
    for store, endpoints in results["stores"].items():
        for endpoint, run in endpoints.items():
            if "answered_by_replica" in run:
                split = ", ".join(f"{upstream} {count}" for upstream, count in sorted(run["answered_by_replica"].items()))
                lines.append(f"  {store} {endpoint}: answered per replica (nginx's log, set-up and warm-up included): {split or 'none'}")
    lines.append("  POST is refused at the cap on purpose: each user already has its one running instance"
                 " (BERTH_OWNER_CAP=1), so every POST goes through authentication, the catalog and the caps"
                 " check-and-claim transaction and is answered 429 owner_cap_reached; no container is started.")
    for store, endpoints in results["stores"].items():
        for endpoint, run in endpoints.items():
            statuses = ", ".join(f"{status}: {count}" for status, count in sorted(run["statuses"].items()))
            errors = ", ".join(f"{kind} {count}" for kind, count in run["errors"].items() if count and kind != "status")
            lines.append(f"  {store} {endpoint}: statuses {statuses or 'none'}" + (f"; socket errors: {errors}" if errors else ""))
    if not any(store.startswith("postgres-nginx-") for store in results["stores"]) and not results.get("notMeasured"):
        lines.append("  One server per store; --replicas 2 (and --postgres-url) adds one and two replicas behind nginx.")
    else:
        lines.append("  postgres-nginx-N: N replicas on one PostgreSQL database behind nginx (round robin, upstream keep-alive),"
                     " wrk sending to nginx on the same machine; the ratio compares two replicas with one, both behind nginx.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="users with an API token, rotated over (default 50)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--replicas", type=int, default=1, choices=(1, 2),
                        help="2: also measure one and two replicas on PostgreSQL behind nginx (needs --postgres-url and nginx)")
    add_postgres_argument(parser, "bench-api")
    add_bench_arguments(parser, "api-throughput.json")
    args = parser.parse_args()

    if berth_missing(args.berth):
        return 1
    if shutil.which("wrk") is None:
        print("bench-api: error: wrk is missing; install it with scripts/ensure-apt-packages.sh wrk", file=sys.stderr)
        return 1
    if args.replicas > 1 and not args.postgres_url:
        print("bench-api: error: --replicas 2 needs --postgres-url (replicas share a PostgreSQL database)", file=sys.stderr)
        return 1
    if args.replicas > 1 and shutil.which("nginx") is None:
        print("bench-api: error: --replicas 2 needs nginx; install it with scripts/ensure-apt-packages.sh nginx", file=sys.stderr)
        return 1
    if args.postgres_url and shutil.which("psql") is None:
        print("bench-api: error: --postgres-url needs psql (Debian's postgresql-client)", file=sys.stderr)
        return 1
    if args.users < 1 or args.connections < WRK_THREADS or args.duration < 1:
        print(f"bench-api: error: --users and --duration must be at least 1, --connections at least {WRK_THREADS}", file=sys.stderr)
        return 1

    bench = Benchmark(args)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    measured: dict[str, dict] = {}
    not_measured: dict[str, str] = {}
    try:
        if not args.no_env_build:
            bench.build_images()
        # One store at a time, so they never compete for the machine's cores.
        for store in bench.stores:
            try:
                try:
                    bench.start(store)
                except (ServerNotReady, RuntimeError) as error:
                    # Replicas (or nginx) that did not start: the other stores are still measured.
                    not_measured[store.name] = str(error)
                    log(f"{store.name}: not measured: {error}")
                    continue
                bench.create_users(store)
                measured[store.name] = bench.measure(store)
            finally:
                bench.cleanup(store)
    except KeyboardInterrupt:
        print("bench-api: interrupted", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"bench-api: error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(bench.work_dir, ignore_errors=True)

    ratios = {}
    if "postgres" in measured and "sqlite" in measured:
        for endpoint, sqlite_run in measured["sqlite"].items():
            postgres_run = measured["postgres"].get(endpoint)
            if postgres_run and sqlite_run["requests_per_second"] and sqlite_run["latency_ms"]["p99"]:
                ratios[endpoint] = {
                    "requests_per_second": postgres_run["requests_per_second"] / sqlite_run["requests_per_second"],
                    "p99": postgres_run["latency_ms"]["p99"] / sqlite_run["latency_ms"]["p99"],
                }
    replica_ratios = {}
    one, two = measured.get("postgres-nginx-1"), measured.get(f"postgres-nginx-{args.replicas}")
    if one and two and args.replicas > 1:
        for endpoint, one_run in one.items():
            two_run = two.get(endpoint)
            if two_run and one_run["requests_per_second"] and one_run["latency_ms"]["p99"]:
                replica_ratios[endpoint] = {
                    "stores": f"postgres-nginx-{args.replicas}/postgres-nginx-1",
                    "requests_per_second": two_run["requests_per_second"] / one_run["requests_per_second"],
                    "p99": two_run["latency_ms"]["p99"] / one_run["latency_ms"]["p99"],
                }
    results = {
        "benchmark": "api-throughput",
        "startedAt": started_at.isoformat(),
        "command": " ".join([sys.argv[0], *sys.argv[1:]]),
        "machine": {"cores": os.cpu_count(), "kernel": platform.release(), "wrk": command_output(["wrk", "-v"])},
        "berthBinary": os.path.abspath(args.berth),
        "gitCommit": command_output(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        "users": args.users,
        "connections": args.connections,
        "threads": WRK_THREADS,
        "duration": args.duration,
        "warmupSeconds": WARMUP_SECONDS,
        "replicas": args.replicas,
        "storesRun": {store.name: {"replicas": store.replicas, "behindNginx": store.balanced} for store in bench.stores},
        "postNote": "POST is refused at the cap on purpose: each user has one running linux-basics instance and "
                    "BERTH_OWNER_CAP=1, BERTH_GLOBAL_CAP=users, BERTH_ASSIGNMENT=unlimited, so every POST goes through "
                    "authentication, the catalog and the caps check-and-claim transaction and is answered 429 "
                    "owner_cap_reached; any other answer counts as a failure.",
        "stores": measured,
        "postgres_sqlite_ratios": ratios,
        "replica_ratios": replica_ratios,
        "notMeasured": not_measured,
    }
    print(render(results))
    write_results(results, args.output)
    return 2 if not_measured else 0


if __name__ == "__main__":
    sys.exit(main())
