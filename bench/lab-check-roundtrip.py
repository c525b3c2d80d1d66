#!/usr/bin/env python3
"""Lab check round trip: Check pressed on the environment page → result shown, against the API
call alone (POST /api/v1/instances/{id}/checks from Python), on a trivial check.

What it does, in one run:

1. builds the example images with `berth env build` (cached after the first time), unless
   --no-env-build;
2. starts `berth serve` on a free loopback port with a temporary data directory and a namespace of
   its own; creates a user and an API token through the admin API; starts an instance of
   `lab-editor-basics` and waits until it runs (its check reads one file: a trivial check; the
   file is never written, so every check fails the same way and the lab never moves on);
3. opens the lab's page in headless Chromium (Selenium, as the browser tests do) with the token;
4. N times (--checks, at least 10), interleaved: presses Check and reads the round trip the page
   records on the result box (the click event's time → the frame after the result was laid out,
   `data-milliseconds`); then POSTs the check from Python and times the answer (the baseline: the
   same check without the browser and the page);
5. prints p50, p90, min and max of both, and the page's p50 over the API's, and writes
   bench-results/lab-check-roundtrip.json.

Exit status: 2 when the server did not start or a prerequisite is missing, 1 when the benchmark
could not run, 0 otherwise. Nothing here is a pass/fail assertion: the figures are for the note.

Usage: python3 bench/lab-check-roundtrip.py [--berth PATH] [--checks N] [--no-env-build]
"""

from __future__ import annotations

import argparse
import datetime
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from berth_api import APIError, BerthAPI  # noqa: E402
from berth_server import BerthServer, add_bench_arguments, berth_missing, command_output, remove_namespace, write_results  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENT = "lab-editor-basics"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MIN_CHECKS = 10
PROGRAM = "bench-labs"


def say(message: str) -> None:
    print(f"{PROGRAM}: {message}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict:
    return {
        "count": len(values), "p50_ms": round(percentile(values, 0.5), 1), "p90_ms": round(percentile(values, 0.9), 1),
        "min_ms": round(min(values), 1), "max_ms": round(max(values), 1), "mean_ms": round(statistics.fmean(values), 1),
    }


def wait_for(what: str, predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - reported on timeout
            last = error
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last})" if last else ""))


def open_browser(workdir: Path, timeout: float):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--window-size=1280,800", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions", f"--user-data-dir={workdir / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER, log_output=str(workdir / "chromedriver.log")), options=options)
    driver.set_page_load_timeout(timeout)
    return driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lab check round trip: Check pressed → result shown, against the API call alone.")
    add_bench_arguments(parser, "lab-check-roundtrip.json")
    parser.add_argument("--checks", type=int, default=20, help=f"checks to time each way (at least {MIN_CHECKS}; default 20)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for the instance to start and for each check")
    args = parser.parse_args(argv)
    if args.checks < MIN_CHECKS:
        parser.error(f"--checks must be at least {MIN_CHECKS}")
    if berth_missing(args.berth):
        return 2
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            print(f"{PROGRAM}: error: {path} is missing; run scripts/ensure-browser.sh", file=sys.stderr)
            return 2
    try:
        import selenium  # noqa: F401
    except ImportError:
        print(f"{PROGRAM}: error: Selenium is not importable; run scripts/ensure-browser.sh", file=sys.stderr)
        return 2
    if not args.no_env_build:
        say(f"building the example images: {args.berth} env build --environments {args.environments}")
        if subprocess.run([args.berth, "env", "build", "--environments", args.environments]).returncode != 0:
            print(f"{PROGRAM}: error: `berth env build` failed", file=sys.stderr)
            return 2

    workdir = Path(tempfile.mkdtemp(prefix="berth-bench-labs-"))
    namespace = f"bench-labs-{secrets.token_hex(4)}"
    admin_token = secrets.token_hex(16)
    server = BerthServer(args.berth, workdir / "data", Path(args.environments).resolve(), namespace, admin_token,
                         workdir / "server.log", cwd=REPO)
    driver = None
    api = None
    token = instance_id = None
    status = 0
    try:
        server.start_or_exit(args.ready_timeout, PROGRAM)
        api = BerthAPI(server.url, timeout=args.timeout)
        _, user = api.call("POST", "/api/v1/users", admin_token, {"name": "bench-labs"})
        _, issued = api.call("POST", f"/api/v1/users/{user['id']}/tokens", admin_token, {"name": "bench"})
        token = issued["token"]
        _, instance = api.call("POST", "/api/v1/instances", token, {"environment": ENVIRONMENT})
        instance_id = instance["id"]
        wait_for(f"instance {instance_id} to run", lambda: api.call("GET", f"/api/v1/instances/{instance_id}", token)[1]["state"] == "running", args.timeout, 0.2)
        say(f"instance {instance_id} of {ENVIRONMENT} is running")

        driver = open_browser(workdir, args.timeout)
        driver.get(server.url + "/login")
        driver.execute_script("localStorage.setItem('berth.token', arguments[0])", token)
        driver.get(f"{server.url}/environments/{ENVIRONMENT}")
        button = wait_for("an enabled Check button", lambda: (lambda b: b if b.is_enabled() else None)(
            driver.find_element("css selector", "#lab-check")), args.timeout)

        page: list[float] = []
        direct: list[float] = []
        statuses: dict[str, int] = {}
        for round_number in range(1, args.checks + 1):
            button.click()
            wait_for(f"check {round_number}'s result on the page", lambda: driver.find_element("css selector", "#lab-result").get_attribute("data-shown") == str(round_number), args.timeout)
            box = driver.find_element("css selector", "#lab-result")
            result_status = box.get_attribute("data-status")
            statuses[result_status] = statuses.get(result_status, 0) + 1
            page.append(float(box.get_attribute("data-milliseconds")))
            started = time.perf_counter()
            _, answer = api.call("POST", f"/api/v1/instances/{instance_id}/checks", token)
            direct.append((time.perf_counter() - started) * 1000)
            statuses["api:" + answer.get("status", "?")] = statuses.get("api:" + answer.get("status", "?"), 0) + 1
            wait_for("Check to be enabled again", button.is_enabled, args.timeout)

        page_summary, direct_summary = summary(page), summary(direct)
        ratio = page_summary["p50_ms"] / direct_summary["p50_ms"] if direct_summary["p50_ms"] else None
        print()
        print(f"Lab check round trip, {args.checks} trivial checks each ({ENVIRONMENT}; results: {statuses})")
        print(f"{'':32} {'p50':>9} {'p90':>9} {'min':>9} {'max':>9}")
        for name, values in (("page: Check pressed → shown", page_summary), ("API: POST …/checks (baseline)", direct_summary)):
            print(f"{name:32} {values['p50_ms']:>7.1f}ms {values['p90_ms']:>7.1f}ms {values['min_ms']:>7.1f}ms {values['max_ms']:>7.1f}ms")
        if ratio is not None:
            print(f"page p50 / API p50: {ratio:.2f}")
        write_results({
            "benchmark": "lab-check-roundtrip",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "berth": args.berth, "berth_version": command_output([args.berth, "--version"]),
            "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "chromium": driver.capabilities.get("browserVersion"),
            "environment": ENVIRONMENT, "checks": args.checks, "statuses": statuses,
            "page": page_summary, "api": direct_summary, "page_p50_over_api_p50": round(ratio, 2) if ratio else None,
            "samples_ms": {"page": page, "api": [round(value, 1) for value in direct]},
        }, args.output)
    except (APIError, RuntimeError, OSError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        server.print_log_tail(30, f"{PROGRAM}: last lines of the server log:")
        status = 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # noqa: BLE001 - clean-up goes on
                pass
        if api and token and instance_id and server.running:
            try:
                api.call("DELETE", f"/api/v1/instances/{instance_id}", token)
            except (APIError, OSError) as error:
                say(f"warning: DELETE instance {instance_id}: {error}")
        server.stop()
        removed = remove_namespace(namespace)
        if removed:
            say(f"removed {removed} container(s) of namespace {namespace}")
        if status == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"server log kept in {workdir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
