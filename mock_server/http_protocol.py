"""uvicorn's HTTP protocols with the mock's error shape, and with bounds on what a connection may hold.

A request that is not valid HTTP/1.1 (control characters in a header, contradictory framing, a
TLS hello on the plain port, ...) never reaches the app: the parser answers it. uvicorn answers
in plain text; these subclasses answer ``400 {"error": ...}`` as JSON like every other error.

The httptools protocol (the one the mock runs on) also bounds what a client can make the server
hold, before the app sees anything (:class:`ConnectionLimits`):

- **Headers**: a request line and headers over 64 KiB, or more than 100 headers, are answered
  ``431 {"error": ...}`` (``414`` when the URL alone is over 64 KiB) and the connection is
  closed, as soon as the bytes received show it (the parser never buffers more than that and one read).
- **Slow clients**: a connection must deliver a request's headers within ``read_timeout`` seconds
  of opening (or of the previous answer), and then its body within ``read_timeout`` seconds more;
  otherwise it is answered ``408 {"error": ...}`` (closed without an answer when it sent nothing).
- **Waiting connections**: at most ``waiting`` connections may owe the server a request's headers
  or body at once (fewer when the open-file limit is lower); a new one beyond that closes the one
  that has been waiting longest. So half-open connections cannot use up the file descriptors, and
  a normal request (which sends its headers at once) is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from mock_server.errors import error_body

_MESSAGE = "malformed HTTP request: the server could not parse it (check the request line, headers and framing)"


@dataclass(frozen=True)
class ConnectionLimits:
    """What one connection may make the server hold (see the module's description)."""

    header_bytes: int = 64 * 1024
    header_count: int = 100
    read_timeout: float = 10.0
    waiting: int = 1024


def _raw_answer(status: int, reason: str, message: str) -> bytes:
    body = orjson.dumps(error_body(message))
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_400 = _raw_answer(400, "Bad Request", _MESSAGE)


class JsonErrorH11Protocol(H11Protocol):
    """h11-based protocol whose parser errors are JSON 400s."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_400)
        self.transport.close()


class _Watch:
    """The connections of one server that owe it a request's headers or body, oldest first, with the
    loop time since when; closes those late by ``read_timeout`` (checked every second at most)."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.waiting: dict[Any, float] = {}
        self.task: asyncio.Task[None] | None = None

    def arrive(self, connection: Any, now: float) -> None:
        """A new connection: it owes a request; beyond ``waiting`` such connections, the oldest is closed."""
        waiting = self.waiting
        for _ in range(len(waiting) - self.limits.waiting + 1):  # bounded: a busy one is put back, newest
            oldest = next(iter(waiting))
            del waiting[oldest]
            oldest.late()
        waiting[connection] = now
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._sweep())

    def owe(self, connection: Any, now: float) -> None:
        """``connection`` owes the server bytes from ``now`` (the newest of the waiting)."""
        waiting = self.waiting
        waiting.pop(connection, None)
        waiting[connection] = now

    def settle(self, connection: Any) -> None:
        """``connection`` owes nothing (its request is complete, or it is gone)."""
        self.waiting.pop(connection, None)

    async def _sweep(self) -> None:
        timeout = self.limits.read_timeout
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            deadline = loop.time() - timeout
            late = []
            for connection, since in self.waiting.items():  # oldest first: stop at the first in time
                if since > deadline:
                    break
                late.append(connection)
            for connection in late:
                self.waiting.pop(connection, None)
                with contextlib.suppress(Exception):  # one broken transport must not stop the watch
                    connection.late()


def protocol_class(limits: ConnectionLimits | None = None) -> type:
    """The fastest available protocol class (httptools when installed, else h11), with JSON 400s; the
    httptools one also enforces ``limits`` (one watch of waiting connections per class, i.e. per server)."""
    if importlib.util.find_spec("httptools") is None:
        return JsonErrorH11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    bounds = limits or ConnectionLimits()
    watch = _Watch(bounds)
    too_large = _raw_answer(
        431,
        "Request Header Fields Too Large",
        f"the request line and headers are over {bounds.header_bytes} bytes or {bounds.header_count} headers",
    )
    too_long = _raw_answer(414, "URI Too Long", f"the request's URL is over {bounds.header_bytes} bytes")
    too_slow = _raw_answer(
        408,
        "Request Timeout",
        f"the request's headers or body did not arrive within the read timeout ({bounds.read_timeout:g} s)",
    )

    class _HeadTooLarge(Exception):
        """Raised from a parser callback to stop parsing a head that is over the limits."""

    class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
        """httptools-based protocol whose parser errors are JSON 400s, bounding heads, slowness and waiting."""

        _in_head = True
        """Between requests, or reading one's head: the bytes received count towards the head's limit."""
        _counted = True
        """Whether the chunk being parsed was counted from its start (not when a head begins inside it)."""
        _head_bytes = 0
        _begun = False
        """Some of the next request has been received."""
        _oversized = False
        """A parser callback found the head over the limits: the parser's error is then a 431."""
        _body_owed = False
        """The request's body is owed (since the end of the read that completed its head)."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            watch.arrive(self, self.loop.time())

        def connection_lost(self, exc: Exception | None) -> None:
            watch.settle(self)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._counted = counted = self._in_head
            if counted:
                self._head_bytes += len(data)
            super().data_received(data)
            if self._in_head:  # between requests, or in a head: over the limits yet?
                if (
                    self._head_bytes > bounds.header_bytes or (self._begun and len(self.headers) > bounds.header_count)
                ) and not (self._oversized or self.transport.is_closing()):
                    self._refuse(self._too_large())
            elif not self._body_owed:  # a head complete, its body not: owed from now (a GET never gets here)
                self._body_owed = True
                watch.owe(self, self.loop.time())

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._begun = True

        def on_headers_complete(self) -> None:
            if (
                self._head_bytes > bounds.header_bytes or not self._counted
            ) and self._head_size() > bounds.header_bytes:
                self._oversized = True
                raise _HeadTooLarge
            if len(self.headers) > bounds.header_count:
                self._oversized = True
                raise _HeadTooLarge
            self._in_head, self._head_bytes, self._body_owed = False, 0, False
            super().on_headers_complete()

        def _head_size(self) -> int:
            return len(self.url) + sum([len(name) + len(value) + 4 for name, value in self.headers])

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head, self._head_bytes, self._begun = True, 0, False
            cycle = self.cycle
            if cycle is not None and cycle.response_complete:  # answered before its body ended (a 413)
                watch.owe(self, self.loop.time())  # the next request
            else:
                watch.settle(self)  # the app has the request whole

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                watch.owe(self, self.loop.time())  # the next request (or uvicorn's keep-alive timeout)

        def send_400_response(self, msg: str) -> None:
            self._refuse(self._too_large() if self._oversized else _400)

        def _too_large(self) -> bytes:
            """414 when the URL alone is over the limit, else 431."""
            return too_long if self._begun and len(self.url) > bounds.header_bytes else too_large

        def _refuse(self, answer: bytes) -> None:
            self.transport.write(answer)
            self.transport.close()

        def late(self) -> None:
            """The watch found this connection late with a request's headers or body (or evicted it)."""
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if self.pipeline or (cycle is not None and not cycle.response_complete and not cycle.more_body):
                watch.owe(self, self.loop.time())  # the app is busy with a request it has whole: not late
                return
            if cycle is not None and not cycle.response_complete:  # the body is late
                started = cycle.response_started
                cycle.disconnected = True  # the app reads a disconnect and acts on nothing; its answer is dropped
                cycle.message_event.set()
                if not started:
                    self.transport.write(too_slow)
            elif self._in_head and (self._begun or self._head_bytes):  # the next request's head is late
                self.transport.write(too_slow)
            self.transport.close()

    return JsonErrorHttpToolsProtocol
