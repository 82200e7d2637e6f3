"""The proxy as an ASGI app: forward byte for byte, stream both ways, then check what went through.

Forwarding uses the proxy's own client (``upstream.py``), which sends the request target and the
method exactly as given: ``scope["raw_path"]`` keeps odd percent-escapes, and any method name is
passed on. Bodies stream in both directions; up to ``check_limit`` bytes of each (decoded, for a
gzip or deflate body) are kept for checking, a larger body is streamed through and counted as
unchecked.

What the proxy refuses itself: a request whose headers exceed the limits of ``upstream.py`` (431),
one with both Content-Length and Transfer-Encoding (400, and the connection is closed: RFC 9112
6.1), and a request target that is neither a path nor an absolute URL (400; an absolute URL, as
sent to a forward proxy, is forwarded as its path). An upstream that fails before its answer
starts is a 502 or 504; one that fails after (cut short, too slow, malformed) has the client's
connection aborted, and each is recorded as an upstream fault.
"""

from __future__ import annotations

import re
import sys
import time
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from contract_tests.proxy import redact
from contract_tests.proxy.exchange import Exchange
from contract_tests.proxy.invariants import Observer, resources_of
from contract_tests.proxy.record import Recorder
from contract_tests.proxy.spec import NOT_JSON, UNCHECKED, Contract
from contract_tests.proxy.upstream import MAX_HEADER_BYTES, MAX_HEADERS, Upstream, UpstreamError
from contract_tests.proxy.violations import Findings

CHECK_LIMIT = 4 * 1024 * 1024
BUFFER_LIMIT = 64 * 1024
"""A request body up to this size is read whole before it goes upstream; a larger one streams."""
CONTROL_PREFIX = "/__proxy"
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade", b"proxy-authenticate"}
    | {b"transfer-encoding", b"expect"}  # framing is redone on each side; 100-continue is answered by the server
)
_ABSOLUTE_FORM = re.compile(rb"(?i)https?://[^/]*")
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class _Kept:
    """Up to ``limit`` bytes of a streamed body, decoded (gzip, deflate) as it arrives, for checking
    after it went through.

    A body larger than ``limit`` on the wire or once decoded is dropped and marked unchecked: the
    decoder never produces more than ``limit + 1`` bytes, whatever the ratio of a compressed body.
    """

    def __init__(self, limit: int, encoding: str = "") -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        """Bytes as sent (encoded)."""
        self.decoded = 0
        self.overflow = False
        self.broken = False
        """Not valid gzip/deflate data."""
        coding = encoding.strip().lower()
        self.opaque = coding not in ("", "identity", "gzip", "deflate")
        """In an encoding the proxy does not decode: unchecked."""
        self._decoder = (
            zlib.decompressobj(16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
            if coding in ("gzip", "deflate")
            else None
        )

    def add(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.overflow or self.broken or self.opaque:
            return
        if self.size > self.limit:
            self._drop()
            return
        if self._decoder is not None:
            try:
                chunk = self._decoder.decompress(chunk, self.limit - self.decoded + 1)
            except zlib.error:
                self.broken, self.parts = True, []
                return
            if self._decoder.unused_data:  # another gzip member, or bytes after the end: not what is checked
                self.opaque, self.parts = True, []
                return
        self.decoded += len(chunk)
        if self.decoded > self.limit:
            self._drop()
        else:
            self.parts.append(chunk)

    def _drop(self) -> None:
        self.overflow, self.parts, self._decoder = True, [], None

    def data(self) -> bytes | None:
        """The decoded body, or None when its encoding is broken or cut short."""
        if self.broken or (self._decoder is not None and not self._decoder.eof):
            return None
        return b"".join(self.parts)


def _parse(kept: _Kept, content_type: str) -> Any:
    """None (no body), the parsed JSON, NOT_JSON, or UNCHECKED (too large or in an encoding not decoded)."""
    if kept.size == 0:
        return None
    if kept.overflow or kept.opaque:
        return UNCHECKED
    raw = kept.data()
    if raw is None or "json" not in content_type:
        return NOT_JSON
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NOT_JSON


def _error(status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> Answer:
    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    return status, headers, body


async def _reply(send: Send, answer: Answer) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _hop_by_hop(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The header names not to forward: the fixed hop-by-hop ones and those a ``Connection`` header
    lists (RFC 9110 7.6.1); ``Host`` is always rewritten, never dropped."""
    named = {
        token.strip().lower() for name, value in headers if name.lower() == b"connection" for token in value.split(b",")
    }
    return HOP_BY_HOP if named <= HOP_BY_HOP else HOP_BY_HOP | (named - {b"host"})


def _refusal(headers: list[tuple[bytes, bytes]]) -> Answer | None:
    """What the proxy answers itself to a request it must not forward (None: forward it)."""
    if len(headers) > MAX_HEADERS:
        return _error(431, f"the request has {len(headers)} header fields; the proxy forwards at most {MAX_HEADERS}")
    size = sum(len(name) + len(value) + 4 for name, value in headers)
    if size > MAX_HEADER_BYTES:
        limit = MAX_HEADER_BYTES // 1024
        return _error(431, f"the request's headers take {size} bytes; the proxy forwards at most {limit} KiB")
    names = {name.lower() for name, _ in headers}
    if b"content-length" in names and b"transfer-encoding" in names:
        message = "the request has both Content-Length and Transfer-Encoding; its length is ambiguous (RFC 9112 6.1)"
        return _error(400, message, [(b"connection", b"close")])
    return None


def _origin_form(target: bytes) -> bytes | None:
    """The path (origin-form) to forward for a request target: an absolute URL (as sent to a forward
    proxy) becomes its path, since the proxy only ever talks to its upstream; None for the other forms
    (``host:port``, ``*``)."""
    if target.startswith(b"/"):
        return target
    absolute = _ABSOLUTE_FORM.match(target)
    if absolute is None:
        return None
    return target[absolute.end() :] or b"/"


class ProxyApp:
    """``upstream`` is an origin (``http://host:port``); everything but ``/__proxy/...`` is forwarded there."""

    def __init__(
        self,
        upstream: str,
        contract: Contract,
        *,
        timeout: float = 30.0,
        findings: Findings | None = None,
        recorder: Recorder | None = None,
        log: Callable[[str], None] | None = None,
        check_limit: int = CHECK_LIMIT,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._host_header = parts.netloc.encode("idna")
        self._prefix = parts.path.rstrip("/").encode()
        self.contract = contract
        self.timeout = timeout
        self.findings = findings or Findings()
        self.observer = Observer()
        self.recorder = recorder
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.check_limit = check_limit
        self._upstream_client = Upstream(parts.scheme, parts.hostname, self._port, timeout)

    async def aclose(self) -> None:
        await self._upstream_client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        refusal = _refusal(scope["headers"])  # whatever the path: an ambiguous length closes the connection
        if refusal is not None:
            await _reply(send, refusal)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if not raw_path.startswith(b"/"):
            origin = _origin_form(raw_path)
            if origin is None:
                await _reply(send, _error(400, "the request target must be a path or an absolute http(s) URL"))
                return
            scope = {**scope, "raw_path": origin, "path": unquote(origin.decode("latin-1"))}
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await self._control(scope, send)
            return
        await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------ /__proxy

    async def _control(self, scope: Scope, send: Send) -> None:
        method, path = scope["method"], scope["path"].rstrip("/")
        if path == CONTROL_PREFIX + "/violations":
            if method == "GET":
                since = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("since", "0")
                if not since.isdigit() or len(since) > 18:
                    answer = _error(400, "since must be a non-negative integer (an exchange number)")
                else:
                    body = orjson.dumps(self.findings.listing(int(since)))
                    answer = 200, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))], body
            elif method == "DELETE":
                self.findings.clear()
                answer = 204, [], b""
            else:
                answer = _error(405, f"method {method} is not allowed here", [(b"allow", b"GET, DELETE")])
        elif path == CONTROL_PREFIX + "/health" and method == "GET":
            body = orjson.dumps({"status": "ok", "upstream": self.upstream})
            answer = 200, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))], body
        else:
            answer = _error(404, f"no such proxy endpoint: {path} (see /__proxy/violations)")
        await _reply(send, answer)

    # ------------------------------------------------------------------ forwarding

    def _request_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        headers = []
        drop = _hop_by_hop(scope["headers"])
        for name, value in scope["headers"]:
            lower = name.lower()
            if lower in drop:
                continue
            if lower == b"host":
                value = self._host_header
            headers.append((name, value))
        return headers

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = self._prefix + raw_path + (b"?" + query if query else b"")
        headers = self._request_headers(scope)
        exchange = Exchange(
            number=0,
            method=scope["method"],
            path=scope["path"],
            raw_path=raw_path,
            query_string=query,
            request_headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]],
        )
        sent_request = _Kept(self.check_limit, exchange.header("content-encoding") or "")
        try:
            content = await self._request_body(receive, sent_request)
        except ClientGone:
            return  # the client left before its body was complete: nothing goes upstream
        kept = _Kept(self.check_limit)
        response_started = False
        try:
            response = await self._upstream_client.request(scope["method"].encode("latin-1"), target, headers, content)
            try:
                drop = _hop_by_hop(response.headers)
                out_headers = [(k, v) for k, v in response.headers if k.lower() not in drop]
                await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
                response_started = True
                exchange.status = response.status
                exchange.response_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in out_headers}
                kept = _Kept(self.check_limit, exchange.response_headers.get("content-encoding", ""))
                async for chunk in response.stream():
                    kept.add(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                response.abort()  # no-op when the answer was read to its end (the connection is kept then)
        except ClientGone:
            return  # the client left mid-body: the upstream got a cut-short request it will not act on
        except Exception as error:  # every upstream failure is the proxy's 502/504 or an abort, never a 500 or a hang
            timed_out = isinstance(error, UpstreamError) and error.kind == "timeout"
            reason = str(error) if isinstance(error, UpstreamError) else f"the upstream failed ({type(error).__name__})"
            exchange.proxy_error = reason
            described = redact.text(f"{exchange.method} {exchange.path}: {reason}")
            if response_started:
                # no end of body: the server closes the client's connection, which cannot take the answer as whole
                self.findings.upstream_fault("aborted", described)
                self.log(f"proxy: upstream failed mid-answer, client connection aborted: {described}")
            else:
                exchange.status = 504 if timed_out else 502
                self.findings.upstream_fault("timeout" if timed_out else "refused", described)
                self.log(f"proxy: upstream fault, answered {exchange.status}: {described}")
                await _reply(send, _error(exchange.status, reason))
        exchange.seconds = time.perf_counter() - started
        self._check(exchange, sent_request, kept)

    async def _request_body(self, receive: Receive, kept: _Kept) -> bytes | AsyncIterator[bytes]:
        """The whole body when it ends within ``BUFFER_LIMIT`` bytes (it can then be re-sent on a fresh
        connection), else a stream of it that starts with what was read."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            kept.add(chunk)
            parts.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
            if size > BUFFER_LIMIT:
                return self._stream_request(b"".join(parts), receive, kept)
        return b"".join(parts)

    async def _stream_request(self, head: bytes, receive: Receive, kept: _Kept) -> AsyncIterator[bytes]:
        yield head
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()  # the upstream must not get a cut-short body as if it were whole
            chunk = message.get("body", b"")
            if chunk:
                kept.add(chunk)
                yield chunk
            if not message.get("more_body", False):
                return

    # ------------------------------------------------------------------ checking

    def _check(self, exchange: Exchange, request: _Kept, response: _Kept) -> None:
        exchange.number = self.findings.next_exchange()
        exchange.request_body = _parse(request, exchange.header("content-type") or "")
        exchange.response_body = _parse(response, exchange.response_headers.get("content-type", ""))
        exchange.response_bytes = response.size
        if UNCHECKED in (exchange.request_body, exchange.response_body):
            self.findings.unchecked()
        if exchange.proxy_error is not None:
            self.findings.record("(upstream fault)", exchange.status, None)
            return
        if not self.contract.covers(exchange.path):
            return
        match = self.contract.match(exchange.method, exchange.path)
        op = match.operation
        name = op.operation_id if op else f"{exchange.method} {match.template or '(unknown path)'}"
        problems: list[str] = []
        try:
            if op is not None and exchange.status < 400:
                accepted = self.contract.request_problems(
                    op, exchange.query, exchange.request_body, request.size > 0 or exchange.request_body is not None
                )
                problems += [f"accepted a request the contract refuses: {p}" for p in accepted[:3]]
            problems += self.contract.response_problems(
                match,
                exchange.method,
                exchange.status,
                exchange.response_headers,
                exchange.response_body,
                exchange.response_bytes,
            )
            operation_id = op.operation_id if op else None
            problems += self.observer.problems(exchange, operation_id)
            if self.recorder is not None and operation_id:
                self.recorder.observe(exchange, operation_id, resources_of(exchange, operation_id))
        except Exception as error:  # a checker bug must never take the proxy down
            problems.append(f"the proxy could not check this exchange: {type(error).__name__}: {error}")
        violation = self._violation(exchange, name, problems) if problems else None
        self.findings.record(name, exchange.status, violation)
        if violation is not None:
            self.log(
                f"proxy: VIOLATION #{exchange.number} {name} {exchange.method} {exchange.path} -> {exchange.status}: "
                f"{violation['problems'][0]} | {violation['curl']}"
            )

    def _violation(self, exchange: Exchange, name: str, problems: list[str]) -> dict[str, Any]:
        query = redact.query(exchange.query_string.decode("latin-1"))
        url = (
            self.upstream + self._prefix.decode() + exchange.raw_path.decode("latin-1") + (f"?{query}" if query else "")
        )
        body = exchange.request_body
        if body is None or body is NOT_JSON or body is UNCHECKED:
            json_text = None
        else:
            json_text = orjson.dumps(redact.body(body)).decode()
        return {
            "exchange": exchange.number,
            "method": exchange.method,
            "path": exchange.path,
            "operationId": name,
            "status": exchange.status,
            "problems": [redact.text(p) for p in problems],
            "curl": redact.curl(exchange.method, url, exchange.request_headers, json_text),
        }
