"""Helpers for the proxy tests: a raw HTTP upstream that echoes what it received, and the proxy as a process.

Loopback only; every socket and wait has a timeout.
"""

from __future__ import annotations

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from contract_tests.process import free_port

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
