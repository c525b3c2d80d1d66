#!/usr/bin/env python3
"""Schemathesis against Berth's contract (Sources/BerthAPI/openapi.yaml), as a player and as an admin.

What it does, in one run (it builds nothing; it is given the `berth` binary):

1. starts `berth serve` on a free loopback port with a temporary `--data-dir`, a unique
   BERTH_NAMESPACE and the example environments, and makes through the API: an admin (the
   bootstrap token), a player with a token, a running instance of linux-basics with a recording
   and a second instance (own-flag) for the stop operation,
   a second user the admin run may change (role, password, tokens), and a team;
2. runs schemathesis (pinned, from PyPI, in the venv scripts/ensure-api-test-python.sh makes) with
   the checks not_a_server_error, response_schema_conformance, status_code_conformance (no
   undocumented status) and content_type_conformance, first as the player, then as the admin
   (the admin run may change what the player's run relies on), each with a fixed seed and a
   bounded number of examples per operation;
3. prints the number of test cases and every failure, and exits 1 when there is any.

Path parameters that name a resource are pinned to the fixtures (per operation), so the positive
cases reach the handlers and their 2xx answers are checked against the schema, not only 404s.

Operations left out, each with its reason, are in EXCLUDED below.

Exit status: 0 when both runs found no failure, 1 when one did, 2 when a prerequisite is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_server  # noqa: E402

PROGRAM = "run_schemathesis"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
SEED = 20261128
MAX_EXAMPLES = 6

# operationId -> why the run leaves it out. Everything else in the spec is tested.
EXCLUDED = {
    "buildEnvironment": "starts a real image build on the shared engine for every generated case (minutes each); "
    "its streamed NDJSON answer is covered by the admin console's browser test and the CLI",
    "purge": "kills every instance, including the fixture instance the other operations are pinned to",
}

# Well-formed ids that name nothing. DELETE /api/v1/me/tokens/{id} would otherwise learn the run's
# own token id from GET /api/v1/me/tokens and revoke it, turning the rest of the run into 401s;
# DELETE /api/v1/recordings/{id} would delete the one recording the other recording operations
# are pinned to (its 204 has no body to check; the authorization matrix deletes a recording).
NO_SUCH_TOKEN = "tok_schemathesis0000"
NO_SUCH_RECORDING = "rec_schemathesis0000"


def toml_value(value: object) -> str:
    return json.dumps(value)


def config_file(path: Path, pinned: dict[str, dict[str, str]], token: str) -> None:
    """Writes schemathesis.toml: the bearer token and the pinned parameters per operation."""
    lines = [f"headers = {{ Authorization = {toml_value('Bearer ' + token)} }}", ""]
    for operation, parameters in sorted(pinned.items()):
        lines.append("[[operations]]")
        lines.append(f"include-operation-id = {toml_value(operation)}")
        inline = ", ".join(f"{toml_value(name)} = {toml_value(value)}" for name, value in sorted(parameters.items()))
        lines.append(f"parameters = {{ {inline} }}")
        lines.append("")
    path.write_text("\n".join(lines))


def pinned_parameters(role: str, fixtures: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per operation, the path parameters fixed to fixtures the caller (`role`) may use."""
    instance = {"path.id": fixtures["instance"]}
    slug = {"path.slug": api_server.PLAIN_ENVIRONMENT}
    pinned: dict[str, dict[str, str]] = {
        "getInstance": instance, "renewInstance": instance, "resetInstance": instance, "listInstanceEvents": instance,
        "createTerminalTicket": instance, "shareTerminal": instance, "listTerminals": instance, "terminalWebSocket": instance,
        "getEnvironment": slug, "listAttachments": slug, "submitFlag": slug,
        "downloadAttachment": {"path.slug": api_server.PLAIN_ENVIRONMENT, "path.name": api_server.ATTACHMENT},
        "unlockHint": {"path.slug": api_server.PLAIN_ENVIRONMENT, "path.index": "0"},
        "deleteMyToken": {"path.id": NO_SUCH_TOKEN},
        # A second instance of the player's, so stopping it leaves the one the others use running.
        "deleteInstance": {"path.id": fixtures["spare_instance"]},
    }
    if role == "admin":
        victim = {"path.id": fixtures["victim"]}
        pinned.update({
            "getUser": victim, "setUserRole": victim, "setUserPassword": victim, "createToken": victim,
            "addTeamMember": {"path.id": fixtures["team"]},
            "enableEnvironment": slug, "disableEnvironment": slug,
        })
        if fixtures.get("recording"):
            recording = {"path.id": fixtures["recording"]}
            for operation in ("getRecording", "verifyRecording", "downloadRecording", "analyseRecording"):
                pinned[operation] = recording
        pinned["deleteRecording"] = {"path.id": NO_SUCH_RECORDING}
    return pinned


def run_schemathesis(st: str, spec: str, url: str, role: str, token: str, fixtures: dict[str, str], work: Path,
                     max_examples: int, seed: int) -> tuple[int, int, list[str], float]:
    """One schemathesis run as `role`; (exit status, test cases, failure lines, seconds)."""
    config = work / f"schemathesis-{role}.toml"
    config_file(config, pinned_parameters(role, fixtures), token)
    report = work / f"report-{role}"
    command = [
        st, "--config-file", str(config), "run", spec, "--url", url, "--checks", CHECKS,
        "--max-examples", str(max_examples), "--seed", str(seed), "--phases", "examples,coverage,fuzzing",
        "--workers", "1", "--no-shrink", "--request-timeout", "60", "--suppress-health-check", "all",
        "--warnings", "off", "--report", "json", "--report-dir", str(report),
    ]
    for operation in sorted(EXCLUDED):
        command += ["--exclude-operation-id", operation]
    print(f"{PROGRAM}: as the {role}: " + " ".join(command), flush=True)
    started = time.monotonic()
    # The hooks teach schemathesis to send application/x-tar bodies (the file API's uploads).
    hooks = str(Path(__file__).resolve().parent / "schemathesis_hooks.py")
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": hooks})
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    (work / f"schemathesis-{role}.log").write_text(output)
    cases = 0
    match = re.search(r"(\d+) generated", output)
    if match:
        cases = int(match.group(1))
    failures: list[str] = []
    if "FAILURES" in output:
        section = output.split("FAILURES", 1)[1]
        section = re.split(r"\n=+ (?:WARNINGS|SUMMARY) =+", section)[0]
        failures = [line for line in section.splitlines() if line.strip()]
    return result.returncode, cases, failures, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--berth", default=str(api_server.REPO / ".build" / "debug" / "berth"), help="berth binary")
    parser.add_argument("--environments", default=str(api_server.REPO / "examples" / "environments"), help="environments folder")
    parser.add_argument("--spec", default=str(api_server.SPEC), help="the OpenAPI document to test against (a file)")
    parser.add_argument("--served", action="store_true", help="test against the document the server serves at /api/v1/openapi.json instead")
    parser.add_argument("--schemathesis", default=os.environ.get("BERTH_SCHEMATHESIS", "st"), help="the schemathesis CLI (st)")
    parser.add_argument("--max-examples", type=int, default=MAX_EXAMPLES, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=SEED, help="schemathesis' seed (fixed, so runs are reproducible)")
    parser.add_argument("--keep", help="copy the logs and reports to this folder")
    args = parser.parse_args()
    if not (os.path.isfile(args.berth) and os.access(args.berth, os.X_OK)):
        print(f"{PROGRAM}: error: no berth binary at {args.berth}; build it first (swift build --product berth)", file=sys.stderr)
        return 2
    deployment = api_server.start(args.berth, args.environments, PROGRAM, players=2)
    work = deployment.workdir
    assert work is not None
    total_cases = 0
    all_failures: list[tuple[str, str]] = []
    statuses = []
    try:
        api, admin, player, victim = deployment.api, deployment.admin, deployment.players[0], deployment.players[1]
        instance = api_server.start_instance(api, player.token)
        spare = api_server.start_instance(api, player.token, "own-flag")
        recorded = api_server.record_terminal(deployment.url, api, player.token, instance["id"])
        recording = api_server.wait_for_recording(api, admin.token, instance["id"]) if recorded else None
        _, team = api.call("POST", "/api/v1/teams", admin.token, {"name": f"st-team-{player.name}"})
        fixtures = {"instance": instance["id"], "spare_instance": spare["id"], "victim": victim.id, "team": team["id"], "recording": recording["id"] if recording else ""}
        print(f"{PROGRAM}: fixtures: {json.dumps(fixtures)}", flush=True)
        for role, token in (("player", player.token), ("admin", admin.token)):
            status, cases, failures, elapsed = run_schemathesis(
                args.schemathesis, f"{deployment.url}/api/v1/openapi.json" if args.served else args.spec, deployment.url, role, token, fixtures, work, args.max_examples, args.seed,
            )
            statuses.append(status)
            total_cases += cases
            print(f"{PROGRAM}: as the {role}: {cases} test cases, exit {status}, {elapsed:.0f} s", flush=True)
            if status != 0 and not failures:
                failures = (work / f"schemathesis-{role}.log").read_text().splitlines()[-40:]
            for line in failures:
                all_failures.append((role, line))
    finally:
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for item in work.glob("schemathesis-*"):
                (keep / item.name).write_bytes(item.read_bytes())
            (keep / "server.log").write_bytes((work / "server.log").read_bytes())
        deployment.stop()
    for role, line in all_failures:
        print(f"{PROGRAM}: {role}: {line}")
    failed = any(statuses)
    print(f"{PROGRAM}: {total_cases} test cases in all; {'FAILED' if failed else 'no failures'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
