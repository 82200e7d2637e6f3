"""The proxy's HTTP/1.1 client to the upstream: asyncio streams, httptools' response parser, a keep-alive pool.

Written for the proxy because it must send the request exactly as received (any method name, the
raw request target byte for byte) and because it sits on every request's path: measured against
httpcore on this workload it costs a tenth of the CPU per request (``benchmarks/bench_proxy.py``).

The timeout bounds the whole exchange with the upstream: the time spent waiting on it to connect,
take the request and send every part of the answer draws on one budget, so an upstream that
trickles its answer a byte at a time is cut off like a silent one. A failure is an
:class:`UpstreamError` ("timeout" or "refused") that the proxy answers as 504 or 502, or, once the
answer has started, by aborting the client's connection. An answer is refused when its status is
outside 200-599 (after 1xx interim answers), when its headers exceed ``MAX_HEADER_BYTES`` or
``MAX_HEADERS``, and when the connection ends before its framing (Content-Length or chunked) is
complete.

A pooled connection is reused only while it is in step: one that received anything (bytes or the
end of the stream) while idle, or that had bytes after the end of the answer it carried, is
closed, so a stray or extra answer can never be handed to the next request. (Empty lines right
behind an answer are skipped by the parser, as RFC 9112 2.2 lets a recipient do; they carry nothing.)
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, SupportsIndex, cast

import httptools

MAX_IDLE = 64
READ_SIZE = 256 * 1024
MAX_HEADER_BYTES = 64 * 1024
"""Header lines of one message, in bytes (an upstream answer over it is a 502, a client request a 431)."""
MAX_HEADERS = 100
"""Header fields of one message."""


class UpstreamError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "timeout" | "refused"


class _Reader(asyncio.StreamReader):
    """A stream reader that counts what the transport fed and what was read: the difference is what
    sits unread in its buffer (``in_step`` tells whether a pooled connection may carry a request)."""

    def __init__(self, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.fed = 0
        self.taken = 0

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        self.fed += len(cast(bytes, data))  # the transport feeds bytes
        super().feed_data(data)

    async def read(self, n: int = -1) -> bytes:
        data = await super().read(n)
        self.taken += len(data)
        return data

    def in_step(self) -> bool:
        return self.fed == self.taken and not self.at_eof() and self.exception() is None


@dataclass
class _Conn:
    reader: _Reader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


class _Budget:
    """The seconds the upstream has for one exchange, spent while the proxy waits on it: ``async with
    budget:`` around connecting, sending and each read (time spent on a slow client does not count)."""

    def __init__(self, seconds: float) -> None:
        self.total = self.left = seconds
        self._loop = asyncio.get_running_loop()
        self._started = 0.0
        self._timeout = asyncio.timeout(None)

    async def __aenter__(self) -> None:
        self._started = self._loop.time()
        self._timeout = asyncio.timeout(self.left)
        await self._timeout.__aenter__()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        self.left -= self._loop.time() - self._started
        await self._timeout.__aexit__(kind, error, trace)


@dataclass
class _Parsed:
    """httptools callbacks for one response; 1xx interim answers are skipped, trailers counted but not kept.

    Once the answer is complete, anything more the parser sees (the start of another answer, or
    bytes it cannot parse) only sets ``extra``: the connection is then out of step and is closed.
    """

    parser: Any = None
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    headers_done: bool = False
    done: bool = False
    keep_alive: bool = False
    extra: bool = False
    framed: bool = False
    """Content-Length or chunked: the end of the stream before the end of the body is a failure."""
    declared: bytes = b""
    body_bytes: int = 0
    header_bytes: int = 0
    header_count: int = 0
    progressed: bool = False
    stalled: int = 0
    """Bytes fed since the last body data: head, chunk framing and trailers, bounded by MAX_HEADER_BYTES."""

    def on_message_begin(self) -> None:
        if self.done:
            self.extra = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.done:
            return
        self.header_bytes += len(name) + len(value) + 4
        self.header_count += 1
        if self.headers_done:
            return  # a trailer
        self.headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length":
            self.framed, self.declared = True, value
        elif lower == b"transfer-encoding" and b"chunked" in value.lower():
            self.framed = True

    def on_headers_complete(self) -> None:
        if self.done:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.headers, self.framed, self.declared = [], False, b""
            return
        self.status, self.headers_done = status, True

    def on_body(self, body: bytes) -> None:
        if self.done:
            return
        self.progressed = True
        self.body_bytes += len(body)
        self.chunks.append(bytes(body))

    def on_chunk_header(self) -> None:
        self.progressed = True

    def on_message_complete(self) -> None:
        if self.headers_done and not self.done:
            self.done = True
            self.keep_alive = self.parser.should_keep_alive()  # only valid inside the callback

    def cut_short(self) -> str:
        """Why an end of stream before ``done`` breaks the answer."""
        if self.declared:
            return f"Content-Length: {self.declared.decode('latin-1')}, {self.body_bytes} bytes received"
        return f"a chunked body without its last chunk, {self.body_bytes} bytes received"


class Response:
    """Status and headers as received; ``stream()`` yields the body (decoded from its framing, as sent)."""

    def __init__(self, upstream: Upstream, conn: _Conn, parsed: _Parsed, head_only: bool, budget: _Budget) -> None:
        self._upstream, self._conn, self._parsed = upstream, conn, parsed
        self.status, self.headers = parsed.status, parsed.headers
        self._head_only = head_only
        self._budget = budget
        self._finished = False

    async def stream(self) -> AsyncIterator[bytes]:
        parsed, reader = self._parsed, self._conn.reader
        if self._head_only:
            self._finish(reusable=False)
            return
        while True:
            if parsed.chunks:
                chunks, parsed.chunks = parsed.chunks, []
                for chunk in chunks:
                    yield chunk
            if parsed.done:
                self._finish(reusable=parsed.keep_alive and not parsed.extra)
                return
            data = await self._upstream.read(reader, self._budget, "finish its answer")
            if not data:
                if parsed.framed:
                    raise UpstreamError(
                        "refused",
                        f"the upstream closed the connection before the end of its answer ({parsed.cut_short()})",
                    )
                self._finish(reusable=False)  # a close-delimited body ends here
                return
            _feed(parsed, data)

    def _finish(self, reusable: bool) -> None:
        if not self._finished:
            self._finished = True
            self._upstream.release(self._conn, reusable)

    def abort(self) -> None:
        self._finish(reusable=False)


def _feed(parsed: _Parsed, data: bytes) -> None:
    parsed.progressed = False
    try:
        parsed.parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        if not parsed.done:
            raise UpstreamError(
                "refused", "the upstream switched protocols, which the proxy does not forward"
            ) from None
        parsed.extra = True
    except httptools.HttpParserError as error:
        if not parsed.done:
            raise UpstreamError("refused", f"the upstream sent a malformed answer ({error})") from None
        parsed.extra = True  # bytes after the end of the answer
    parsed.stalled = 0 if parsed.progressed else parsed.stalled + len(data)
    if parsed.header_count > MAX_HEADERS:
        raise UpstreamError("refused", f"the upstream's answer has more than {MAX_HEADERS} header fields")
    if parsed.header_bytes > MAX_HEADER_BYTES or (parsed.stalled > MAX_HEADER_BYTES and not parsed.done):
        what = "chunk framing and trailers" if parsed.headers_done else "headers"
        raise UpstreamError("refused", f"the upstream's answer has more than {MAX_HEADER_BYTES // 1024} KiB of {what}")


class Upstream:
    """A pool of keep-alive connections to one origin."""

    def __init__(self, scheme: str, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._ssl = ssl.create_default_context() if scheme == "https" else None
        self._idle: deque[_Conn] = deque()

    async def read(self, reader: _Reader, budget: _Budget, what: str = "answer") -> bytes:
        try:
            async with budget:
                return await reader.read(READ_SIZE)
        except TimeoutError:
            raise UpstreamError("timeout", f"the upstream did not {what} within {budget.total:g} s") from None
        except OSError as error:
            raise UpstreamError("refused", f"the upstream broke the connection ({error.strerror or error})") from None

    async def _connect(self, budget: _Budget) -> _Conn:
        loop = asyncio.get_running_loop()
        reader = _Reader(READ_SIZE, loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            async with budget:
                transport, _ = await loop.create_connection(
                    lambda: protocol,
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                )
        except TimeoutError:
            raise UpstreamError("timeout", f"no connection to the upstream within {self.timeout:g} s") from None
        except OSError as error:
            raise UpstreamError("refused", f"the upstream is unreachable ({error.strerror or error})") from None
        return _Conn(reader, asyncio.StreamWriter(transport, protocol, reader, loop))

    def _idle_connection(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.reader.in_step() and not conn.writer.is_closing():
                return conn
            conn.close()  # it received something (or its end) while idle: out of step
        return None

    def release(self, conn: _Conn, reusable: bool) -> None:
        if reusable and len(self._idle) < MAX_IDLE and conn.reader.in_step():
            self._idle.append(conn)
        else:
            conn.close()

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def request(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | AsyncIterator[bytes]
    ) -> Response:
        """Send the request; return once the answer's status and headers are in (the body streams after)."""
        head = [method, b" ", target, b" HTTP/1.1\r\n"]
        chunked = False
        names = {name.lower() for name, _ in headers}
        if isinstance(body, bytes):
            headers = [(k, v) for k, v in headers if k.lower() not in (b"transfer-encoding", b"content-length")]
            if body or b"content-length" in names:
                headers.append((b"content-length", b"%d" % len(body)))
        elif b"content-length" not in names:
            headers = [(k, v) for k, v in headers if k.lower() != b"transfer-encoding"]
            headers.append((b"transfer-encoding", b"chunked"))
            chunked = True
        for name, value in headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        request_head = b"".join(head)
        replayable = isinstance(body, bytes)
        budget = _Budget(self.timeout)
        while True:
            conn = self._idle_connection() if replayable else None  # a streamed body cannot be sent twice
            reused = conn is not None
            conn = conn or await self._connect(budget)
            try:
                await self._send(conn, request_head, body, chunked, budget)
                return await self._answer(conn, method == b"HEAD", budget)
            except _StaleConnection:
                conn.close()
                if not (reused and replayable):
                    raise UpstreamError("refused", "the upstream closed the connection without answering") from None
            except BaseException:
                conn.close()
                raise

    async def _send(
        self, conn: _Conn, head: bytes, body: bytes | AsyncIterator[bytes], chunked: bool, budget: _Budget
    ) -> None:
        try:
            if isinstance(body, bytes):
                conn.writer.write(head + body)
                async with budget:
                    await conn.writer.drain()
                return
            conn.writer.write(head)
            async for chunk in body:  # waiting on the client here: not the upstream's time
                if chunk:
                    conn.writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    async with budget:
                        await conn.writer.drain()
            if chunked:
                conn.writer.write(b"0\r\n\r\n")
            async with budget:
                await conn.writer.drain()
        except TimeoutError:
            raise UpstreamError("timeout", f"the upstream did not take the request within {self.timeout:g} s") from None
        except (ConnectionResetError, BrokenPipeError):
            raise _StaleConnection() from None
        except OSError as error:
            raise UpstreamError("refused", f"the upstream broke the connection ({error.strerror or error})") from None

    async def _answer(self, conn: _Conn, head_only: bool, budget: _Budget) -> Response:
        parsed = _Parsed()
        parsed.parser = httptools.HttpResponseParser(parsed)
        received = False
        while not parsed.headers_done:
            try:
                data = await self.read(conn.reader, budget)
            except UpstreamError as error:
                if error.kind == "refused" and not received:
                    raise _StaleConnection() from None
                raise
            if not data:
                if not received:
                    raise _StaleConnection()
                raise UpstreamError("refused", "the upstream closed the connection in the middle of its answer")
            received = True
            _feed(parsed, data)
        if not 200 <= parsed.status <= 599:
            raise UpstreamError("refused", f"the upstream answered with status {parsed.status:03d}, outside 100-599")
        return Response(self, conn, parsed, head_only, budget)


class _StaleConnection(Exception):
    """A kept-alive connection the upstream had closed: the request is sent again on a new one if it can be."""
