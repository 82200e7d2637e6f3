"""Helpers for the proxy tests: a raw HTTP upstream that echoes what it received, a hostile one that
sends exactly the bad bytes a test names, and the proxy as a process or served in a thread.

Loopback only; every socket and wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from contract_tests.process import free_port
from contract_tests.proxy.run import _listen, http_server
from contract_tests.proxy.server import ProxyApp

HOST = "127.0.0.1"


class _EchoHandler(socketserver.StreamRequestHandler):
    """One HTTP/1.1 request per connection: ``/slow`` waits 3 s, ``/big?n=N`` answers N bytes, the rest echoes."""

    timeout = 10

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        request_line, *header_lines = head.split(b"\r\n")
        headers = [tuple(line.split(b": ", 1)) for line in header_lines]
        lower = {k.lower(): v for k, v in headers}
        body = rest
        if b"content-length" in lower:
            size = int(lower[b"content-length"])
            while len(body) < size:
                chunk = self.request.recv(1 << 20)
                if not chunk:
                    break
                body += chunk
        elif lower.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = self._dechunk(rest)
        method, target, _ = request_line.split(b" ", 2)
        self.server.seen.append((method, target, headers, body))  # type: ignore[attr-defined]
        if target.startswith(b"/slow"):
            time.sleep(3)
        if target.startswith(b"/big"):
            payload = b"x" * int(target.split(b"n=")[1])
            content_type = b"application/octet-stream"
        else:
            echo = {
                "method": method.decode("latin-1"),
                "target": target.decode("latin-1"),
                "bodyLength": len(body),
                "bodySha256": hashlib.sha256(body).hexdigest(),
            }
            payload, content_type = json.dumps(echo).encode(), b"application/json"
        answer = b"HTTP/1.1 299 Odd\r\ncontent-type: " + content_type + b"\r\nx-odd:  spaced value\r\n"
        answer += b"content-length: %d\r\nconnection: close\r\n\r\n" % len(payload)
        with contextlib.suppress(OSError):
            self.request.sendall(answer + payload)

    def _dechunk(self, data: bytes) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in data:
                data += self.request.recv(65536)
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += self.request.recv(1 << 20)
            if size == 0:
                return body
            body, data = body + data[:size], data[size + 2 :]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def echo_upstream() -> Iterator[tuple[str, list[tuple[bytes, bytes, list[tuple[bytes, ...]], bytes]]]]:
    """A raw upstream on a free port: yields (base URL, what it received)."""
    server = _Server((HOST, 0), _EchoHandler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class ProxyProcess:
    url: str
    process: subprocess.Popen[str]

    def stop(self, sig: int = 15, timeout: float = 30) -> tuple[int, str]:
        """Send ``sig`` (SIGTERM by default) and return (exit code, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
        return self.process.returncode, err


def proxy_command(upstream: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "contract_tests.cli", "proxy", "--upstream", upstream, "--port", str(port), *extra]


@contextlib.contextmanager
def proxy_process(upstream: str, *extra: str) -> Iterator[ProxyProcess]:
    """``sales-contract proxy`` on a free port, ready to use; stopped (SIGTERM) on exit if still running."""
    port = free_port()
    process = subprocess.Popen(
        proxy_command(upstream, port, *extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proxy = ProxyProcess(f"http://{HOST}:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the proxy exited with {process.returncode}: {process.stderr.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(proxy.url + "/__proxy/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the proxy did not start within 30 s")
            time.sleep(0.1)
        yield proxy
    finally:
        if process.poll() is None:
            proxy.stop()


def raw_exchange(url: str, data: bytes, timeout: float = 15) -> bytes:
    """Send raw bytes to ``url``'s host and port; return everything read until the server closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(1 << 20):
            received += chunk
    return received


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- a hostile upstream

STRAY = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n"smuggled"'
"""An answer to no request: sent after a real one, it must never reach the proxy's next client."""
BOMB_SIZE = 64 * 1024 * 1024


def _bomb() -> bytes:
    """A small gzip body that inflates to ``BOMB_SIZE`` zero bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1024 * 1024)
    return b"".join([*(packer.compress(zeros) for _ in range(BOMB_SIZE // len(zeros))), packer.flush()])


def _answer(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    lines = b"".join(h + b"\r\n" for h in headers)
    return b"HTTP/1.1 " + status + b"\r\n" + lines + b"content-length: %d\r\n\r\n" % len(body) + body


def _plain(target: bytes) -> bytes:
    return _answer(json.dumps({"target": target.decode("latin-1")}).encode(), b"content-type: application/json")


class _HostileHandler(socketserver.StreamRequestHandler):
    """Keep-alive HTTP/1.1: per request, the bytes its path names (``HOSTILE``); any other path is a
    well-formed JSON answer naming the request target.

    A script that sent stray bytes sets ``out_of_step``: a request that still comes on that connection
    is one the proxy sent on a connection it should have closed (``server.reused``)."""

    timeout = 10
    out_of_step = False

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                request_line = self.rfile.readline(65536)
                if not request_line:
                    return
                while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass  # the proxy's requests in these tests have no body
                target = request_line.split(b" ")[1]
                self.server.seen.append(target)  # type: ignore[attr-defined]
                if self.out_of_step:
                    self.server.reused.append(target)  # type: ignore[attr-defined]
                script = HOSTILE.get(target.split(b"?")[0].decode("latin-1"))
                if script is None:
                    self.wfile.write(_plain(target))
                elif not script(self, target):
                    return  # the script ended the connection

    def trickle(self, data: bytes, pause: float = 0.05) -> None:
        for byte in data:
            self.wfile.write(bytes([byte]))
            time.sleep(pause)


def _extra(handler: _HostileHandler, target: bytes) -> bool:
    handler.wfile.write(_plain(target) + STRAY)  # one write: the stray answer right behind the real one
    handler.out_of_step = True
    return True


def _idle_extra(handler: _HostileHandler, target: bytes) -> bool:
    handler.wfile.write(_plain(target))
    time.sleep(0.05)  # the proxy has the answer and pools the connection; then, while it is idle:
    handler.wfile.write(STRAY)
    handler.out_of_step = True
    handler.server.stray_sent.set()  # type: ignore[attr-defined]
    return True


def _cut_chunked(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n"
    )
    return False


def _cut_length(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789")
    return False


def _status(code: bytes) -> Callable[[_HostileHandler, bytes], bool]:
    def script(handler: _HostileHandler, _target: bytes) -> bool:
        handler.wfile.write(_answer(b"{}", b"content-type: application/json", status=code + b" Odd"))
        return True

    return script


def _many_headers(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(_answer(b"{}", *(b"x-h%d: v" % i for i in range(150))))
    return True


def _huge_header(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(_answer(b"{}", b"x-huge: " + b"v" * (1024 * 1024)))
    return True


def _bomb_answer(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(_answer(handler.server.bomb, b"content-type: application/json", b"content-encoding: gzip"))  # type: ignore[attr-defined]
    return True


def _trickle_head(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    handler.trickle(b"x-slow: " + b"s" * 100 + b"\r\ncontent-length: 0\r\n\r\n")
    return False


def _trickle_body(handler: _HostileHandler, _target: bytes) -> bool:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n")
    handler.trickle(b"b" * 100)
    return False


def _hop(handler: _HostileHandler, target: bytes) -> bool:
    body = json.dumps({"target": target.decode("latin-1")}).encode()
    handler.wfile.write(
        _answer(body, b"content-type: application/json", b"connection: x-upstream-hop", b"x-upstream-hop: 1")
    )
    return True


HOSTILE: dict[str, Callable[[_HostileHandler, bytes], bool]] = {
    "/extra": _extra,
    "/idle-extra": _idle_extra,
    "/cut-chunked": _cut_chunked,
    "/cut-length": _cut_length,
    "/status-999": _status(b"999"),
    "/status-000": _status(b"000"),
    "/many-headers": _many_headers,
    "/huge-header": _huge_header,
    "/bomb": _bomb_answer,
    "/trickle-head": _trickle_head,
    "/trickle-body": _trickle_body,
    "/hop": _hop,
}


@dataclass
class Hostile:
    url: str
    seen: list[bytes]
    reused: list[bytes]
    """Requests the proxy sent on a connection after the upstream had sent it stray bytes."""
    stray_sent: threading.Event
    bomb: bytes


@contextlib.contextmanager
def hostile_upstream() -> Iterator[Hostile]:
    """The hostile upstream on a free port."""
    server = _Server((HOST, 0), _HostileHandler)
    hostile = Hostile(f"http://{HOST}:{server.server_address[1]}", [], [], threading.Event(), _bomb())
    server.seen, server.reused = hostile.seen, hostile.reused  # type: ignore[attr-defined]
    server.stray_sent, server.bomb = hostile.stray_sent, hostile.bomb  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def served(app: ProxyApp) -> Iterator[str]:
    """``app`` served as ``sales-contract proxy`` serves it (the same HTTP server and limits) on a free
    loopback port, in a thread of this process, so a test can look at its findings; yields its URL."""
    sock = _listen(HOST, 0)
    server = http_server(app)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the proxy did not start within 30 s")
            time.sleep(0.02)
        yield f"http://{HOST}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
