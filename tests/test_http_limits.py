"""What one connection may make ``sales-mock serve`` hold (``mock_server.http_protocol``): request heads
over 64 KiB or 100 headers are 431, slow heads and bodies 408 after ``--read-timeout``, and half-open
connections cannot starve normal requests, even under a low open-file limit. A real server process
on a free 127.0.0.1 port; every socket has a timeout, every wait a generous bound (outcomes are
asserted, never speed)."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from pathlib import Path

import pytest
from livemock import DEMO_ENTITY, DEMO_KEY, HOST, LiveMock, Reply, _read_reply, live_mock

pytestmark = [pytest.mark.live]

PLANS = f"/api/sales/plans?entityId={DEMO_ENTITY}"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send(mock: LiveMock, data: bytes) -> Reply | None:
    """Send ``data`` (as much as the server takes before it answers) and read the answer."""
    with socket.create_connection((HOST, mock.port), timeout=10) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        try:
            return _read_reply(sock)
        except ConnectionResetError:
            return None


def _assert_json(reply: Reply | None, status: int) -> None:
    assert reply is not None, "the server closed the connection without an answer"
    assert reply.status == status, (reply.status, reply.body[:200])
    assert reply.headers["content-type"] == "application/json" and isinstance(reply.json["error"], str)


def _head(*lines: str) -> bytes:
    return ("\r\n".join([f"GET {PLANS} HTTP/1.1", f"Host: {HOST}", *lines]) + "\r\n\r\n").encode("latin-1")


def test_oversized_heads_are_431_and_leave_nothing_behind(tmp_path: Path) -> None:
    with live_mock(tmp_path, ("--journal-size", "100")) as mock:
        _assert_json(_send(mock, _head("X-Pad: " + "a" * 70_000)), 431)
        _assert_json(_send(mock, _head(*(f"X-{n}: a" for n in range(101)))), 431)
        _assert_json(_send(mock, ("GET /api/sales/plans?x=" + "a" * 70_000 + " HTTP/1.1\r\n\r\n").encode()), 414)
        _assert_json(_send(mock, _head("X-Pad: " + "a" * 40_000).replace(b"?", b"?x=" + b"a" * 40_000 + b"&")), 431)
        ok = _send(mock, _head(f"Authorization: Bearer {DEMO_KEY}", "X-Pad: " + "a" * 60_000, "Connection: close"))
        assert ok is not None and ok.status == 200  # just under the limit: served
        before = _rss_kib(mock.process.pid)
        flood = b"GET /api/sales/plans HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: " + b"a" * (8 << 20) + b"\r\n\r\n"
        for _ in range(40):  # unauthenticated, 8 MiB of headers each
            reply = _send(mock, flood)
            assert reply is None or reply.status == 431
        grown = _rss_kib(mock.process.pid) - before
        assert grown < 64 * 1024, f"the server kept {grown} KiB after 40 requests with 8 MiB headers"
        assert mock.alive()
        journal = mock.request("GET", "/__admin/requests?limit=100", token=None).json["data"]
        assert not any(entry["status"] == 431 for entry in journal)  # refused before the app: not journaled


def test_slow_heads_and_bodies_are_408_and_change_nothing(tmp_path: Path) -> None:
    with live_mock(tmp_path, ("--read-timeout", "0.5")) as mock:
        plans_before = len(mock.request("GET", PLANS).json["data"])
        body = json.dumps({"code": "slow", "name": "Slow", "currency": "USD", "amount": 100, "interval": "month"})
        head = (
            f"POST {PLANS} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {DEMO_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((HOST, mock.port), timeout=15) as slow_head:
            slow_head.sendall(head[:30])  # the request line begun, never finished
            _assert_json(_read_reply(slow_head), 408)
        with socket.create_connection((HOST, mock.port), timeout=15) as slow_body:
            slow_body.sendall(head + body[:5].encode())  # the body never completed
            _assert_json(_read_reply(slow_body), 408)
        with socket.create_connection((HOST, mock.port), timeout=15) as silent:
            assert silent.recv(100) == b""  # a connection that sends nothing is closed without an answer
        assert len(mock.request("GET", PLANS).json["data"]) == plans_before
        assert mock.alive()


def test_half_open_connections_do_not_starve_normal_requests(tmp_path: Path) -> None:
    """300 half-open connections against a server allowed 200 open files: the ones waiting longest are
    closed to make room, normal requests are answered meanwhile, and every half-open one is closed by
    the read timeout (a 408 for those that sent part of a head)."""
    with live_mock(tmp_path, ("--read-timeout", "2"), open_files=200) as mock:
        idle: list[socket.socket] = []
        try:
            for n in range(300):
                sock = socket.create_connection((HOST, mock.port), timeout=15)
                idle.append(sock)
                if n % 2:
                    sock.sendall(b"GET /api/sales/plans HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            for _ in range(3):
                reply = mock.request("GET", PLANS, timeout=15)
                assert reply.status == 200 and reply.json["data"]
            for sock in idle:  # each one is closed by the server: evicted, or when the read timeout passes
                answer = b""
                with contextlib.suppress(ConnectionResetError):
                    while chunk := sock.recv(65536):
                        answer += chunk
                assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer[:100]
            assert mock.request("GET", PLANS, timeout=15).status == 200
        finally:
            for sock in idle:
                sock.close()
        assert mock.alive()


if sys.platform != "linux":  # pragma: no cover - /proc and RLIMIT_NOFILE as used here are Linux's
    pytestmark.append(pytest.mark.skip(reason="Linux only"))
