"""A `berth serve` of its own for the API checks (schemathesis and the authorization matrix):
a temporary data directory, a unique namespace, the example environments, and accounts made
through the API: the admin (the bootstrap token), two players with tokens, and a team."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench"))

from berth_api import APIError, BerthAPI  # noqa: E402,F401
from berth_server import BerthServer, remove_namespace  # noqa: E402

# The contract the checks test against.
SPEC = REPO / "Sources" / "BerthAPI" / "openapi.yaml"


@dataclass
class Account:
    """A user made through the API, with an API token."""

    id: str
    name: str
    token: str
    token_id: str = ""


@dataclass
class Deployment:
    """A running server and the accounts made on it."""

    server: BerthServer
    api: BerthAPI
    admin: Account
    players: list[Account] = field(default_factory=list)
    workdir: Path | None = None
    namespace: str = ""

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        remove_namespace(self.namespace)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def make_player(api: BerthAPI, admin_token: str, prefix: str) -> Account:
    """A player made by the admin (POST /api/v1/users) with a token (POST /api/v1/users/{id}/tokens)."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    _, user = api.call("POST", "/api/v1/users", admin_token, {"name": name, "role": "player"})
    _, issued = api.call("POST", f"/api/v1/users/{user['id']}/tokens", admin_token, {"name": f"{prefix} token"})
    return Account(id=user["id"], name=name, token=issued["token"], token_id=issued["id"])


def start(berth: str, environments: str, program: str, players: int = 2, ready_timeout: float = 90,
          extra_env: dict[str, str] | None = None) -> Deployment:
    """Starts the server (exits with status 2 when it does not come up) and makes the accounts."""
    workdir = Path(tempfile.mkdtemp(prefix=f"berth-{program}-"))
    namespace = f"{program.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    admin_token = secrets.token_hex(24)
    server = BerthServer(
        berth, workdir / "data", environments, namespace, admin_token, workdir / "server.log",
        extra_env={
            # Schemathesis registers and signs in thousands of times from one address.
            "BERTH_REGISTRATION_LIMIT": "100000/1h", "BERTH_SIGN_IN_LIMIT": "100000/1s", "BERTH_SIGN_IN_ADDRESS_LIMIT": "100000/1s",
            **(extra_env or {}),
        },
    )
    server.start_or_exit(ready_timeout, program)
    api = BerthAPI(server.url)
    _, me = api.call("GET", "/api/v1/me", admin_token)
    deployment = Deployment(server, api, Account(id=me["id"], name=me["name"], token=admin_token), workdir=workdir, namespace=namespace)
    try:
        for number in range(players):
            deployment.players.append(make_player(api, admin_token, f"player{number + 1}"))
    except Exception:
        deployment.stop()
        raise
    return deployment


# An example environment whose instance starts fast (a shell), and one without an instance that
# has a hint and an attachment.
FAST_ENVIRONMENT = "linux-basics"
PLAIN_ENVIRONMENT = "crypto-rot13"
ATTACHMENT = "cipher.txt"


def start_instance(api: BerthAPI, token: str, environment: str = FAST_ENVIRONMENT) -> dict:
    """Starts an instance for the token's owner and returns it (running)."""
    status, instance = api.call("POST", "/api/v1/instances", token, {"environment": environment})
    if status != 201:
        raise RuntimeError(f"starting {environment} answered {status}")
    return instance


def record_terminal(url: str, api: BerthAPI, token: str, instance_id: str, timeout: float = 30) -> bool:
    """Opens the instance's terminal over the WebSocket, types one command and closes it, so the
    server writes a recording; False when websocket-client is missing or the shell never answered."""
    try:
        import websocket  # websocket-client
    except ImportError:
        return False
    _, ticket = api.call("POST", f"/api/v1/instances/{instance_id}/terminal/ticket", token)
    host = url.removeprefix("http://")
    connection = websocket.create_connection(f"ws://{host}{ticket['url']}", origin=url, timeout=timeout)
    output = b""
    sent = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and b"matrix-42" not in output:
            opcode, data = connection.recv_data()
            if opcode == websocket.ABNF.OPCODE_BINARY:
                output += data
                if b"\x1b[6n" in data:
                    connection.send_binary(b"\x1b[1;1R")
                if not sent and b"$ " in output:
                    connection.send_binary(b"echo matrix-$((6*7))\n")
                    sent = True
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                break
    finally:
        connection.close()
    return b"matrix-42" in output


def wait_for_recording(api: BerthAPI, admin_token: str, instance_id: str, timeout: float = 20) -> dict | None:
    """The first recording of `instance_id` once the server lists it, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, listed = api.call("GET", f"/api/v1/recordings?instance={instance_id}", admin_token)
        if listed["items"]:
            return listed["items"][0]
        time.sleep(0.2)
    return None
