#!/usr/bin/env python3
"""Terminal benchmark: keystroke echo latency and output throughput of Berth's browser terminal.

Berth's path is xterm.js ↔ WebSocket ↔ Berth ↔ Docker exec PTY. This benchmark drives that
WebSocket the way the page does and compares it, in the same run, on the same container, with
the same shell (the instance's terminal command, user and working directory), against:

- `docker exec` through the docker CLI: `docker exec -it` under a Python pty for keystrokes,
  `docker exec -t ... > file` for throughput (the floor the engine's own PTY path sets);
- Jupyter's terminado: a tornado app with terminado's TermSocket and UniqueTermManager serving
  `docker exec -it`, measured over its WebSocket protocol (["stdin", ...] / ["stdout", ...]);
- for information, the Engine API itself: the same shell exec'd and hijacked (`POST
  /exec/{id}/start` with `Upgrade: tcp`) on a raw unix socket, with no CLI and no Berth.

What it does, in one run:

1. builds the example images with `berth env build` (cached after the first time);
2. starts `berth serve` on a free loopback port with a temporary data directory, a random
   admin token and a namespace of its own, then the terminado server on another free port;
3. creates a user, an API token and an instance (lab-starter by default) through the API;
4. opens four shells in the instance's container: Berth's WebSocket terminal, `docker exec -it`
   under a pty, terminado, and a raw Engine API hijack; waits for each prompt (busybox ash
   drops what is typed before it);
5. keystroke echo: types 'a' one byte at a time at the prompt (Ctrl-U every 40 keystrokes to
   clear the line) and times each write until the echoed byte arrives, in interleaved rounds;
6. throughput: `head -c SIZE /dev/zero | tr '\\0' x` typed into each shell (timed from sending
   the command line to the end marker that follows the last byte), and run as `docker exec -t
   <container> sh -c '...' > file` (timed around the CLI) and as a raw hijacked `sh -c` exec;
   for each run, the CPU seconds of the container, its containerd-shim, dockerd, the docker CLI,
   Berth, terminado and this client, to show where the time goes;
7. prints a table with ratios and the targets, writes bench-results/terminal.json.

Its WebSocket client is its own (standard library only, cheap per frame, so that the client is
not what limits a figure); terminado and tornado are needed for the baseline
(scripts/ensure-bench-python.sh installs them). Exit status: 2 when the server did not
start, 1 when the benchmark could not be set up, 0 otherwise (missed targets are reported).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import fcntl
import hashlib
import json
import os
import platform
import pty
import re
import secrets
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Targets from the issue.
TARGET_THROUGHPUT_VS_DOCKER = 0.9     # Berth's MB/s at least 0.9 × `docker exec -t` through the CLI
TARGET_THROUGHPUT_VS_TERMINADO = 5.0  # and at least 5 × terminado's
TARGET_KEYSTROKE_P99_MS = 5.0         # keystroke echo p99 on loopback

COLS, ROWS = 200, 50
CTRL_U = b"\x15"
END_MARK = b"BENCHDONE"
# Typed as BENCH''DONE so the echo of the command line never contains the marker.
END_COMMAND = "echo BENCH''DONE"
ANSI_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
BASELINE_LABEL = "berth.bench=terminal"


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


class BenchError(Exception):
    """Something a measurement could not survive (a shell that died, a timeout)."""


# -- Berth's REST API -------------------------------------------------------------------------


from berth_api import APIError, BerthAPI, free_port, instance_of
from berth_server import BerthServer, add_bench_arguments, berth_missing, command_output, remove_containers, remove_namespace, write_results


# -- a small WebSocket client (RFC 6455), standard library only --------------------------------


class WebSocketClosed(BenchError):
    pass


class WebSocket:
    """A blocking WebSocket client over a plain TCP socket, kept small and cheap per frame so
    that the client is never what limits a throughput figure. Frames from the server are
    parsed out of one growing buffer filled with large recv() calls; fragmented messages are
    joined; pings are answered."""

    OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

    def __init__(self, host: str, port: int, path: str, origin: str | None, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = bytearray()
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BenchError(f"WebSocket handshake to {path}: connection closed")
            self.buffer += chunk
        head, _, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        self.buffer = bytearray(rest)
        status_line, *header_lines = head.decode(errors="replace").split("\r\n")
        if " 101 " not in status_line + " ":
            raise BenchError(f"WebSocket handshake to {path.split('?')[0]}: {status_line}")
        headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise BenchError("WebSocket handshake: wrong Sec-WebSocket-Accept")
        self.fragments: list[bytes] = []
        self.fragment_opcode = 0
        self.closed = False
        self.sock.setblocking(True)

    def send(self, opcode: int, payload: bytes) -> None:
        header = bytearray([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 65536:
            header.append(0x80 | 126)
            header += struct.pack("!H", length)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", length)
        mask = secrets.token_bytes(4)
        header += mask
        if length:
            repeated = (mask * (length // 4 + 1))[:length]
            payload = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
        self.sock.sendall(bytes(header) + payload)

    def send_text(self, text: str) -> None:
        self.send(self.OP_TEXT, text.encode())

    def send_binary(self, data: bytes) -> None:
        self.send(self.OP_BINARY, data)

    def _parse(self) -> list[tuple[int, bytes]]:
        """Complete messages at the front of the buffer, removed from it."""
        messages = []
        buffer = self.buffer
        position = 0
        end = len(buffer)
        while end - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            if first & 0x70:  # no extension was negotiated, so a reserved bit means we lost the framing
                raise BenchError(f"WebSocket framing lost: header byte {first:#04x}, next bytes "
                                 f"{bytes(buffer[position:position + 24])!r}")
            length = second & 0x7F
            offset = position + 2
            if length == 126:
                if end - offset < 2:
                    break
                length = struct.unpack_from("!H", buffer, offset)[0]
                offset += 2
            elif length == 127:
                if end - offset < 8:
                    break
                length = struct.unpack_from("!Q", buffer, offset)[0]
                offset += 8
            if second & 0x80:  # a server must not mask; tolerate it anyway
                if end - offset < 4:
                    break
                mask = bytes(buffer[offset:offset + 4])
                offset += 4
            else:
                mask = None
            if end - offset < length:
                break
            payload = bytes(buffer[offset:offset + length])
            if mask:
                repeated = (mask * (length // 4 + 1))[:length]
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
            position = offset + length
            opcode, fin = first & 0x0F, bool(first & 0x80)
            if opcode == self.OP_PING:
                self.send(self.OP_PONG, payload)
            elif opcode == self.OP_PONG:
                pass
            elif opcode == self.OP_CLOSE:
                self.closed = True
                messages.append((opcode, payload))
            elif opcode == self.OP_CONT:
                self.fragments.append(payload)
                if fin:
                    messages.append((self.fragment_opcode, b"".join(self.fragments)))
                    self.fragments = []
            elif fin:
                messages.append((opcode, payload))
            else:
                self.fragment_opcode = opcode
                self.fragments = [payload]
        if position:
            del buffer[:position]
        return messages

    def receive(self, timeout: float) -> list[tuple[int, bytes]]:
        """Messages that arrive within `timeout` seconds (at least one, or none on timeout);
        a timeout of 0 looks once at what is already there."""
        messages = self._parse()
        if messages:
            return messages
        if self.closed:
            raise WebSocketClosed("the WebSocket is closed")
        deadline = time.monotonic() + timeout
        first = True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 and not first:
                return []
            first = False
            ready, _, _ = select.select([self.sock], [], [], max(0.0, remaining))
            if not ready:
                return []
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                self.closed = True
                raise WebSocketClosed("the server closed the connection")
            self.buffer += chunk
            messages = self._parse()
            if messages:
                return messages

    def close(self) -> None:
        try:
            if not self.closed:
                self.send(self.OP_CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# -- the three terminals -----------------------------------------------------------------------


class Terminal:
    """A shell's byte stream: what every measurement talks to. A measurement holds `lock` while
    it uses the terminal; in between, the keeper thread calls `service()` so that a WebSocket
    left idle still answers the server's pings (Berth closes a connection that does not answer
    its pings, every 30 s, as a browser would)."""

    name = "terminal"
    # Output messages (WebSocket frames, or reads) received so far: their mean size is the
    # granularity each path relays output in.
    chunks = 0
    lock: threading.Lock

    def service(self) -> None:
        """Handles what arrived while idle (pings); keeps any output for the next read."""

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, timeout: float) -> bytes:
        """Output that arrives within `timeout` seconds; b"" when none did."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class BerthTerminal(Terminal):
    """Berth's terminal WebSocket: binary frames are PTY bytes, text frames JSON control."""

    name = "berth"

    def __init__(self, port: int, path: str):
        self.lock = threading.Lock()
        self.ws = WebSocket("127.0.0.1", port, path, origin=f"http://127.0.0.1:{port}")
        self.controls: list[dict] = []
        self.pending = b""
        deadline = time.monotonic() + 30
        while not any(c.get("type") == "ready" for c in self.controls):
            if time.monotonic() > deadline:
                raise BenchError("Berth's terminal sent no 'ready'")
            self.pending += self._collect(self.ws.receive(1.0))
        # Not opting into acknowledgement flow control ({"type":"flow"}): it needs acks.
        self.ws.send_text(json.dumps({"type": "resize", "cols": COLS, "rows": ROWS}))

    def _collect(self, messages: list[tuple[int, bytes]]) -> bytes:
        out = []
        for opcode, payload in messages:
            if opcode == WebSocket.OP_BINARY:
                out.append(payload)
                self.chunks += 1
            elif opcode == WebSocket.OP_TEXT:
                control = json.loads(payload)
                self.controls.append(control)
                if control.get("type") in ("exited", "closed", "error"):
                    raise BenchError(f"Berth's terminal ended: {control}")
                if control.get("type") == "notice":
                    log(f"berth notice: {control}")
            elif opcode == WebSocket.OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WebSocketClosed(f"Berth closed the terminal WebSocket (code {code}, {payload[2:].decode(errors='replace')!r})")
        return b"".join(out)

    def send(self, data: bytes) -> None:
        self.ws.send_binary(data)

    def service(self) -> None:
        self.pending += self._collect(self.ws.receive(0))

    def read(self, timeout: float) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self._collect(self.ws.receive(timeout))

    def close(self) -> None:
        self.ws.close()


class TerminadoTerminal(Terminal):
    """terminado's WebSocket: JSON arrays ["stdin", text] in, ["stdout", text] out."""

    name = "terminado"

    def __init__(self, port: int):
        self.lock = threading.Lock()
        self.pending = b""
        self.ws = WebSocket("127.0.0.1", port, "/websocket", origin=f"http://127.0.0.1:{port}")
        self.ws.send_text(json.dumps(["set_size", ROWS, COLS]))

    def send(self, data: bytes) -> None:
        self.ws.send_text(json.dumps(["stdin", data.decode("latin-1")]))

    def service(self) -> None:
        self.pending += self._read(0)

    def read(self, timeout: float) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self._read(timeout)

    def _read(self, timeout: float) -> bytes:
        out = []
        for opcode, payload in self.ws.receive(timeout):
            if opcode == WebSocket.OP_CLOSE:
                raise WebSocketClosed("terminado closed the WebSocket")
            if opcode != WebSocket.OP_TEXT:
                continue
            message = json.loads(payload)
            if message[0] == "stdout":
                out.append(message[1].encode("utf-8", "surrogateescape"))
                self.chunks += 1
            elif message[0] == "disconnect":
                raise BenchError("terminado's shell ended")
        return b"".join(out)

    def close(self) -> None:
        self.ws.close()


class PtyTerminal(Terminal):
    """A command (the docker CLI) under a pseudo-terminal of our own; we hold the master."""

    name = "docker-exec-it"

    def __init__(self, argv: list[str]):
        self.lock = threading.Lock()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the slave is its stdin, stdout and stderr
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 1 << 20)
        except OSError:  # EIO: the child closed the slave
            data = b""
        if not data:
            raise BenchError("the docker exec -it process ended")
        self.chunks += 1
        return data

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(50):
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.05)
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def docker_socket_path() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise BenchError(f"the raw hijack path needs a unix DOCKER_HOST, not {host}")
    return host[len("unix://"):]


def docker_api(method: str, path: str, body: object | None = None) -> dict | None:
    """One plain request on the engine's unix socket (Connection: close), JSON in and out."""
    data = b"" if body is None else json.dumps(body).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(docker_socket_path())
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    head, _, payload = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body_bytes, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            body_bytes, rest = body_bytes + rest[:size], rest[size + 2:]
        payload = body_bytes
    if status >= 300:
        raise BenchError(f"engine: {method} {path}: HTTP {status} {payload[:200]!r}")
    return json.loads(payload) if payload.strip() else None


BERTH_DETACH_KEYS = "ctrl-@,ctrl-^,ctrl-_,ctrl-]"  # what Berth sets on its execs (TTYExecRequest)


def hijack_exec(exec_id: str, timeout: float) -> tuple[socket.socket, bytes, float]:
    """POST /exec/{id}/start {"Detach":false,"Tty":true} with `Upgrade: tcp` on a raw unix socket.
    Returns the socket (now the PTY's raw byte stream), the bytes that came with the answer's
    head, and the perf_counter time the request was sent."""
    body = b'{"Detach":false,"Tty":true}'
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(docker_socket_path())
        started = time.perf_counter()
        sock.sendall(f"POST /exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode() + body)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise BenchError("the engine closed the exec start connection")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n")[0] + b" "
        if b" 101 " not in status_line and b" 200 " not in status_line:
            raise BenchError(f"exec start: {status_line.strip()!r}")
        return sock, rest, started
    except BaseException:
        sock.close()
        raise


def raw_hijack_throughput(container_id: str, user: str | None, size: int, timeout: float) -> dict:
    """The engine's own PTY path with no CLI and no Berth: POST /containers/{id}/exec (Tty),
    then POST /exec/{id}/start with `Upgrade: tcp` on a raw unix socket, read to EOF.
    Timed from sending the start request to the last byte (exec create excluded)."""
    create = {"AttachStdin": False, "AttachStdout": True, "AttachStderr": True, "Tty": True,
              "Cmd": ["sh", "-c", throughput_command(size)]}
    if user:
        create["User"] = user
    exec_id = docker_api("POST", f"/containers/{container_id}/exec", create)["Id"]
    sock, rest, started = hijack_exec(exec_id, timeout)
    total = len(rest)
    reads = 0
    buffer = bytearray(1 << 20)
    with sock:
        while True:
            received = sock.recv_into(buffer)
            if not received:
                break
            total += received
            reads += 1
    elapsed = time.perf_counter() - started
    if total < size:
        raise BenchError(f"raw hijack: {total} of {size} bytes")
    return {"seconds": elapsed, "bytes": size, "receivedBytes": total, "mbps": size / elapsed / 1e6,
            "meanChunkBytes": round(total / max(1, reads))}


class RawHijackTerminal(Terminal):
    """The instance's shell through the Engine API directly, as Berth runs it (same command, user,
    working directory, TERM and detach keys), on a raw hijacked unix socket: the engine's floor."""

    name = "docker-api-raw"

    def __init__(self, container_id: str, command: list[str], user: str | None, workdir: str | None):
        self.lock = threading.Lock()
        create = {"AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": True,
                  "DetachKeys": BERTH_DETACH_KEYS, "Env": ["TERM=xterm-256color"], "Cmd": command}
        if user:
            create["User"] = user
        if workdir:
            create["WorkingDir"] = workdir
        self.exec_id = docker_api("POST", f"/containers/{container_id}/exec", create)["Id"]
        self.sock, self.pending, _ = hijack_exec(self.exec_id, 30)
        self.sock.setblocking(True)
        docker_api("POST", f"/exec/{self.exec_id}/resize?h={ROWS}&w={COLS}")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self, timeout: float) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return b""
        data = self.sock.recv(1 << 20)
        if not data:
            raise BenchError("the engine closed the hijacked exec stream")
        self.chunks += 1
        return data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class CpuMeter:
    """CPU seconds spent by each process on the data path, to see where a throughput run's time
    goes: the container's own processes (its cgroup), its containerd-shim, dockerd, the docker
    CLI processes, Berth, terminado and this client. Best effort: what cannot be read is left out."""

    TICKS = os.sysconf("SC_CLK_TCK")

    def __init__(self, container_id: str):
        self.pids: dict[str, list[int]] = {}
        self.cgroup_file: Path | None = None
        self.cgroup_v2 = False
        state_pid = command_output(["docker", "inspect", "-f", "{{.State.Pid}}", container_id])
        if state_pid and state_pid.isdigit() and state_pid != "0":
            try:
                parent = int(Path(f"/proc/{state_pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                self.pids["containerd-shim"] = [parent]
            except (OSError, IndexError, ValueError):
                pass
            self.cgroup_file, self.cgroup_v2 = self._cgroup(int(state_pid))
        for name in ("dockerd", "containerd"):
            found = command_output(["pgrep", "-x", name])
            if found:
                self.pids[name] = [int(pid) for pid in found.split()]

    @staticmethod
    def _cgroup(pid: int) -> tuple[Path | None, bool]:
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None, False
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(","):
                for root in ("/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct"):
                    candidate = Path(root + path) / "cpuacct.usage"
                    if candidate.exists():
                        return candidate, False
        for line in lines:
            if line.startswith("0::"):
                candidate = Path("/sys/fs/cgroup" + line[3:]) / "cpu.stat"
                if candidate.exists():
                    return candidate, True
        return None, False

    @classmethod
    def process_seconds(cls, pid: int, with_children: bool = False) -> float:
        """utime + stime of a live process (and, optionally, of its live children)."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total = (int(fields[11]) + int(fields[12])) / cls.TICKS
        except (OSError, IndexError, ValueError):
            return 0.0
        if with_children:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            total += sum(cls.process_seconds(int(child), True) for child in children)
        return total

    def snapshot(self, extra: dict[str, int]) -> dict[str, float]:
        """CPU seconds so far; `extra` maps names to pids counted with their children."""
        seconds = {name: sum(self.process_seconds(pid) for pid in pids) for name, pids in self.pids.items()}
        for name, pid in extra.items():
            seconds[name] = self.process_seconds(pid, with_children=True)
        if self.cgroup_file:
            try:
                text = self.cgroup_file.read_text()
                if self.cgroup_v2:
                    usage = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("usage_usec"))
                    seconds["container"] = usage / 1e6
                else:
                    seconds["container"] = int(text.strip()) / 1e9
            except (OSError, StopIteration, ValueError):
                pass
        own = os.times()
        seconds["bench client"] = own.user + own.system
        seconds["docker CLI (exited)"] = own.children_user + own.children_system
        return seconds

    @staticmethod
    def difference(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: round(after[name] - before[name], 3) for name in after if name in before}


# -- measurements ------------------------------------------------------------------------------


def visible(data: bytes) -> bytes:
    return ANSI_ESCAPE.sub(b"", data)


def drain(term: Terminal, quiet: float, limit: float = 10.0) -> bytes:
    """Reads until nothing arrives for `quiet` seconds (or `limit` seconds pass)."""
    out = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        data = term.read(quiet)
        if not data:
            break
        out.append(data)
    return b"".join(out)


def wait_for_prompt(term: Terminal, timeout: float = 30.0) -> bytes:
    """Waits until the output ends with the shell's prompt ("$ ", escapes aside) and stays quiet.
    busybox ash drops what is typed before its prompt, so nothing is typed until then."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = term.read(0.2)
        if data:
            seen = (seen + data)[-4096:]
            continue
        if visible(seen).rstrip(b"\r\n").endswith((b"$ ", b"# ")):
            return seen
        if not seen:  # nothing at all yet: a newline makes the shell print a prompt again
            term.send(b"\r")
    raise BenchError(f"{term.name}: no shell prompt after {timeout}s (last output {visible(seen)[-80:]!r})")


def keystroke_round(term: Terminal, count: int, clear_every: int, gap: float, timeout: float) -> list[float]:
    """Types 'a' `count` times, one byte at a time, and returns each write → echo time in ms."""
    samples = []
    typed = clear_every  # start with a clean line
    for _ in range(count):
        if typed >= clear_every:
            term.send(CTRL_U)
            drain(term, 0.05)
            typed = 0
        started = time.perf_counter()
        term.send(b"a")
        deadline = time.monotonic() + timeout
        while True:
            data = term.read(max(0.0, deadline - time.monotonic()))
            if b"a" in data:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"{term.name}: no echo within {timeout}s")
        samples.append((time.perf_counter() - started) * 1000)
        typed += 1
        if gap:
            time.sleep(gap)
    term.send(CTRL_U)
    drain(term, 0.05)
    return samples


def throughput_command(size: int) -> str:
    return f"head -c {size} /dev/zero | tr '\\0' x"


def shell_throughput(term: Terminal, size: int, timeout: float) -> dict:
    """Types the producer into an interactive shell and reads until the end marker.
    Seconds from sending the command line to receiving the marker that follows the last byte."""
    drain(term, 0.1)
    line = f"{throughput_command(size)}; {END_COMMAND}\r".encode()
    chunks_before = term.chunks
    started = time.perf_counter()
    first_byte = None
    term.send(line)
    total = 0
    tail = b""
    deadline = time.monotonic() + timeout
    while True:
        data = term.read(1.0)
        if data:
            if first_byte is None:
                first_byte = time.perf_counter()
            total += len(data)
            if total >= size:
                tail = (tail + data)[-8192:]
                if END_MARK in tail:
                    break
        if time.monotonic() > deadline:
            raise BenchError(f"{term.name}: {total} of {size} bytes after {timeout}s")
    elapsed = time.perf_counter() - started
    chunks = term.chunks - chunks_before
    wait_for_prompt(term)
    return {
        "meanChunkBytes": round(total / chunks) if chunks else None,
        "seconds": elapsed,
        "bytes": size,
        "receivedBytes": total,
        "mbps": size / elapsed / 1e6,
        "firstByteMs": (first_byte - started) * 1000 if first_byte else None,
    }


def summarize_latency(samples: list[float]) -> dict:
    if not samples:
        return {"count": 0}
    ordered = sorted(samples)
    percentiles = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 99
    return {
        "count": len(ordered),
        "p50": statistics.median(ordered),
        "p90": percentiles[89],
        "p99": percentiles[98],
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "max": ordered[-1],
    }


def summarize_throughput(runs: list[dict]) -> dict:
    if not runs:
        return {"count": 0}
    rates = [run["mbps"] for run in runs]
    cpu_names = sorted({name for run in runs for name in run.get("cpuSeconds", {})})
    cpu = {name: round(statistics.median(run["cpuSeconds"].get(name, 0.0) for run in runs), 3) for name in cpu_names}
    return {
        "count": len(rates), "median": statistics.median(rates), "best": max(rates), "worst": min(rates),
        "secondsMedian": statistics.median(run["seconds"] for run in runs), "cpuSecondsMedian": cpu,
        "meanChunkBytes": statistics.median(run["meanChunkBytes"] for run in runs) if all(run.get("meanChunkBytes") for run in runs) else None,
    }


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]?)", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 256M, 64K or 1048576")
    return int(match.group(1)) * {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[match.group(2)]


def container_of(instance_id: str) -> str:
    """The id of the one container labelled with `instance_id`."""
    listed = subprocess.run(
        ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=berth.instance={instance_id}"],
        capture_output=True, text=True,
    ).stdout.split()
    if len(listed) != 1:
        raise SystemExit(f"bench: expected one container for instance {instance_id}, found {listed}")
    return listed[0]


# -- the terminado server (a child process of this script) -------------------------------------


def serve_terminado(argv: list[str]) -> int:
    """`terminal.py --terminado-server PORT -- COMMAND...`: a tornado app with terminado's
    TermSocket and UniqueTermManager (one new `COMMAND` per WebSocket) on 127.0.0.1:PORT."""
    import asyncio

    import terminado
    import tornado.web

    port, command = int(argv[0]), argv[2:]

    async def run() -> None:
        manager = terminado.UniqueTermManager(shell_command=command, term_settings={"type": "xterm-256color"})
        application = tornado.web.Application([(r"/websocket", terminado.TermSocket, {"term_manager": manager})])
        server = application.listen(port, "127.0.0.1")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        print("terminado ready", flush=True)
        await stop.wait()
        server.stop()
        await manager.shutdown()

    asyncio.run(run())
    return 0


# -- the benchmark -----------------------------------------------------------------------------


class Benchmark:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.admin_token = secrets.token_hex(16)
        self.namespace = f"bench-{secrets.token_hex(4)}"
        self.image = f"berth-env/{args.environment}:latest"
        self.server: BerthServer | None = None
        self.server_log_path: Path | None = None
        self.data_dir: Path | None = None
        self.port: int | None = None
        self.api: BerthAPI | None = None
        self.user_id: str | None = None
        self.user_token: str | None = None
        self.instance_id: str | None = None
        self.container_id: str | None = None
        self.shell_argv: list[str] = []
        self.terminal_spec: dict = {}
        self.terminado: subprocess.Popen | None = None
        self.terminado_port: int | None = None
        self.terminals: list[Terminal] = []
        self.named_terminals: dict[str, Terminal] = {}
        self.cpu: CpuMeter | None = None
        self.keeper_stop = threading.Event()
        self.keeper: threading.Thread | None = None

    # -- server, user, instance ----------------------------------------------------------------

    def build_images(self) -> None:
        command = [self.args.berth, "env", "build", "--environments", self.args.environments]
        log("building environment images: " + " ".join(command))
        result = subprocess.run(command)
        if result.returncode != 0:
            raise SystemExit(f"bench: `{' '.join(command)}` failed with status {result.returncode}")

    def start_server(self, environments: str | None = None) -> None:
        """`berth serve` on a free port with a temporary data directory, on `environments`
        (default --environments); exits with status 2 when it does not become ready."""
        self.data_dir = Path(tempfile.mkdtemp(prefix="berth-bench-"))
        self.server_log_path = self.data_dir / "server.log"
        self.server = BerthServer(
            self.args.berth, self.data_dir, environments or self.args.environments, self.namespace,
            self.admin_token, self.server_log_path, extra_env={"BERTH_ASSETS_DIR": str(REPO / "vendor")},
        )
        self.port = self.server.port
        self.server.start_or_exit(self.args.ready_timeout, "bench")
        self.api = BerthAPI(self.server.url, timeout=self.args.timeout)

    def print_server_log(self, lines: int = 40) -> None:
        if self.server:
            self.server.print_log_tail(lines, "bench: last lines of the server log:")

    def finish(self, log_name: str) -> None:
        """Cleans up, keeps the server's log beside the results as `log_name`, and removes the
        data directory."""
        self.cleanup()
        if self.server_log_path and self.server_log_path.exists():
            saved = Path(self.args.output).parent / log_name
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.server_log_path, saved)
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def create_instance(self) -> None:
        try:
            self.create_user()
            instance = self.run_instance(self.args.environment)
            self.instance_id = instance["id"]
        except (APIError, OSError, KeyError, TypeError) as error:
            raise SystemExit(f"bench: could not create the user, token and instance: {error}")
        self.container_id = container_of(self.instance_id)
        terminal = instance.get("terminal") or {}
        self.terminal_spec = terminal
        # The baselines run exactly what Berth's terminal runs: command, user, working directory, TERM.
        self.shell_argv = ["-e", "TERM=xterm-256color"]
        if terminal.get("user"):
            self.shell_argv += ["-u", terminal["user"]]
        if terminal.get("workdir"):
            self.shell_argv += ["-w", terminal["workdir"]]
        self.shell_argv += [self.container_id, *(terminal.get("command") or ["/bin/sh"])]
        log(f"instance {self.instance_id} running in container {self.container_id[:12]}; "
            f"shell: {' '.join(terminal.get('command') or ['/bin/sh'])} as {terminal.get('user') or 'the image user'}")

    def create_user(self) -> None:
        """A player named bench and an API token of theirs (self.user_id, self.user_token)."""
        assert self.api
        _, user = self.api.call("POST", "/api/v1/users", self.admin_token, {"name": "bench"})
        self.user_id = user["id"]
        _, token = self.api.call("POST", f"/api/v1/users/{self.user_id}/tokens", self.admin_token, {"name": "bench"})
        self.user_token = token["token"]

    def run_instance(self, environment: str) -> dict:
        """Creates an instance of `environment` as the bench user and waits until it is running."""
        assert self.api
        _, payload = self.api.call("POST", "/api/v1/instances", self.user_token, {"environment": environment})
        instance = instance_of(payload)
        deadline = time.monotonic() + self.args.timeout
        while instance.get("state") != "running":
            if instance.get("state") in ("failed", "stopped", "expired") or time.monotonic() > deadline:
                raise SystemExit(f"bench: instance {instance.get('id')} did not run (state {instance.get('state')})")
            time.sleep(0.05)
            _, payload = self.api.call("GET", f"/api/v1/instances/{instance['id']}", self.user_token)
            instance = instance_of(payload)
        return instance

    def start_terminado(self) -> None:
        self.terminado_port = free_port()
        command = [sys.executable, str(Path(__file__).resolve()), "--terminado-server", str(self.terminado_port), "--",
                   "docker", "exec", "-it", *self.shell_argv]
        log("starting terminado: docker exec -it " + " ".join(self.shell_argv))
        log_path = (self.data_dir or Path(tempfile.gettempdir())) / "terminado.log"
        with open(log_path, "wb") as terminado_log:
            self.terminado = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                              stderr=terminado_log, start_new_session=True, text=True)
        ready, _, _ = select.select([self.terminado.stdout], [], [], 30)
        if not ready or "ready" not in self.terminado.stdout.readline():
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise SystemExit(f"bench: the terminado server did not start\n{tail}")

    # -- terminals -----------------------------------------------------------------------------

    def open_berth(self, instance_id: str | None = None) -> Terminal:
        """Berth's terminal WebSocket to `instance_id` (default: the instance), through a ticket."""
        assert self.api
        _, ticket = self.api.call("POST", f"/api/v1/instances/{instance_id or self.instance_id}/terminal/ticket", self.user_token)
        return BerthTerminal(self.port, f"{ticket['url']}&cols={COLS}&rows={ROWS}")

    def open_terminals(self) -> dict[str, Terminal]:
        terminals: dict[str, Terminal] = {}
        for name, opener in (
            ("berth", self.open_berth),
            ("docker-exec-it", lambda: PtyTerminal(["docker", "exec", "-it", *self.shell_argv])),
            ("terminado", lambda: TerminadoTerminal(self.terminado_port)),
            ("docker-api-raw", lambda: RawHijackTerminal(
                self.container_id, self.terminal_spec.get("command") or ["/bin/sh"],
                self.terminal_spec.get("user"), self.terminal_spec.get("workdir"))),
        ):
            term = opener()
            self.terminals.append(term)
            wait_for_prompt(term)
            terminals[name] = term
            log(f"{name}: shell prompt reached")
        self.named_terminals = terminals
        self.keeper = threading.Thread(target=self.keep_alive, name="keeper", daemon=True)
        self.keeper.start()
        return terminals

    def keep_alive(self) -> None:
        """Services each terminal not in use by a measurement, twice a second."""
        while not self.keeper_stop.wait(0.5):
            for term in list(self.terminals):
                if term.lock.acquire(blocking=False):
                    try:
                        term.service()
                    except Exception as error:  # noqa: BLE001 - the measurement will report it
                        log(f"warning: {term.name} while idle: {error}")
                    finally:
                        term.lock.release()

    # -- phases --------------------------------------------------------------------------------

    def keystrokes(self, terminals: dict[str, Terminal]) -> dict[str, list[float]]:
        args = self.args
        samples: dict[str, list[float]] = {name: [] for name in terminals}
        for name, term in terminals.items():
            with term.lock:
                keystroke_round(term, args.warmup_keys, args.clear_every, args.key_gap / 1000, args.timeout)
        per_round = max(1, args.keys // args.rounds)
        for index in range(args.rounds):
            for name, term in terminals.items():
                with term.lock:
                    samples[name] += keystroke_round(term, per_round, args.clear_every, args.key_gap / 1000, args.timeout)
            summary = ", ".join(f"{name} p50 {statistics.median(values):.2f} ms" for name, values in samples.items())
            log(f"keystrokes round {index + 1}/{args.rounds}: {summary}")
        return samples

    def docker_exec_t(self, size: int) -> dict:
        """`docker exec -t <container> sh -c '...' > file` through the CLI, as the same user."""
        directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.NamedTemporaryFile(prefix="berth-bench-", dir=directory) as output:
            user = self.shell_argv[self.shell_argv.index("-u") + 1] if "-u" in self.shell_argv else None
            command = ["docker", "exec", "-t", *(["-u", user] if user else []), self.container_id,
                       "sh", "-c", throughput_command(size)]
            started = time.perf_counter()
            result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.PIPE,
                                    timeout=self.args.timeout)
            elapsed = time.perf_counter() - started
            received = os.fstat(output.fileno()).st_size
        if result.returncode != 0 or received < size:
            raise BenchError(f"docker exec -t: status {result.returncode}, {received} of {size} bytes, "
                             f"{result.stderr.decode(errors='replace').strip()[:200]}")
        return {"seconds": elapsed, "bytes": size, "receivedBytes": received, "mbps": size / elapsed / 1e6}

    def docker_exec_overhead(self) -> float:
        """Milliseconds of `docker exec -t <container> true`: the fixed cost in the CLI figure."""
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(["docker", "exec", "-t", self.container_id, "true"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=self.args.timeout)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    def throughput(self, terminals: dict[str, Terminal]) -> dict[str, list[dict]]:
        args = self.args
        names = ("berth", "docker-exec-t", "terminado", "docker-exec-it", "docker-api-raw", "docker-api-raw-exec")
        runs: dict[str, list[dict]] = {name: [] for name in names}
        user = self.shell_argv[self.shell_argv.index("-u") + 1] if "-u" in self.shell_argv else None

        def one(name: str, size: int) -> dict:
            if name == "docker-exec-t":
                return self.docker_exec_t(size)
            if name == "docker-api-raw-exec":
                return raw_hijack_throughput(self.container_id, user, size, args.timeout)
            with terminals[name].lock:
                return shell_throughput(terminals[name], size, args.timeout)

        self.cpu = CpuMeter(self.container_id)
        extra = {"berth": self.server.pid, "terminado (+ its docker CLI)": self.terminado.pid}
        pty_term = terminals.get("docker-exec-it")
        if isinstance(pty_term, PtyTerminal):
            extra["docker exec -it CLI"] = pty_term.pid

        # One small warm-up each, then interleaved timed runs.
        for name in names:
            one(name, min(args.size, 1 << 20))
        for index in range(args.throughput_runs):
            for name in names:
                before = self.cpu.snapshot(extra)
                result = one(name, args.size)
                result["cpuSeconds"] = self.cpu.difference(before, self.cpu.snapshot(extra))
                runs[name].append(result)
                log(f"throughput run {index + 1}/{args.throughput_runs}: {name:<19} {result['mbps']:8.1f} MB/s"
                    f" ({result['seconds']:.2f} s for {args.size} bytes)")
        return runs

    def cleanup(self) -> None:
        """Best effort: nothing this run created may be left behind, whatever happened."""
        self.keeper_stop.set()
        if self.keeper:
            self.keeper.join(timeout=5)
        for term in self.terminals:
            try:
                term.close()
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        if self.terminado and self.terminado.poll() is None:
            try:
                os.killpg(self.terminado.pid, signal.SIGTERM)
                self.terminado.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.terminado.pid, signal.SIGKILL)
                self.terminado.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self.api and self.instance_id and self.server and self.server.running:
            try:
                self.api.call("DELETE", f"/api/v1/instances/{self.instance_id}", self.user_token)
            except (APIError, OSError):
                pass
        if self.server:
            self.server.stop()
        leftovers = {
            f"berth.namespace={self.namespace}": remove_namespace(self.namespace),
            BASELINE_LABEL: remove_containers(BASELINE_LABEL),
        }
        for label, removed in leftovers.items():
            if removed:
                log(f"removing {removed} leftover container(s) (label={label})")


# -- report ------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def render(results: dict) -> str:
    keys, put = results["keystrokes"], results["throughput"]
    lines = [
        "",
        f"Terminal: {results['environment']} ({results['image']}), shell {results['shell']}, one container for all",
        f"Keystroke echo, {results['keysPerTerminal']} keystrokes each, {results['rounds']} interleaved rounds",
        f"  {'':<34} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}",
    ]
    labels = {
        "berth": "berth WebSocket",
        "docker-exec-it": "docker exec -it (CLI under a pty)",
        "terminado": "terminado WebSocket",
        "docker-api-raw": "engine API hijack, raw (info)",
    }
    for name, label in labels.items():
        s = keys[name]["summary"]
        if s.get("count"):
            lines.append(f"  {label:<34} {s['p50']:>8.2f} {s['p90']:>8.2f} {s['p99']:>8.2f} {s['mean']:>8.2f} {s['max']:>8.2f}")
        else:
            lines.append(f"  {label:<34} {'-':>8}")
    berth_p99 = keys["berth"]["summary"].get("p99")
    for name in ("docker-exec-it", "terminado"):
        other = keys[name]["summary"].get("p99")
        r = ratio(berth_p99, other)
        lines.append(f"  berth p99 / {name} p99: {r:.2f}" if r is not None else f"  berth p99 / {name} p99: n/a")
    lines.append(f"  berth p99 vs target {TARGET_KEYSTROKE_P99_MS:g} ms: "
                 + (f"{berth_p99:.2f} ms" if berth_p99 is not None else "n/a"))
    size_mib = results["throughputBytes"] / (1024 * 1024)
    lines += [
        f"Output throughput, `{results['throughputCommand']}` ({size_mib:g} MiB), {results['throughputRuns']} runs each, MB/s (10^6 B/s)",
        f"  {'':<34} {'median':>8} {'best':>8} {'worst':>8} {'chunk B':>8}",
    ]
    put_labels = {
        "berth": "berth WebSocket",
        "docker-exec-t": "docker exec -t > file (CLI)",
        "terminado": "terminado WebSocket",
        "docker-exec-it": "docker exec -it (CLI, pty; info)",
        "docker-api-raw": "engine API hijack, shell (info)",
        "docker-api-raw-exec": "engine API hijack, sh -c (info)",
    }
    for name, label in put_labels.items():
        s = put[name]["summary"]
        if s.get("count"):
            chunk = f"{s['meanChunkBytes']:>8.0f}" if s.get("meanChunkBytes") else f"{'-':>8}"
            lines.append(f"  {label:<34} {s['median']:>8.1f} {s['best']:>8.1f} {s['worst']:>8.1f} {chunk}")
        else:
            lines.append(f"  {label:<34} {'-':>8}")
    columns = [("container", "container"), ("containerd-shim", "shim"), ("dockerd", "dockerd"), ("containerd", "ctrd"),
               ("docker CLI (exited)", "cli -t"), ("docker exec -it CLI", "cli -it"), ("berth", "berth"),
               ("terminado (+ its docker CLI)", "terminado"), ("bench client", "client")]
    lines.append("  (chunk B: mean bytes per WebSocket message, or per read of this client for the pty and raw sockets)")
    lines.append("  CPU seconds per run (medians; the container column is its cgroup: head, tr, sh):")
    lines.append(f"  {'':<34} {'elapsed':>8}" + "".join(f" {short:>9}" for _, short in columns))
    for name, label in put_labels.items():
        s = put[name]["summary"]
        if not s.get("count"):
            continue
        cpu = s.get("cpuSecondsMedian", {})
        lines.append(f"  {label:<34} {s['secondsMedian']:>8.2f}"
                     + "".join(f" {cpu[key]:>9.2f}" if key in cpu else f" {'-':>9}" for key, _ in columns))
    r = results["ratios"]
    lines.append("  berth / docker exec -t: " + (f"{r['throughputVsDockerExecT']:.2f}" if r["throughputVsDockerExecT"] is not None else "n/a")
                 + "   berth / terminado: " + (f"{r['throughputVsTerminado']:.2f}" if r["throughputVsTerminado"] is not None else "n/a"))
    lines.append(f"  (docker exec -t <container> true takes {results['dockerExecOverheadMs']:.0f} ms; it is inside the CLI figure)")
    t = results["targets"]
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    lines += [
        "Targets (medians):",
        f"  throughput >= {TARGET_THROUGHPUT_VS_DOCKER}x docker exec -t: {met(t['throughputVsDockerExecTMet'])}",
        f"  throughput >= {TARGET_THROUGHPUT_VS_TERMINADO}x terminado: {met(t['throughputVsTerminadoMet'])}",
        f"  keystroke echo p99 <= {TARGET_KEYSTROKE_P99_MS} ms: {met(t['keystrokeP99Met'])}",
    ]
    return "\n".join(lines)


def machine_info(load_start: tuple[float, float, float], **versions: str | None) -> dict:
    """The machine a run measured: cores, kernel, Python, Docker, `versions` and the load."""
    return {
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "dockerServer": command_output(["docker", "version", "-f", "{{.Server.Version}}"]),
        "dockerClient": command_output(["docker", "version", "-f", "{{.Client.Version}}"]),
        **versions,
        "loadAverageAtStart": [round(v, 2) for v in load_start],
        "loadAverageAtEnd": [round(v, 2) for v in os.getloadavg()],
    }


def binary_info(berth: str) -> dict:
    """The berth binary a run used, when it was built and the checkout's commit."""
    return {
        "berthBinary": os.path.abspath(berth),
        # The binary may be older than the checkout's HEAD: its own build time tells which code ran.
        "berthBinaryModified": datetime.datetime.fromtimestamp(os.path.getmtime(berth), datetime.timezone.utc).isoformat(),
        "gitCommit": command_output(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
    }


def add_keystroke_arguments(parser: argparse.ArgumentParser, rounds: int, rounds_help: str) -> None:
    """The keystroke-echo options, shared with bench/recording.py."""
    parser.add_argument("--keys", type=int, default=1000, help="counted keystrokes per terminal (default 1000)")
    parser.add_argument("--rounds", type=int, default=rounds, help=f"{rounds_help} (default {rounds})")
    parser.add_argument("--warmup-keys", type=int, default=20, help="uncounted keystrokes per terminal first (default 20)")
    parser.add_argument("--clear-every", type=int, default=40, help="Ctrl-U after this many keystrokes (default 40)")
    parser.add_argument("--key-gap", type=float, default=2.0, help="milliseconds between an echo and the next keystroke (default 2)")


def main() -> int:
    if sys.argv[1:2] == ["--terminado-server"]:
        return serve_terminado(sys.argv[2:])

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environment", default="lab-starter", help="environment of the instance (default lab-starter)")
    add_keystroke_arguments(parser, rounds=5, rounds_help="interleaved rounds the keystrokes are split into")
    parser.add_argument("--size", type=parse_size, default=parse_size("256M"), help="bytes of output per throughput run (default 256M)")
    parser.add_argument("--throughput-runs", type=int, default=3, help="timed throughput runs per path (default 3)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds any one step may take (default 300)")
    add_bench_arguments(parser, "terminal.json")
    args = parser.parse_args()

    if berth_missing(args.berth):
        return 1
    if shutil.which("docker") is None:
        print("bench: error: the docker CLI is needed for the baselines; run scripts/ensure-docker.sh", file=sys.stderr)
        return 1
    try:
        import terminado  # noqa: F401
        import tornado  # noqa: F401
    except ImportError:
        print("bench: error: terminado and tornado are needed for the baseline; run scripts/ensure-bench-python.sh",
              file=sys.stderr)
        return 1
    if args.keys < 1 or args.rounds < 1 or args.throughput_runs < 1 or args.size < 1:
        parser.error("--keys, --rounds, --throughput-runs and --size must be positive")

    bench = Benchmark(args)
    started_at = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    if load_start[0] > 1.0:
        log(f"warning: the load average is {load_start[0]:.2f} before the run: other work on this machine"
            " will show in the figures")
    status = 0
    keystrokes: dict[str, list[float]] = {}
    throughput: dict[str, list[dict]] = {}
    overhead_ms = None
    try:
        if not args.no_env_build:
            bench.build_images()
        bench.start_server()
        bench.create_instance()
        bench.start_terminado()
        terminals = bench.open_terminals()
        keystrokes = bench.keystrokes(terminals)
        throughput = bench.throughput(terminals)
        overhead_ms = bench.docker_exec_overhead()
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        status = 130
    except (BenchError, APIError, OSError, ValueError, subprocess.TimeoutExpired) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        bench.print_server_log()
        status = 1
    finally:
        bench.finish("terminal-server.log")
    if status:
        return status

    key_summaries = {name: summarize_latency(values) for name, values in keystrokes.items()}
    put_summaries = {name: summarize_throughput(values) for name, values in throughput.items()}
    berth_mbps = put_summaries["berth"].get("median")
    vs_docker = ratio(berth_mbps, put_summaries["docker-exec-t"].get("median"))
    vs_terminado = ratio(berth_mbps, put_summaries["terminado"].get("median"))
    berth_p99 = key_summaries["berth"].get("p99")
    results = {
        "benchmark": "terminal",
        "startedAt": started_at.isoformat(),
        "command": " ".join([sys.argv[0], *sys.argv[1:]]),
        "machine": machine_info(load_start, terminado=getattr(sys.modules.get("terminado"), "__version__", None),
                                tornado=getattr(sys.modules.get("tornado"), "version", None)),
        **binary_info(args.berth),
        "environment": args.environment,
        "image": bench.image,
        "namespace": bench.namespace,
        "shell": " ".join(bench.shell_argv[bench.shell_argv.index(bench.container_id) + 1:]) if bench.container_id else None,
        "baselineShell": "docker exec -it " + " ".join(bench.shell_argv).replace(bench.container_id or "", "<container>"),
        "terminalSize": {"cols": COLS, "rows": ROWS},
        "keysPerTerminal": len(keystrokes.get("berth", [])),
        "rounds": args.rounds,
        "keyGapMs": args.key_gap,
        "clearEvery": args.clear_every,
        "keystrokes": {name: {"summary": key_summaries[name], "samples_ms": [round(v, 4) for v in values]}
                       for name, values in keystrokes.items()},
        "throughputCommand": throughput_command(args.size),
        "throughputBytes": args.size,
        "throughputRuns": args.throughput_runs,
        "throughput": {name: {"summary": put_summaries[name], "runs": runs} for name, runs in throughput.items()},
        "dockerExecOverheadMs": overhead_ms,
        "ratios": {
            "throughputVsDockerExecT": vs_docker,
            "throughputVsTerminado": vs_terminado,
            "keystrokeP99VsDockerExecIt": ratio(berth_p99, key_summaries["docker-exec-it"].get("p99")),
            "keystrokeP99VsTerminado": ratio(berth_p99, key_summaries["terminado"].get("p99")),
            "keystrokeP99VsTarget": ratio(berth_p99, TARGET_KEYSTROKE_P99_MS),
        },
        "targets": {
            "throughputVsDockerExecTMin": TARGET_THROUGHPUT_VS_DOCKER,
            "throughputVsDockerExecTMet": vs_docker is not None and vs_docker >= TARGET_THROUGHPUT_VS_DOCKER,
            "throughputVsTerminadoMin": TARGET_THROUGHPUT_VS_TERMINADO,
            "throughputVsTerminadoMet": vs_terminado is not None and vs_terminado >= TARGET_THROUGHPUT_VS_TERMINADO,
            "keystrokeP99MaxMs": TARGET_KEYSTROKE_P99_MS,
            "keystrokeP99Met": berth_p99 is not None and berth_p99 <= TARGET_KEYSTROKE_P99_MS,
        },
    }
    print(render(results))
    write_results(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
