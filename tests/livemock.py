"""A real ``sales-mock serve`` process on a free 127.0.0.1 port, and HTTP helpers that never hang.

Used by the robustness and concurrency tests, which need real sockets (raw bytes the ASGI test
client would normalise, disconnects, concurrency across connections). Loopback only; every
socket, HTTP call and subprocess wait has a timeout.

``start_mock`` and ``running_mock`` are the other way in: ``serve --port 0`` with any options,
the base URL read from the line the server prints once it listens (the browser, persistence and
plain Schemathesis tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from contract_tests.process import free_port, stop

HOST = "127.0.0.1"
MOCK_CLOCK = "2025-03-01T00:00:00Z"
DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
# the environment that points ``sales-contract check --target URL`` at a server with the demo fixtures
DEMO_SUITE_ENV = {
    "SALES_API_KEY": DEMO_KEY,
    "SALES_API_ENTITY_ID": DEMO_ENTITY,
    "SALES_API_READONLY_KEY": "ak_demo_readonly",
    "SALES_API_OTHER_ENTITY_ID": "f1f5c646-a768-4f15-ab7e-5e3088389de0",
    "SALES_API_OTHER_KEY": "ak_other_readwrite",
}
TIMEOUT = 10.0


@dataclass
class Reply:
    """A parsed HTTP answer; ``json`` is None when the body is not JSON."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _read_reply(sock: socket.socket) -> Reply | None:
    """Parse one answer from ``sock``; None if the server closed without answering."""
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        body = response.read()
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.IncompleteRead):
        return None
    finally:
        response.close()
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


@dataclass
class LiveMock:
    """One running mock server process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = DEMO_KEY,
        headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> Reply:
        """One request on a fresh connection (http.client, so the request is sent as given)."""
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()

    def raw(self, data: bytes, *, timeout: float = TIMEOUT, half_close: bool = False) -> Reply | None:
        """Send ``data`` as is on a new connection and read one answer (None: closed without one).
        ``half_close`` shuts the sending side after ``data``, as a client that gave up would."""
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)
                if half_close:
                    sock.shutdown(socket.SHUT_WR)
            return _read_reply(sock)

    def raw_streamed(self, head: bytes, chunks: Iterator[bytes], *, timeout: float = TIMEOUT) -> Reply | None:
        """Send ``head`` then ``chunks`` until the server answers or closes (for bodies it should refuse early)."""
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            try:
                sock.sendall(head)
                for chunk in chunks:
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:
                        break
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return _read_reply(sock)

    def alive(self) -> bool:
        """The process runs and answers a health request promptly."""
        if self.process.poll() is not None:
            return False
        try:
            return self.request("GET", "/__admin/health", token=None, timeout=5).status == 200
        except OSError:
            return False

    def new_entity(self, fixtures: str = "demo") -> tuple[str, str]:
        """A fresh entity (frozen at ``MOCK_CLOCK``): (entityId, read-write key)."""
        reply = self.request(
            "POST",
            "/__admin/entities",
            {"name": "Robustness Co", "fixtures": fixtures, "clock": MOCK_CLOCK},
            token=None,
        )
        assert reply.status == 201, reply.body
        made = reply.json
        return made["entityId"], made["apiKeys"]["readWrite"]

    def entity_state(self, entity_id: str) -> Any:
        """The exported state of one entity (from ``GET /__admin/state``)."""
        reply = self.request("GET", "/__admin/state", token=None, timeout=30)
        assert reply.status == 200, reply.body
        return find_entity(reply.json, entity_id)

    def fingerprint(self, entity_id: str) -> str:
        """A hash of everything the entity holds: equal before and after means no state change."""
        state = self.entity_state(entity_id)
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()

    def log_tail(self, size: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]


def find_entity(state: Any, entity_id: str) -> Any:
    """The part of an exported state whose ``id`` is ``entity_id`` (breadth first, layout-agnostic)."""
    todo: deque[Any] = deque([state])
    while todo:
        node = todo.popleft()
        if isinstance(node, dict):
            if node.get("id") == entity_id:
                return node
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    raise AssertionError(f"entity {entity_id} is not in the exported state")


def serve_command(port: int) -> list[str]:
    """``sales-mock serve`` through this interpreter, so the same environment is used."""
    launcher = "import sys; from mock_server.cli import main; sys.exit(main())"
    return [sys.executable, "-c", launcher, "serve", "--host", HOST, "--port", str(port), "--clock", MOCK_CLOCK]


@contextlib.contextmanager
def live_mock(log_dir: Path, extra_args: tuple[str, ...] = (), *, open_files: int | None = None) -> Iterator[LiveMock]:
    """Start the mock (allowed ``open_files`` open files, soft and hard, when given), wait (at most
    30 s) until it answers, yield it, and always stop it."""
    port = free_port()
    log_path = log_dir / f"sales-mock-{port}.log"

    def limit_files() -> None:
        if open_files is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*serve_command(port), *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_files if open_files is not None else None,
        )
    mock = LiveMock(port, process, log_path)
    try:
        deadline = time.monotonic() + 30
        while not mock.alive():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sales-mock did not start (exit {process.poll()}):\n{mock.log_tail()}")
            time.sleep(0.05)
        yield mock
    finally:
        stop(process, timeout=10)


def start_mock(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``mock_server.cli serve --port 0 *args`` through this interpreter, its output piped: the process and
    the base URL from the first line it prints (once it listens). Killed, and an error, when it prints none."""
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise AssertionError(f"the mock did not start: {line!r} {process.communicate(timeout=10)}")
    return process, "http://" + line.split("http://", 1)[1].split()[0]


@contextlib.contextmanager
def running_mock(*args: str, stop_signal: int = signal.SIGTERM, stop_timeout: float = 20.0) -> Iterator[str]:
    """``start_mock(*args)``; yield its base URL, then stop it with ``stop_signal`` (killed after ``stop_timeout``)."""
    process, url = start_mock(*args)
    try:
        yield url
    finally:
        stop(process, sig=stop_signal, timeout=stop_timeout)


class _Answer(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def answering(status: int = 200) -> Iterator[str]:
    """A loopback HTTP server (not a mock) that answers every GET with ``status`` and no body; its base URL."""
    handler = type("Handler", (_Answer,), {"status": status})
    httpd = ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
