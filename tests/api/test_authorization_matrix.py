#!/usr/bin/env python3
"""The authorization matrix: every operation of Sources/BerthAPI/openapi.yaml, called as four
callers, must answer the status tests/api/authorization-matrix.yaml expects.

The callers:
- `anonymous`: no credentials (a state change carries a CSRF cookie and header, as a page's would,
  so that what is tested is access, not CSRF);
- `invalid`: a bearer token that names nobody (public operations ignore it; others answer 401);
- `owner`: a player, on their own resources (their instance, their recording, their token);
- `other`: another player, on the owner's resources (they must not see the owner's instance: 404);
- `admin`: the bootstrap admin, on the owner's resources.

The table is the access policy written down: `x-berth-access` (public, signed-in, admin) plus
ownership. The operations come from the spec, so an operation without a row (or a row without an
operation, or an operation without a request recipe below) fails the test: a route cannot be
added without saying who may call it. Bodies are valid, so a refusal is about access, never
validation.

It starts its own `berth serve` (temporary data directory, unique namespace, the example
environments; linux-basics must be built) and makes its fixtures through the API: two players
with tokens, an instance of the owner's with a recording, a team, a user the admin changes.

Exit status: 0 when every call answered as the table says, 1 otherwise, 2 when a prerequisite
is missing. `--write-actual FILE` writes the statuses seen, in the table's format, for review.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import secrets
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml  # PyYAML, from the venv scripts/ensure-api-test-python.sh makes

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_server  # noqa: E402

PROGRAM = "test_authorization_matrix"
TABLE = Path(__file__).resolve().parent / "authorization-matrix.yaml"
ROLES = ("anonymous", "invalid", "other", "owner", "admin")
# A bearer token that names nobody: public operations ignore it, the others answer 401.
INVALID_TOKEN = "berth_not-a-token-0000000000000000"
METHODS = ("get", "put", "post", "delete", "patch")
# Operations that change or end what other rows rely on run last, in this order.
LAST = ("leaveMyTeam", "deleteMyToken", "deleteRecording", "deleteInstance", "logout", "purge")


@dataclass
class Call:
    """One request: path parameters, query, JSON body (or raw bytes of `content_type`) and extra headers."""

    params: dict[str, str] = field(default_factory=dict)
    query: str = ""
    body: object | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/octet-stream"


@dataclass
class Context:
    """The server and the fixtures the recipes use."""

    deployment: api_server.Deployment
    owner: api_server.Account
    other: api_server.Account
    victim: api_server.Account
    instance: str
    recording: str
    team: str
    invite_code: str
    login_name: str
    login_password: str
    workspace: str
    spare_tokens: dict[str, str] = field(default_factory=dict)

    def token(self, role: str) -> str | None:
        return {"anonymous": None, "invalid": INVALID_TOKEN, "owner": self.owner.token, "other": self.other.token, "admin": self.deployment.admin.token}[role]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def owner_instance(context: Context, role: str) -> Call:
    return Call(params={"id": context.instance})


def fresh_owner_instance(context: Context, role: str) -> Call:
    """A new instance of the owner's for a call that ends it (owner and admin); the fixture
    instance for callers who are refused anyway."""
    if role in ("owner", "admin"):
        # own-flag: a second environment, since the owner already runs linux-basics.
        instance = api_server.start_instance(context.deployment.api, context.owner.token, "own-flag")
        return Call(params={"id": instance["id"]})
    return Call(params={"id": context.instance})


def ticket_for(context: Context, role: str) -> Call:
    """A WebSocket upgrade with a ticket the caller took themselves (none for who cannot)."""
    headers = {
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": context.deployment.url,
    }
    query = ""
    token = context.token(role)
    if role in ("owner", "admin") and token:
        _, ticket = context.deployment.api.call("POST", f"/api/v1/instances/{context.instance}/terminal/ticket", token)
        query = "ticket=" + ticket["ticket"]
    return Call(params={"id": context.instance}, query=query, headers=headers)


def my_spare_token(context: Context, role: str) -> Call:
    """The owner's own spare token: only the owner may delete it; others get 404."""
    return Call(params={"id": context.spare_tokens["owner"]})


def join_team(context: Context, role: str) -> Call:
    """The fixture team's invite code, for a caller who first leaves the team createMyTeam made."""
    token = context.token(role)
    if token:
        try:
            context.deployment.api.call("DELETE", "/api/v1/me/team", token)
        except api_server.APIError:
            pass
    return Call(body={"inviteCode": context.invite_code})


def put_instance_file(context: Context, path: str, data: bytes) -> None:
    """Writes a file into the owner's instance through the file API, for a recipe that reads or deletes it."""
    server = context.deployment.server
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        connection.request(
            "PUT", f"/api/v1/instances/{context.instance}/files/content?path={path}", body=data,
            headers={"Authorization": f"Bearer {context.owner.token}", "Content-Type": "application/octet-stream"},
        )
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"writing {path} into the owner's instance answered {response.status}")
    finally:
        connection.close()


def instance_file(context: Context, role: str) -> Call:
    """The path of a file the owner's instance holds (written first for callers let through)."""
    path = "/tmp/matrix-read.txt"
    if role in ("owner", "admin"):
        put_instance_file(context, path, b"matrix\n")
    return Call(params={"id": context.instance}, query=f"path={path}")


def deleted_instance_file(context: Context, role: str) -> Call:
    """A file of the owner's instance for each caller to delete (written first for callers let through)."""
    path = f"/tmp/matrix-delete-{role}.txt"
    if role in ("owner", "admin"):
        put_instance_file(context, path, b"delete me\n")
    return Call(params={"id": context.instance}, query=f"path={path}")


def small_tar() -> bytes:
    """A tar archive with one small file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        content = b"uploaded by the matrix\n"
        info = tarfile.TarInfo("matrix/upload.txt")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


WORKSPACE_ENVIRONMENT = "workspace-notes"


def workspace_of(context_api: api_server.BerthAPI, token: str) -> str:
    """Starts and stops an instance of the workspace example for the token's owner and returns
    the id of the workspace it left behind (not in use)."""
    instance = api_server.start_instance(context_api, token, WORKSPACE_ENVIRONMENT)
    context_api.call("DELETE", f"/api/v1/instances/{instance['id']}", token)
    _, listed = context_api.call("GET", "/api/v1/workspaces", token)
    return next(item["id"] for item in listed["items"] if item["environment"] == WORKSPACE_ENVIRONMENT)


def fresh_admin_workspace(context: Context, role: str) -> Call:
    """A workspace of the admin's own for the admin's delete; the fixture for callers refused anyway."""
    if role == "admin":
        return Call(params={"id": workspace_of(context.deployment.api, context.deployment.admin.token)})
    return Call(params={"id": context.workspace})


def constant(call: Call) -> Callable[[Context, str], Call]:
    return lambda context, role: call


SLUG = {"slug": api_server.PLAIN_ENVIRONMENT}

# operationId -> how to call it as a role. Each must be a valid request.
RECIPES: dict[str, Callable[[Context, str], Call]] = {
    "healthz": constant(Call()),
    "readyz": constant(Call()),
    "openapi": constant(Call()),
    "me": constant(Call()),
    "listEnvironments": constant(Call()),
    "getEnvironment": constant(Call(params=SLUG)),
    "listAttachments": constant(Call(params=SLUG)),
    "downloadAttachment": constant(Call(params={**SLUG, "name": api_server.ATTACHMENT})),
    "reloadEnvironments": constant(Call()),
    # crypto-rot13 has no instance: a caller who may start it gets 422 no_instance, after access.
    "createInstance": constant(Call(body={"environment": api_server.PLAIN_ENVIRONMENT})),
    "listInstances": constant(Call()),
    "getInstance": owner_instance,
    "deleteInstance": fresh_owner_instance,
    "renewInstance": owner_instance,
    "resetInstance": owner_instance,
    "listInstanceEvents": owner_instance,
    "reportPresence": owner_instance,
    "listInstanceFiles": lambda context, role: Call(params={"id": context.instance}, query="path=/tmp"),
    "readInstanceFile": instance_file,
    "writeInstanceFile": lambda context, role: Call(params={"id": context.instance}, query="path=/tmp/matrix-write.txt", raw=b"written\n"),
    "deleteInstanceFile": deleted_instance_file,
    "downloadInstanceFiles": lambda context, role: Call(params={"id": context.instance}, query="path=/tmp"),
    "uploadInstanceFiles": lambda context, role: Call(
        params={"id": context.instance}, query="path=/tmp", raw=small_tar(), content_type="application/x-tar"
    ),
    "purge": constant(Call()),
    "listEvents": constant(Call()),
    "createUser": lambda context, role: Call(body={"name": unique("made"), "role": "player"}),
    "listUsers": constant(Call()),
    "getUser": lambda context, role: Call(params={"id": context.victim.id}),
    "setUserRole": lambda context, role: Call(params={"id": context.victim.id}, body={"role": "player"}),
    "createToken": lambda context, role: Call(params={"id": context.victim.id}, body={"name": "matrix"}),
    "createTeam": lambda context, role: Call(body={"name": unique("team")}),
    "listTeams": constant(Call()),
    "addTeamMember": lambda context, role: Call(params={"id": context.team}, body={"userId": context.victim.id}),
    "createTerminalTicket": owner_instance,
    "terminalWebSocket": ticket_for,
    "shareTerminal": lambda context, role: Call(params={"id": context.instance}, body={"access": "read"}),
    "listTerminals": owner_instance,
    "listRecordings": constant(Call()),
    "recordingPublicKey": constant(Call()),
    "getRecording": lambda context, role: Call(params={"id": context.recording}),
    "deleteRecording": lambda context, role: Call(params={"id": context.recording}),
    "verifyRecording": lambda context, role: Call(params={"id": context.recording}),
    "downloadRecording": lambda context, role: Call(params={"id": context.recording}),
    "analyseRecording": lambda context, role: Call(params={"id": context.recording}),
    "listAudit": constant(Call()),
    "verifyAudit": constant(Call()),
    "getSession": constant(Call()),
    "register": lambda context, role: Call(body={"name": unique("reg"), "password": "Matrix-password-42"}),
    "login": lambda context, role: Call(body={"name": context.login_name, "password": context.login_password}),
    "logout": constant(Call()),
    # Players made by the admin have no password yet, so `current` is not checked for them.
    "changePassword": constant(Call(body={"current": "", "new": "Sturdy-Lantern-Matrix-42"})),
    "listMyTokens": constant(Call()),
    "createMyToken": constant(Call(body={"name": "matrix"})),
    "deleteMyToken": my_spare_token,
    "getMyTeam": constant(Call()),
    "createMyTeam": lambda context, role: Call(body={"name": unique("myteam")}),
    "leaveMyTeam": constant(Call()),
    "joinTeam": join_team,
    "submitFlag": constant(Call(params=SLUG, body={"flag": "berth{not_it}"})),
    "unlockHint": constant(Call(params={**SLUG, "index": "0"})),
    "getScoreboard": constant(Call()),
    "getSettings": constant(Call()),
    "updateSettings": constant(Call(body={})),
    "adminEnvironments": constant(Call()),
    # plain-ctfcli: switching it off and on again touches no other row's environment.
    "enableEnvironment": constant(Call(params={"slug": "plain-ctfcli"})),
    "disableEnvironment": constant(Call(params={"slug": "plain-ctfcli"})),
    # crypto-rot13 has no image: the admin's build answers 200 with an NDJSON error line, quickly.
    "buildEnvironment": constant(Call(params=SLUG)),
    "adminSubmissions": constant(Call()),
    "setUserPassword": lambda context, role: Call(params={"id": context.victim.id}, body={"password": "Victim-password-42"}),
    # Not labs: callers let through get 422 not_a_lab, so nothing is started, checked or counted.
    "getLabProgress": constant(Call(params=SLUG)),
    "runLabCheck": owner_instance,
    "requestLabHint": owner_instance,
    "listLabProgress": constant(Call(query="stuckAfterMinutes=15")),
    "listWorkspaces": constant(Call()),
    "exportWorkspace": lambda context, role: Call(params={"id": context.workspace}),
    "importWorkspace": lambda context, role: Call(params={"id": context.workspace}, raw=small_tar(), content_type="application/x-tar"),
    "syncWorkspace": lambda context, role: Call(params={"id": context.workspace}),
    "listAllWorkspaces": constant(Call()),
    "deleteWorkspace": fresh_admin_workspace,
}


def operations(spec: dict) -> list[tuple[str, str, str]]:
    """(operationId, method, path) of every operation in the spec, in its order."""
    found = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                found.append((item[method]["operationId"], method, path))
    return found


def request(context: Context, role: str, method: str, path: str, call: Call) -> int:
    """Sends one request as `role` and returns the status (the body is read and dropped)."""
    for name, value in call.params.items():
        path = path.replace("{" + name + "}", value)
    if call.query:
        path += "?" + call.query
    headers = {"Accept": "application/json", **call.headers}
    token = context.token(role)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if role in ("anonymous", "invalid") and method != "get":
        csrf = "matrix-csrf-" + secrets.token_hex(8)
        headers["Cookie"] = f"berth_csrf={csrf}"
        headers["X-CSRF-Token"] = csrf
    data = None
    if call.body is not None:
        data = json.dumps(call.body).encode()
        headers["Content-Type"] = "application/json"
    elif call.raw is not None:
        data = call.raw
        headers["Content-Type"] = call.content_type
    server = context.deployment.server
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        connection.request(method.upper(), path, body=data, headers=headers)
        response = connection.getresponse()
        if response.status != 101:
            response.read()
        return response.status
    finally:
        connection.close()


def undeclared_methods(context: Context, listed: list[tuple[str, str, str]]) -> tuple[int, int]:
    """Every path answers a method it does not declare with 405 and an Allow header naming the
    declared ones (as the admin, on the fixtures' ids); (passed, failed)."""
    declared: dict[str, set[str]] = {}
    for _, method, path in listed:
        declared.setdefault(path, set()).add(method)
    params = {"id": context.instance, "slug": api_server.PLAIN_ENVIRONMENT, "name": api_server.ATTACHMENT, "index": "0"}
    passed = failed = 0
    for path, methods in declared.items():
        method = next((candidate for candidate in ("patch", "put", "delete", "post") if candidate not in methods), None)
        if method is None:
            continue
        concrete = path
        for name, value in params.items():
            concrete = concrete.replace("{" + name + "}", value)
        connection = http.client.HTTPConnection("127.0.0.1", context.deployment.server.port, timeout=60)
        try:
            connection.request(method.upper(), concrete, headers={"Authorization": f"Bearer {context.deployment.admin.token}"})
            response = connection.getresponse()
            response.read()
            allow = {part.strip().lower() for part in (response.getheader("Allow") or "").split(",") if part.strip()}
        finally:
            connection.close()
        if response.status == 405 and methods <= allow:
            passed += 1
        else:
            failed += 1
            print(f"{PROGRAM}: FAIL: {method.upper()} {path} (undeclared): got {response.status} with Allow {sorted(allow)}, "
                  f"expected 405 with Allow {sorted(m.upper() for m in methods)}")
    return passed, failed


def make_context(deployment: api_server.Deployment) -> Context:
    api, admin = deployment.api, deployment.admin
    owner, other = deployment.players[0], deployment.players[1]
    victim = api_server.make_player(api, admin.token, "victim")
    # A recording of the owner's that has ended: its instance is stopped once the shell answered.
    first = api_server.start_instance(api, owner.token)
    if not api_server.record_terminal(deployment.url, api, owner.token, first["id"]):
        raise RuntimeError("the owner's terminal did not answer, so there is no recording")
    api.call("DELETE", f"/api/v1/instances/{first['id']}", owner.token)
    recording = api_server.wait_for_recording(api, admin.token, first["id"])
    if recording is None:
        raise RuntimeError("no recording was listed for the owner's terminal")
    deadline = time.monotonic() + 30
    while recording.get("endedAt") is None and time.monotonic() < deadline:
        time.sleep(0.3)
        _, recording = api.call("GET", f"/api/v1/recordings/{recording['id']}", admin.token)
    workspace = workspace_of(api, owner.token)
    instance = api_server.start_instance(api, owner.token)
    _, team = api.call("POST", "/api/v1/teams", admin.token, {"name": unique("matrix-team")})
    _, teams = api.call("GET", "/api/v1/teams", admin.token)
    invite = next(item["inviteCode"] for item in teams["items"] if item["id"] == team["id"])
    _, spare = api.call("POST", "/api/v1/me/tokens", owner.token, {"name": "spare"})
    login_name, login_password = unique("signin"), "Matrix-signin-42"
    api.call("POST", "/api/v1/users", admin.token, {"name": login_name})
    _, users = api.call("GET", "/api/v1/users", admin.token)
    login_id = next(user["id"] for user in users["items"] if user["name"] == login_name)
    api.call("PUT", f"/api/v1/users/{login_id}/password", admin.token, {"password": login_password})
    return Context(
        deployment=deployment, owner=owner, other=other, victim=victim, instance=instance["id"], recording=recording["id"],
        team=team["id"], invite_code=invite, login_name=login_name, login_password=login_password, workspace=workspace, spare_tokens={"owner": spare["id"]},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--berth", default=str(api_server.REPO / ".build" / "debug" / "berth"), help="berth binary")
    parser.add_argument("--environments", default=str(api_server.REPO / "examples" / "environments"), help="environments folder")
    parser.add_argument("--spec", default=str(api_server.SPEC), help="the OpenAPI document")
    parser.add_argument("--table", default=str(TABLE), help="the expected statuses")
    parser.add_argument("--write-actual", help="write the statuses seen to this file, in the table's format")
    args = parser.parse_args()
    if not (os.path.isfile(args.berth) and os.access(args.berth, os.X_OK)):
        print(f"{PROGRAM}: error: no berth binary at {args.berth}; build it first", file=sys.stderr)
        return 2
    spec = yaml.safe_load(Path(args.spec).read_text())
    table = yaml.safe_load(Path(args.table).read_text()) or {}
    listed = operations(spec)
    names = [name for name, _, _ in listed]
    problems: list[str] = []
    for name in names:
        if name not in table:
            problems.append(f"{name}: in the spec but has no row in {Path(args.table).name}; add who may call it")
        if name not in RECIPES:
            problems.append(f"{name}: in the spec but has no request recipe in {Path(__file__).name}")
    for name in table:
        if name not in names:
            problems.append(f"{name}: has a row in {Path(args.table).name} but is not in the spec")
    for name, _, _ in listed:
        row = table.get(name) or {}
        if isinstance(row, dict) and set(row) - {"expect", "why"}:
            problems.append(f"{name}: unknown keys {sorted(set(row) - {'expect', 'why'})}")
    if problems:
        for problem in problems:
            print(f"{PROGRAM}: FAIL: {problem}")
        print(f"0 passed, {len(problems)} failed")
        return 1

    ordered = [entry for entry in listed if entry[0] not in LAST] + sorted(
        (entry for entry in listed if entry[0] in LAST), key=lambda entry: LAST.index(entry[0]))
    started = time.monotonic()
    deployment = api_server.start(args.berth, args.environments, PROGRAM, players=2)
    actual: dict[str, dict[str, int]] = {}
    passed = failed = 0
    try:
        context = make_context(deployment)
        for name, method, path in ordered:
            expected = table[name]["expect"]
            actual[name] = {}
            for role in ROLES:
                status = request(context, role, method, path, RECIPES[name](context, role))
                actual[name][role] = status
                want = expected.get(role)
                if status == want:
                    passed += 1
                else:
                    failed += 1
                    print(f"{PROGRAM}: FAIL: {name} ({method.upper()} {path}) as {role}: got {status}, the table says {want}")
        more_passed, more_failed = undeclared_methods(context, listed)
        passed += more_passed
        failed += more_failed
    except Exception:
        deployment.server.print_log_tail(30, f"{PROGRAM}: last {{count}} lines of {{path}}:")
        raise
    finally:
        deployment.stop()
    if args.write_actual:
        lines = []
        for name, _, _ in listed:
            if name in actual:
                row = ", ".join(f"{role}: {actual[name][role]}" for role in ROLES)
                lines.append(f"{name}:\n  expect: {{{row}}}")
        Path(args.write_actual).write_text("\n".join(lines) + "\n")
    print(f"{PROGRAM}: {len(listed)} operations x {len(ROLES)} callers in {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
