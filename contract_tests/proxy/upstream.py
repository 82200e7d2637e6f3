"""The proxy's HTTP/1.1 client to the upstream: asyncio streams, httptools' response parser, a keep-alive pool.

Written for the proxy because it must send the request exactly as received (any method name, the
raw request target byte for byte) and because it sits on every request's path: measured against
httpcore on this workload it costs a tenth of the CPU per request (``benchmarks/bench_proxy.py``).
Every connect, write and read is bounded by the timeout; a failure is an :class:`UpstreamError`
("timeout" or "refused") that the proxy answers as 504 or 502.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httptools

MAX_IDLE = 64
READ_SIZE = 256 * 1024


class UpstreamError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "timeout" | "refused"


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Parsed:
    """httptools callbacks for one response; 1xx interim answers are skipped."""

    parser: Any = None
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    headers_done: bool = False
    done: bool = False
    keep_alive: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.headers = []
            return
        self.status, self.headers_done = status, True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(bytes(body))

    def on_message_complete(self) -> None:
        if self.headers_done:
            self.done = True
            self.keep_alive = self.parser.should_keep_alive()  # only valid inside the callback


class Response:
    """Status and headers as received; ``stream()`` yields the body (decoded from its framing, as sent)."""

    def __init__(self, upstream: Upstream, conn: _Conn, parsed: _Parsed, head_only: bool) -> None:
        self._upstream, self._conn, self._parsed = upstream, conn, parsed
        self.status, self.headers = parsed.status, parsed.headers
        self._head_only = head_only
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
                self._finish(reusable=parsed.keep_alive)
                return
            data = await self._upstream.read(reader)
            if not data:  # a close-delimited body ends here
                self._finish(reusable=False)
                return
            _feed(parsed, data)

    def _finish(self, reusable: bool) -> None:
        if not self._finished:
            self._finished = True
            self._upstream.release(self._conn, reusable)

    def abort(self) -> None:
        self._finish(reusable=False)


def _feed(parsed: _Parsed, data: bytes) -> None:
    try:
        parsed.parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        raise UpstreamError("refused", "the upstream switched protocols, which the proxy does not forward") from None
    except httptools.HttpParserError as error:
        raise UpstreamError("refused", f"the upstream sent a malformed answer ({error})") from None


class Upstream:
    """A pool of keep-alive connections to one origin."""

    def __init__(self, scheme: str, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._ssl = ssl.create_default_context() if scheme == "https" else None
        self._idle: deque[_Conn] = deque()

    async def read(self, reader: asyncio.StreamReader) -> bytes:
        try:
            async with asyncio.timeout(self.timeout):
                return await reader.read(READ_SIZE)
        except TimeoutError:
            raise UpstreamError("timeout", f"the upstream did not answer within {self.timeout:g} s") from None
        except OSError as error:
            raise UpstreamError("refused", f"the upstream broke the connection ({error.strerror or error})") from None

    async def _connect(self) -> _Conn:
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                    limit=READ_SIZE,
                )
        except TimeoutError:
            raise UpstreamError("timeout", f"no connection to the upstream within {self.timeout:g} s") from None
        except OSError as error:
            raise UpstreamError("refused", f"the upstream is unreachable ({error.strerror or error})") from None
        return _Conn(reader, writer)

    def _idle_connection(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                return conn
            conn.close()
        return None

    def release(self, conn: _Conn, reusable: bool) -> None:
        if reusable and len(self._idle) < MAX_IDLE and not conn.reader.at_eof():
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
        while True:
            conn = self._idle_connection() if replayable else None  # a streamed body cannot be sent twice
            reused = conn is not None
            conn = conn or await self._connect()
            try:
                await self._send(conn, request_head, body, chunked)
                return await self._answer(conn, head_only=method == b"HEAD")
            except _StaleConnection:
                conn.close()
                if not (reused and replayable):
                    raise UpstreamError("refused", "the upstream closed the connection without answering") from None
            except BaseException:
                conn.close()
                raise

    async def _send(self, conn: _Conn, head: bytes, body: bytes | AsyncIterator[bytes], chunked: bool) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                if isinstance(body, bytes):
                    conn.writer.write(head + body)
                    await conn.writer.drain()
                    return
                conn.writer.write(head)
                async for chunk in body:
                    if chunk:
                        conn.writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                        await conn.writer.drain()
                if chunked:
                    conn.writer.write(b"0\r\n\r\n")
                await conn.writer.drain()
        except TimeoutError:
            raise UpstreamError("timeout", f"the upstream did not take the request within {self.timeout:g} s") from None
        except (ConnectionResetError, BrokenPipeError):
            raise _StaleConnection() from None
        except OSError as error:
            raise UpstreamError("refused", f"the upstream broke the connection ({error.strerror or error})") from None

    async def _answer(self, conn: _Conn, head_only: bool) -> Response:
        parsed = _Parsed()
        parsed.parser = httptools.HttpResponseParser(parsed)
        received = False
        while not parsed.headers_done:
            try:
                data = await self.read(conn.reader)
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
        return Response(self, conn, parsed, head_only)


class _StaleConnection(Exception):
    """A kept-alive connection the upstream had closed: the request is sent again on a new one if it can be."""
