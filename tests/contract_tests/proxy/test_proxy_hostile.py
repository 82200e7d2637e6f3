"""``sales-contract proxy`` against hostile upstreams and clients: it never hands one request's answer
to another, never passes a broken answer on as whole, keeps its memory bounded under a gzip bomb,
bounds headers and time, and refuses ambiguous requests.

The proxy runs as the command runs it (``run.http_server``) in a thread of this process, so each test
can read its findings; the upstreams are raw servers on 127.0.0.1 (``proxy_support``).
"""

from __future__ import annotations

import gzip
import json
import socket
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from proxy_support import BOMB_SIZE, Hostile, echo_upstream, hostile_upstream, raw_exchange, served

from contract_tests.proxy import server as proxy_server
from contract_tests.proxy.server import BUFFER_LIMIT, CHECK_LIMIT, ProxyApp
from contract_tests.proxy.spec import Contract
from mock_server.resources import spec_path

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(spec_path())


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with hostile_upstream() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def proxied(hostile: Hostile, contract: Contract) -> Iterator[tuple[str, _Watched]]:
    """The proxy in front of the hostile upstream: (its URL, the app)."""
    app = _Watched(hostile.url, contract, timeout=10, log=lambda _line: None)
    with served(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def echoed(contract: Contract) -> Iterator[tuple[str, _Watched, list[Any]]]:
    """The proxy in front of the echo upstream: (its URL, the app, what the upstream received)."""
    with echo_upstream() as (upstream, seen):
        app = _Watched(upstream, contract, timeout=10, log=lambda _line: None)
        with served(app) as url:
            yield url, app, seen


def _get(url: str, path: str) -> httpx.Response:
    return httpx.get(url + path, timeout=15)


def _request(url: str, head: bytes) -> bytes:
    """One raw request that asks for the connection to be closed; everything read until it is."""
    return raw_exchange(url, head + b"Connection: close\r\n\r\n")


class _Watched(ProxyApp):
    """The proxy, counting the exchanges it has checked and recorded (it does so just after the client
    has the answer, so a test waits for the count before it reads the findings)."""

    checked = 0

    def _check(self, *args: Any) -> None:
        super()._check(*args)
        self.checked += 1


def _settled(app: _Watched, before: dict[str, Any], exchanges: int = 1) -> dict[str, Any]:
    """The findings once ``exchanges`` more exchanges (than in ``before``) are recorded."""
    deadline = time.monotonic() + 30
    while app.checked < before["checked"] + exchanges and time.monotonic() < deadline:
        time.sleep(0.01)
    return app.findings.snapshot()


def _before(app: _Watched) -> dict[str, Any]:
    return {**app.findings.snapshot(), "checked": app.checked}


def _still_answers(url: str) -> None:
    answer = _get(url, "/plain?alive")
    assert answer.status_code == 200 and answer.json() == {"target": "/plain?alive"}


# --------------------------------------------------------------------------- answers never mixed up


def test_an_extra_answer_behind_the_real_one_never_reaches_the_next_request(
    hostile: Hostile, proxied: tuple[str, _Watched]
) -> None:
    url, _ = proxied
    reused = len(hostile.reused)
    first = _get(url, "/extra?n=1")
    assert first.json() == {"target": "/extra?n=1"}
    for n in range(2, 5):
        assert _get(url, f"/plain?n={n}").json() == {"target": f"/plain?n={n}"}
    assert hostile.reused[reused:] == [], "the connection that carried the extra answer is closed, never reused"


def test_bytes_on_an_idle_pooled_connection_discard_it(hostile: Hostile, proxied: tuple[str, _Watched]) -> None:
    url, app = proxied
    reused = len(hostile.reused)
    hostile.stray_sent.clear()
    assert _get(url, "/idle-extra").json() == {"target": "/idle-extra"}
    assert hostile.stray_sent.wait(10), "the upstream sent its stray answer"
    pool = app._upstream_client._idle
    deadline = time.monotonic() + 10
    while not any(conn.reader.fed > conn.reader.taken for conn in pool) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the stray bytes sit in the pooled connection (ordering, not a timing assertion)
    for n in range(1, 4):
        assert _get(url, f"/plain?after={n}").json() == {"target": f"/plain?after={n}"}
    assert hostile.reused[reused:] == [], "the connection that got stray bytes while idle is closed, never reused"


# --------------------------------------------------------------------------- cut-short answers


def test_a_cut_short_answer_aborts_the_client_connection_and_is_recorded(proxied: tuple[str, _Watched]) -> None:
    url, app = proxied
    before = _before(app)
    chunked = _request(url, b"GET /cut-chunked HTTP/1.1\r\nHost: x\r\n")
    head, _, body = chunked.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"hello" in body
    assert not body.endswith(b"0\r\n\r\n"), "the client must not see the end of a chunked body the upstream never sent"
    short = _request(url, b"GET /cut-length HTTP/1.1\r\nHost: x\r\n")
    head, _, body = short.partition(b"\r\n\r\n")
    assert b"content-length: 100" in head.lower() and body == b"0123456789"
    snapshot = _settled(app, before, 2)
    assert snapshot["upstreamAborted"] == before["upstreamAborted"] + 2
    messages = snapshot["upstreamFaults"]["aborted"]
    assert any("GET /cut-chunked" in m and "chunked body without its last chunk" in m for m in messages), messages
    assert any("GET /cut-length" in m and "Content-Length: 100, 10 bytes received" in m for m in messages), messages
    _still_answers(url)


# --------------------------------------------------------------------------- statuses and headers


@pytest.mark.parametrize("status", ["999", "000"])
def test_a_status_outside_100_599_is_a_502(status: str, proxied: tuple[str, _Watched]) -> None:
    url, _ = proxied
    answer = _get(url, f"/status-{status}")
    assert answer.status_code == 502 and f"status {status}, outside 100-599" in answer.json()["error"]
    _still_answers(url)


@pytest.mark.parametrize(
    ("path", "problem"),
    [("/many-headers", "more than 100 header fields"), ("/huge-header", "more than 64 KiB of headers")],
)
def test_upstream_headers_over_the_limits_are_a_502(path: str, problem: str, proxied: tuple[str, _Watched]) -> None:
    url, _ = proxied
    answer = _get(url, path)
    assert answer.status_code == 502 and problem in answer.json()["error"]
    _still_answers(url)


def test_client_headers_over_the_limits_are_a_431(echoed: tuple[str, _Watched, list[Any]]) -> None:
    url, _, seen = echoed
    before = len(seen)
    many = httpx.get(url + "/x", headers={f"x-h{i}": "v" for i in range(120)}, timeout=15)
    assert many.status_code == 431 and "at most 100" in many.json()["error"]
    big = httpx.get(url + "/x", headers={"x-big": "v" * (70 * 1024)}, timeout=15)
    assert big.status_code == 431 and "at most 64 KiB" in big.json()["error"]
    assert len(seen) == before, "nothing went upstream"


def test_hop_by_hop_headers_named_in_connection_are_not_forwarded(
    proxied: tuple[str, _Watched], echoed: tuple[str, _Watched, list[Any]]
) -> None:
    url, _ = proxied
    answer = _get(url, "/hop")
    assert answer.status_code == 200 and "x-upstream-hop" not in answer.headers
    url, _, seen = echoed
    headers = {"Connection": "keep-alive, X-Client-Hop", "X-Client-Hop": "secret", "X-Kept": "yes"}
    assert httpx.get(url + "/echo", headers=headers, timeout=15).status_code == 299
    sent = {name.lower() for name, *_ in seen[-1][2]}
    assert b"x-kept" in sent and b"x-client-hop" not in sent


# --------------------------------------------------------------------------- ambiguous requests


@pytest.mark.parametrize("path", [b"/smuggle", b"/__proxy/violations"])
def test_content_length_with_transfer_encoding_is_refused_and_the_connection_closed(
    path: bytes, echoed: tuple[str, _Watched, list[Any]]
) -> None:
    url, _, seen = echoed
    before = len(seen)
    request = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" % path
    request += b"0\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = raw_exchange(url, request)  # returns only because the proxy closes the connection
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 400")
    assert b"connection: close" in answer.lower() and b"Content-Length and Transfer-Encoding" in answer
    assert len(seen) == before, "nothing went upstream"


def test_an_absolute_form_target_goes_to_the_upstream_as_its_path(echoed: tuple[str, _Watched, list[Any]]) -> None:
    url, _, seen = echoed
    answer = _request(url, b"GET http://elsewhere.example/api/x%2Fy?q=1 HTTP/1.1\r\nHost: elsewhere.example\r\n")
    assert answer.startswith(b"HTTP/1.1 299")
    method, target, headers, _ = seen[-1]
    assert (method, target) == (b"GET", b"/api/x%2Fy?q=1")
    assert {k.lower(): v for k, v, *_ in headers}[b"host"] != b"elsewhere.example", "Host names the upstream"
    for refused in (b"OPTIONS * HTTP/1.1\r\nHost: x\r\n", b"CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: x\r\n"):
        before = len(seen)
        answer = _request(url, refused)
        assert answer.startswith(b"HTTP/1.1 400") and b"must be a path or an absolute" in answer
        assert len(seen) == before


# --------------------------------------------------------------------------- gzip bombs


class _CountingZlib:
    """Stands in for ``zlib`` in the proxy's server module: records the most any one decompression produced."""

    MAX_WBITS = zlib.MAX_WBITS
    error = zlib.error

    def __init__(self) -> None:
        self.largest = 0

    def decompress(self, data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
        out = zlib.decompress(data, wbits)
        self.largest = max(self.largest, len(out))
        return out

    def decompressobj(self, wbits: int = zlib.MAX_WBITS) -> _CountingDecoder:
        return _CountingDecoder(self, zlib.decompressobj(wbits))


class _CountingDecoder:
    def __init__(self, owner: _CountingZlib, inner: Any) -> None:
        self.owner, self.inner, self.produced = owner, inner, 0

    @property
    def eof(self) -> bool:
        return bool(self.inner.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self.inner.unused_data)

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out: bytes = self.inner.decompress(data, max_length)
        self.produced += len(out)
        self.owner.largest = max(self.owner.largest, self.produced)
        return out


def test_a_gzip_bomb_answer_is_forwarded_unchanged_and_decoded_only_up_to_the_check_limit(
    hostile: Hostile, proxied: tuple[str, _Watched], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, app = proxied
    counting = _CountingZlib()
    monkeypatch.setattr(proxy_server, "zlib", counting)
    before = _before(app)
    with httpx.stream("GET", url + "/bomb", timeout=30) as answer:
        raw = b"".join(answer.iter_raw())
    assert answer.status_code == 200 and raw == hostile.bomb, "the answer goes through as the upstream sent it"
    assert _settled(app, before)["uncheckedBodies"] == before["uncheckedBodies"] + 1
    assert 0 < counting.largest <= CHECK_LIMIT + 1 < BOMB_SIZE
    _still_answers(url)


def test_a_gzip_bomb_request_body_is_forwarded_unchanged_and_decoded_only_up_to_the_check_limit(
    hostile: Hostile, echoed: tuple[str, _Watched, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, app, seen = echoed
    counting = _CountingZlib()
    monkeypatch.setattr(proxy_server, "zlib", counting)
    before = _before(app)
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    answer = httpx.post(url + "/upload", content=hostile.bomb, headers=headers, timeout=30)
    assert answer.status_code == 299 and seen[-1][3] == hostile.bomb
    assert _settled(app, before)["uncheckedBodies"] == before["uncheckedBodies"] + 1
    assert 0 < counting.largest <= CHECK_LIMIT + 1 < BOMB_SIZE


def test_small_compressed_bodies_are_still_checked(echoed: tuple[str, _Watched, list[Any]]) -> None:
    """The decoder is streamed, not skipped: a small gzip or deflate JSON body is decoded and checked."""
    kept = proxy_server._Kept(1024, "gzip")
    packed = gzip.compress(b'{"a": [1, 2, 3]}')
    for i in range(0, len(packed), 7):
        kept.add(packed[i : i + 7])
    assert proxy_server._parse(kept, "application/json") == {"a": [1, 2, 3]}
    deflated = proxy_server._Kept(1024, "deflate")
    deflated.add(zlib.compress(b'{"b": true}'))
    assert proxy_server._parse(deflated, "application/json") == {"b": True}
    cut = proxy_server._Kept(1024, "gzip")
    cut.add(packed[:-9])
    assert proxy_server._parse(cut, "application/json") is proxy_server.NOT_JSON
    two_members = proxy_server._Kept(1024, "gzip")
    two_members.add(packed)
    two_members.add(gzip.compress(b"[]"))
    assert proxy_server._parse(two_members, "application/json") is proxy_server.UNCHECKED
    url, app, _ = echoed
    before = _before(app)
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    assert httpx.post(url + "/upload", content=packed, headers=headers, timeout=15).status_code == 299
    assert _settled(app, before)["uncheckedBodies"] == before["uncheckedBodies"]


# --------------------------------------------------------------------------- the whole answer is timed


@pytest.fixture(scope="module")
def impatient(hostile: Hostile, contract: Contract) -> Iterator[tuple[str, _Watched]]:
    """The proxy with a 1 s upstream timeout in front of the hostile upstream, whose trickles take 5 s
    at 50 ms a byte: every read is quick, the whole answer is not."""
    app = _Watched(hostile.url, contract, timeout=1, log=lambda _line: None)
    with served(app) as url:
        yield url, app


def test_an_answer_head_trickled_past_the_timeout_is_a_504(impatient: tuple[str, _Watched]) -> None:
    url, app = impatient
    before = _before(app)
    answer = _get(url, "/trickle-head")
    assert answer.status_code == 504 and "within 1 s" in answer.json()["error"]
    assert _settled(app, before)["upstreamTimeouts"] == before["upstreamTimeouts"] + 1


def test_an_answer_body_trickled_past_the_timeout_aborts_the_client_connection(
    impatient: tuple[str, _Watched],
) -> None:
    url, app = impatient
    before = _before(app)
    answer = _request(url, b"GET /trickle-body HTTP/1.1\r\nHost: x\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body) < 100
    messages = _settled(app, before)["upstreamFaults"]["aborted"]
    assert any("GET /trickle-body" in m and "within 1 s" in m for m in messages), messages


def test_a_slow_client_body_does_not_use_the_upstream_timeout(contract: Contract) -> None:
    """The timeout is the upstream's time: a streamed request body the client takes longer than the
    timeout to send (1.8 s against 1 s) still goes through whole."""
    body = b"x" * (BUFFER_LIMIT + 1024)
    head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    with echo_upstream() as (upstream, seen):
        app = _Watched(upstream, contract, timeout=1, log=lambda _line: None)
        with served(app) as url, socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), 15) as sock:
            sock.sendall(head + body[: BUFFER_LIMIT + 1])  # past BUFFER_LIMIT: the body streams upstream
            for part in (body[BUFFER_LIMIT + 1 : -2], body[-2:-1], body[-1:]):
                time.sleep(0.6)
                sock.sendall(part)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 299"), answer[:200]
    assert seen[-1][3] == body


# --------------------------------------------------------------------------- the reports name the faults


def test_the_reports_list_upstream_faults_with_their_messages(tmp_path: Any) -> None:
    from contract_tests.proxy.report import write_html, write_junit
    from contract_tests.proxy.violations import Findings

    findings = Findings()
    findings.upstream_fault("aborted", "GET /x: the upstream closed the connection before the end of its answer")
    junit, page = tmp_path / "j.xml", tmp_path / "r.html"
    write_junit(junit, findings.snapshot(), "http://u", 1.0)
    write_html(page, findings.snapshot(), "http://u", 1.0)
    for text in (junit.read_text(), page.read_text()):
        assert "upstream failed mid-answer (client connection aborted)" in text
        assert "GET /x: the upstream closed the connection before the end of its answer" in text
    assert json.dumps(findings.snapshot()["upstreamFaults"]).count("GET /x") == 1
