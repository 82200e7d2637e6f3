"""Bad input through real HTTP: every case is a 4xx ``{"error": ...}``, changes nothing, and the
server keeps answering. Also slow, dropped and half-sent clients. Loopback only (a ``sales-mock
serve`` subprocess on a free 127.0.0.1 port); every socket has a timeout.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from livemock import HOST, LiveMock, Reply, live_mock

pytestmark = pytest.mark.live

Q = "/api/sales/quotes"


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMock]:
    with live_mock(tmp_path_factory.mktemp("robustness")) as server:
        yield server


@dataclass
class World:
    """A fresh entity with the demo fixtures, and ids to aim requests at."""

    mock: LiveMock
    entity: str
    key: str
    customer: str
    quote: str

    def head(self, method: str, path: str, *, content_type: str | None = "application/json", length: int = 0) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"Authorization: Bearer {self.key}", "Connection: close"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        if method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def post(self, path: str, body: bytes, *, content_type: str | None = "application/json") -> bytes:
        return self.head("POST", path, content_type=content_type, length=len(body)) + body

    def valid_quote(self) -> dict[str, object]:
        return {"customerId": self.customer, "lines": [{"description": "Widget", "quantity": 2, "unitPrice": 1500}]}


@pytest.fixture
def world(mock: LiveMock) -> Iterator[World]:
    entity, key = mock.new_entity("demo")
    q = f"?entityId={entity}"
    customers = mock.request("GET", f"/api/sales/customers{q}", token=key).json["data"]
    usd = next(c["id"] for c in customers if c["currency"] == "USD")
    quote = mock.request("GET", f"{Q}{q}", token=key).json["data"][0]["id"]
    yield World(mock, entity, key, usd, quote)
    mock.request("DELETE", f"/__admin/entities/{entity}", token=None)  # keeps the state export small


def assert_json_error(reply: Reply | None, allowed: set[int]) -> None:
    assert reply is not None, "the server closed the connection without an answer"
    assert reply.status in allowed, (reply.status, reply.body[:300])
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    payload = reply.json
    assert isinstance(payload, dict), reply.body[:300]
    assert isinstance(payload.get("error"), str), payload
    assert payload["error"], payload
    assert "Traceback" not in reply.body.decode("utf-8", "replace")


def nested(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    return (opener * depth + closer * depth).encode()


def quote_with(world: World, **line: object) -> bytes:
    base: dict[str, object] = {"description": "Widget", "quantity": 2, "unitPrice": 1500}
    base.update(line)
    return json.dumps({"customerId": world.customer, "lines": [base]}).encode()


def raw_quote(world: World, line_json: str) -> bytes:
    """A createQuote body whose only line is ``line_json`` verbatim (for literals json.dumps cannot write)."""
    return f'{{"customerId": "{world.customer}", "lines": [{line_json}]}}'.encode()


Case = Callable[[World], bytes]


def _q(world: World) -> str:
    return f"{Q}?entityId={world.entity}"


BODY_CASES: dict[str, tuple[Case, set[int]]] = {
    "malformed-json": (lambda w: w.post(_q(w), b'{"customerId": "x",'), {400}),
    "trailing-garbage": (lambda w: w.post(_q(w), json.dumps(w.valid_quote()).encode() + b" xyz"), {400}),
    "empty-object": (lambda w: w.post(_q(w), b"{}"), {400}),
    "array-body": (lambda w: w.post(_q(w), b"[1, 2]"), {400}),
    "string-body": (lambda w: w.post(_q(w), b'"quote"'), {400}),
    "nested-100k-arrays": (lambda w: w.post(_q(w), nested(100_000)), {400}),
    "nested-50k-objects": (lambda w: w.post(_q(w), b'{"a":' * 50_000 + b"1" + b"}" * 50_000), {400}),
    "nested-in-notes": (
        lambda w: w.post(_q(w), f'{{"customerId": "{w.customer}", "notes": {nested(20_000).decode()}}}'.encode()),
        {400},
    ),
    "duplicate-json-key": (
        lambda w: w.post(_q(w), f'{{"customerId": "{w.customer}", "customerId": "{w.customer}"}}'.encode()),
        {400},
    ),
    "int-beyond-2^53": (lambda w: w.post(_q(w), quote_with(w, quantity=2**53 + 1)), {400}),
    "int-beyond-2^64": (lambda w: w.post(_q(w), quote_with(w, unitPrice=2**64 + 7)), {400}),
    "int-5000-digits": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": 1, "unitPrice": ' + "9" * 5000 + "}")),
        {400},
    ),
    "number-1e400": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": 1e400, "unitPrice": 1}')),
        {400},
    ),
    "number-minus-1e400": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": 1, "unitPrice": -1e400}')),
        {400},
    ),
    "number-1e-400": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": 1e-400, "unitPrice": 1}')),
        {400},
    ),
    "fraction-quantity": (lambda w: w.post(_q(w), quote_with(w, quantity=1.5)), {400}),
    "NaN": (lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": NaN, "unitPrice": 1}')), {400}),
    "Infinity": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": 1, "unitPrice": Infinity}')),
        {400},
    ),
    "-Infinity": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "x", "quantity": -Infinity, "unitPrice": 1}')),
        {400},
    ),
    "invalid-utf8": (lambda w: w.post(_q(w), b'{"customerId": "\xff\xfe", "lines": []}'), {400}),
    "invalid-utf8-in-string": (
        lambda w: w.post(
            _q(w), raw_quote(w, '{"description": "@", "quantity": 1, "unitPrice": 1}').replace(b"@", b"\xc3\x28")
        ),
        {400},
    ),
    "lone-surrogate-escape": (
        lambda w: w.post(_q(w), raw_quote(w, '{"description": "a\\ud800b", "quantity": 1, "unitPrice": 1}')),
        {400},
    ),
    "wrong-content-type": (
        lambda w: w.post(_q(w), json.dumps(w.valid_quote()).encode(), content_type="text/plain"),
        {415},
    ),
    "form-content-type": (
        lambda w: w.post(_q(w), b"customerId=x", content_type="application/x-www-form-urlencoded"),
        {415},
    ),
    "missing-content-type": (lambda w: w.post(_q(w), json.dumps(w.valid_quote()).encode(), content_type=None), {415}),
    "json-lookalike-content-type": (
        lambda w: w.post(_q(w), json.dumps(w.valid_quote()).encode(), content_type="application/jsonx"),
        {415},
    ),
    "latin1-charset": (
        lambda w: w.post(_q(w), json.dumps(w.valid_quote()).encode(), content_type="application/json; charset=latin-1"),
        {415},
    ),
    "read-only-field": (lambda w: w.post(_q(w), json.dumps({**w.valid_quote(), "total": 1}).encode()), {400}),
    "unknown-field": (lambda w: w.post(_q(w), json.dumps({**w.valid_quote(), "hacked": True}).encode()), {400}),
    "huge-quantity": (lambda w: w.post(_q(w), quote_with(w, quantity=10**12)), {400}),
    "amount-over-10^12": (lambda w: w.post(_q(w), quote_with(w, unitPrice=10**12 + 1)), {400}),
    "negative-price": (lambda w: w.post(_q(w), quote_with(w, unitPrice=-1)), {400}),
    "issueDate-9999-12-31": (
        lambda w: w.post(_q(w), json.dumps({**w.valid_quote(), "issueDate": "9999-12-31"}).encode()),
        {400, 422},
    ),
    "issueDate-not-a-date": (
        lambda w: w.post(_q(w), json.dumps({**w.valid_quote(), "issueDate": "2025-02-30"}).encode()),
        {400},
    ),
    "validUntil-before-issueDate": (
        lambda w: w.post(
            _q(w), json.dumps({**w.valid_quote(), "issueDate": "2025-03-10", "validUntil": "2025-03-01"}).encode()
        ),
        {400, 422},
    ),
    "long-description": (lambda w: w.post(_q(w), quote_with(w, description="x" * 100_000)), {400}),
}


def _get(path: Callable[[World], str]) -> Case:
    return lambda w: w.head("GET", path(w), content_type=None)


E = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
QUERY_AND_PATH_CASES: dict[str, tuple[Case, set[int]]] = {
    "duplicate-entityId": (_get(lambda w: f"{Q}?entityId={w.entity}&entityId={E}"), {400}),
    "duplicate-page": (_get(lambda w: f"{_q(w)}&page=1&page=2"), {400}),
    "duplicate-status": (_get(lambda w: f"{_q(w)}&status=draft&status=sent"), {400}),
    "entityId-not-uuid": (_get(lambda w: f"{Q}?entityId=not-a-uuid"), {400}),
    "entityId-missing": (_get(lambda w: Q), {400}),
    "entityId-invalid-utf8": (_get(lambda w: f"{Q}?entityId=%FF%FE"), {400}),
    "unknown-status": (_get(lambda w: f"{_q(w)}&status=bogus"), {400}),
    "page-zero": (_get(lambda w: f"{_q(w)}&page=0"), {400}),
    "page-negative": (_get(lambda w: f"{_q(w)}&page=-1"), {400}),
    "page-huge": (_get(lambda w: f"{_q(w)}&page=1000001"), {400}),
    "page-2^64": (_get(lambda w: f"{_q(w)}&page=18446744073709551617"), {400}),
    "page-5000-digits": (_get(lambda w: f"{_q(w)}&page={'9' * 5000}"), {400}),
    "page-fraction": (_get(lambda w: f"{_q(w)}&page=1.5"), {400}),
    "page-1e400": (_get(lambda w: f"{_q(w)}&page=1e400"), {400}),
    "page-NaN": (_get(lambda w: f"{_q(w)}&page=NaN"), {400}),
    "pageSize-101": (_get(lambda w: f"{_q(w)}&pageSize=101"), {400}),
    "pageSize-huge": (_get(lambda w: f"{_q(w)}&pageSize=99999999999999999999"), {400}),
    "pageSize-empty": (_get(lambda w: f"{_q(w)}&pageSize="), {400}),
    "quote-id-not-uuid": (_get(lambda w: f"{Q}/12345?entityId={w.entity}"), {400, 404}),
    "quote-id-traversal-encoded": (_get(lambda w: f"{Q}/..%2F..%2F__admin%2Fstate?entityId={w.entity}"), {400, 404}),
    "quote-id-traversal-raw": (_get(lambda w: f"{Q}/../../../__admin/state?entityId={w.entity}"), {400, 404}),
    "quote-id-dot-segments": (_get(lambda w: f"{Q}/%2E%2E?entityId={w.entity}"), {400, 404}),
    "quote-id-nul": (_get(lambda w: f"{Q}/%00?entityId={w.entity}"), {400, 404}),
    "quote-id-uuid-plus-suffix": (_get(lambda w: f"{Q}/{w.quote}%2Fx?entityId={w.entity}"), {400, 404}),
    "subscription-id-traversal": (
        lambda w: w.post(f"/api/sales/subscriptions/..%2F{w.quote}/generate-invoice?entityId={w.entity}", b"{}"),
        {400, 404},
    ),
    "unknown-path": (_get(lambda w: f"/api/sales/nothing?entityId={w.entity}"), {404}),
    "unknown-method": (lambda w: w.head("PUT", _q(w), length=2) + b"{}", {405}),
    "unparseable-method": (lambda w: w.head("BREW", _q(w), content_type=None), {400, 405}),
    "delete-collection": (lambda w: w.head("DELETE", _q(w), content_type=None), {405}),
}


def _with_header(name: str, value: bytes) -> Case:
    def build(w: World) -> bytes:
        head = w.head("GET", _q(w), content_type=None)
        return head[:-2] + name.encode() + b": " + value + b"\r\n\r\n"

    return build


def _auth_header(value: bytes) -> Case:
    def build(w: World) -> bytes:
        lines = [f"GET {_q(w)} HTTP/1.1".encode(), f"Host: {HOST}".encode(), b"Connection: close"]
        lines.append(b"Authorization: " + value)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    return build


HEADER_CASES: dict[str, tuple[Case, set[int]]] = {
    "auth-with-nul": (_auth_header(b"Bearer ak_demo_readwrite\x00"), {400, 401}),
    "auth-with-ctrl-a": (_auth_header(b"Bearer ak_demo_\x01readwrite"), {400, 401}),
    "auth-with-del": (_auth_header(b"Bearer ak_demo_readwrite\x7f"), {400, 401}),
    "auth-with-latin1": (_auth_header(b"Bearer ak_demo_readwrit\xe9"), {400, 401}),
    "auth-not-bearer": (_auth_header(b"Basic YWtfZGVtbzp4"), {401}),
    "auth-empty-bearer": (_auth_header(b"Bearer "), {400, 401}),
    "x-entity-id-ctrl": (_with_header("X-Entity-Id", b"497f6eca\x01"), {400, 401, 403}),
    "custom-header-ctrl": (_with_header("X-Trace", b"abc\x1bdef"), {400}),
    "cookie-ctrl": (_with_header("Cookie", b"axiomatic_session=sess_demo\x02"), {400}),
}


def _framing(*lines: str, body: bytes = b"{}") -> Case:
    """A createQuote whose framing headers (``lines``) are contradictory or impossible."""

    def build(w: World) -> bytes:
        head = [f"POST {_q(w)} HTTP/1.1", f"Host: {HOST}", f"Authorization: Bearer {w.key}"]
        head += ["Content-Type: application/json", *lines, "Connection: close"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    return build


FRAMING_CASES: dict[str, tuple[Case, set[int]]] = {
    "content-length-twice": (_framing("Content-Length: 2", "Content-Length: 5"), {400}),
    "content-length-and-chunked": (
        _framing("Content-Length: 2", "Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
        {400},
    ),
    "content-length-negative": (_framing("Content-Length: -1"), {400}),
    "content-length-2^80": (_framing(f"Content-Length: {2**80}"), {400, 413}),
    "query-1mb": (_get(lambda w: f"{_q(w)}&x={'a' * 1_000_000}"), {400, 414}),
    "tls-client-hello": (lambda w: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 100, {400}),
    "authorization-twice": (
        lambda w: w.head("GET", _q(w), content_type=None)[:-2] + b"Authorization: Bearer ak_other_readwrite\r\n\r\n",
        {400, 401, 403},
    ),
}

CATALOGUE = {**BODY_CASES, **QUERY_AND_PATH_CASES, **HEADER_CASES, **FRAMING_CASES}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_bad_input_is_a_json_4xx_and_changes_nothing(world: World, name: str) -> None:
    build, allowed = CATALOGUE[name]
    before = world.mock.fingerprint(world.entity)
    reply = world.mock.raw(build(world))
    assert_json_error(reply, allowed)
    assert world.mock.fingerprint(world.entity) == before
    assert world.mock.alive()


def _zeros(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = min(size, total - sent)
        sent += chunk
        yield b"0" * chunk


TEN_MB = 10 * 1024 * 1024


def test_ten_megabyte_body_is_413(world: World) -> None:
    before = world.mock.fingerprint(world.entity)
    reply = world.mock.raw_streamed(world.head("POST", _q(world), length=TEN_MB), _zeros(TEN_MB))
    assert_json_error(reply, {413})
    assert world.mock.fingerprint(world.entity) == before
    assert world.mock.alive()


def test_ten_megabyte_chunked_body_without_length_is_413(world: World) -> None:
    head = world.head("POST", _q(world)).replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
    chunks = (b"%x\r\n%s\r\n" % (len(c), c) for c in _zeros(TEN_MB))
    before = world.mock.fingerprint(world.entity)
    reply = world.mock.raw_streamed(head, chunks)
    assert_json_error(reply, {413})
    assert world.mock.fingerprint(world.entity) == before
    assert world.mock.alive()


def test_body_just_over_one_mebibyte_is_413(world: World) -> None:
    body = b'{"notes": "' + b"x" * (1024 * 1024) + b'"}'
    reply = world.mock.raw(world.post(_q(world), body))
    assert_json_error(reply, {413})


def test_truncated_body_then_close_changes_nothing(world: World) -> None:
    """Content-Length promises more than is sent, then the client half-closes: whatever the
    server answers (if anything) is not a 5xx, and a complete-looking prefix is not acted on."""
    complete = json.dumps(world.valid_quote()).encode()
    before = world.mock.fingerprint(world.entity)
    for body in (complete, complete[: len(complete) // 2]):
        head = world.head("POST", _q(world), length=len(complete) + 100)
        reply = world.mock.raw(head + body, half_close=True, timeout=5)
        if reply is not None:
            assert_json_error(reply, {400})
    assert world.mock.fingerprint(world.entity) == before
    assert world.mock.alive()


def test_dribbling_client_then_disconnect_changes_nothing_and_others_are_served(world: World) -> None:
    """A client sends headers, dribbles half the body for ~1 s and vanishes; meanwhile other
    clients are answered promptly and nothing of the half request is stored."""
    body = json.dumps(world.valid_quote()).encode()
    before = world.mock.fingerprint(world.entity)
    slow = socket.create_connection((HOST, world.mock.port), timeout=5)
    try:
        slow.sendall(world.head("POST", _q(world), length=len(body)))
        for i in range(len(body) // 2):
            slow.sendall(body[i : i + 1])
            if i % 10 == 0:
                started = time.monotonic()
                reply = world.mock.request("GET", f"{_q(world)}&pageSize=1", token=world.key, timeout=5)
                assert reply.status == 200
                assert time.monotonic() - started < 2
            time.sleep(0.01)
    finally:
        slow.close()
    assert world.mock.fingerprint(world.entity) == before
    assert world.mock.alive()


def test_headers_only_clients_do_not_block_the_server(world: World) -> None:
    """Twenty clients open a request and never finish the headers; the server still answers."""
    stalled = []
    try:
        for _ in range(20):
            sock = socket.create_connection((HOST, world.mock.port), timeout=5)
            sock.sendall(f"POST {_q(world)} HTTP/1.1\r\nHost: {HOST}\r\nContent-Le".encode())
            stalled.append(sock)
        reply = world.mock.request("GET", _q(world), token=world.key, timeout=5)
        assert reply.status == 200
    finally:
        for sock in stalled:
            sock.close()
    assert world.mock.alive()


def test_dropped_clients_leave_whole_objects_or_nothing(world: World) -> None:
    """Fifty clients send a complete createQuote and hang up without reading. Each request is
    either fully applied or not at all: the quotes that exist are whole and numbered in sequence."""
    q = _q(world)
    total_before = world.mock.request("GET", q, token=world.key).json["total"]
    request = world.post(q, json.dumps(world.valid_quote()).encode())
    for _ in range(50):
        with socket.create_connection((HOST, world.mock.port), timeout=5) as sock:
            sock.sendall(request)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    assert world.mock.alive()
    deadline = time.monotonic() + 5
    listing = world.mock.request("GET", f"{q}&pageSize=100", token=world.key).json
    while time.monotonic() < deadline and listing["total"] < total_before + 50:
        time.sleep(0.1)
        listing = world.mock.request("GET", f"{q}&pageSize=100", token=world.key).json
    created = listing["total"] - total_before
    assert 0 <= created <= 50
    new = listing["data"][:created]
    numbers = sorted(int(quote["number"].split("-")[1]) for quote in new)
    assert numbers == list(range(numbers[0], numbers[0] + created)) if created else True
    for quote in new:
        assert quote["total"] == quote["subtotal"] + quote["taxTotal"]
        assert len(quote["lines"]) == 1
        fetched = world.mock.request("GET", f"{Q}/{quote['id']}?entityId={world.entity}", token=world.key)
        assert fetched.status == 200
        assert fetched.json == quote


def test_server_answers_after_the_whole_catalogue(mock: LiveMock, tmp_path: Path) -> None:
    assert mock.alive()
    assert "Traceback" not in mock.log_tail(200_000), mock.log_tail()
