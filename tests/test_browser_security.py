"""A hostile web page in the developer's browser cannot drive the admin API; a local frontend can
still call the Sales API. Proven in a real headless Chromium (Debian's package), with the mock
on one loopback port and the pages on two others; plus the Host/Origin/media-type rules over
plain HTTP (DNS rebinding cannot be staged in a browser without a resolver of our own).
"""

from __future__ import annotations

import contextlib
import html
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import dump_dom, needs_chromium
from livemock import DEMO_ENTITY, LiveMock, live_mock

HOSTILE_PAGE = """<!doctype html><html><body><pre id="result">pending</pre>
<form id="f" method="POST" action="__MOCK_URL__/__admin/reset" target="sink"><input name="a" value="1"></form>
<iframe id="sink" name="sink"></iframe>
<script>
const MOCK = "__MOCK_URL__";
async function attempt(label, run) {
  try { return label + ": " + (await run()); } catch (e) { return label + ": blocked (" + e.name + ")"; }
}
const out = [];
const show = (state) => { document.getElementById("result").textContent = state + " " + out.join(" | "); };
(async () => {
  out.push(await attempt("read-state", async () => {
    const r = await fetch(MOCK + "/__admin/state"); return "read " + r.status + " " + (await r.text()).slice(0, 40);
  }));
  out.push(await attempt("reset-json", async () => {
    const json = {"Content-Type": "application/json"};
    const r = await fetch(MOCK + "/__admin/reset", {method: "POST", headers: json, body: "{}"});
    return "status " + r.status;
  }));
  show("pending");
  out.push(await attempt("reset-no-cors", async () => {
    const r = await fetch(MOCK + "/__admin/reset", {method: "POST", mode: "no-cors", body: "a=1"});
    return "sent (opaque " + r.type + ")";
  }));
  out.push(await attempt("delete-entity", async () => {
    const r = await fetch(MOCK + "/__admin/entities/__ENTITY__", {method: "DELETE"}); return "status " + r.status;
  }));
  show("pending");
  document.getElementById("sink").addEventListener("load", () => show("DONE"));
  document.getElementById("f").submit();
})();
</script></body></html>"""

FRONTEND_PAGE = """<!doctype html><html><body><pre id="result">pending</pre>
<script>
(async () => {
  let text;
  try {
    const auth = {"Authorization": "Bearer ak_demo_readwrite"};
    const r = await fetch("__MOCK_URL__/api/sales/plans?entityId=__DEMO__", {headers: auth});
    const body = await r.json();
    text = "status " + r.status + " plans " + body.data.length;
  } catch (e) { text = "failed (" + e.name + ")"; }
  document.getElementById("result").textContent = "DONE " + text;
})();
</script></body></html>"""


@contextlib.contextmanager
def _page_server(page: str) -> Iterator[int]:
    """Serve one HTML page on a free 127.0.0.1 port (another origin than the mock)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _render(url: str) -> str:
    dom = dump_dom(url, budget_ms=20000)
    found = re.search(r'<pre id="result">(.*?)</pre>', html.unescape(dom), flags=re.DOTALL)
    assert found is not None, dom[-2000:]
    return found.group(1)


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[LiveMock]:
    with live_mock(tmp_path, ("--fixtures", "empty")) as running:
        yield running


def _state(mock: LiveMock) -> bytes:
    reply = mock.request("GET", "/__admin/state", token=None)
    assert reply.status == 200
    return reply.body


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.slow
@needs_chromium
def test_a_hostile_page_cannot_read_or_reset_the_admin_api(mock: LiveMock) -> None:
    entity, _key = mock.new_entity(fixtures="demo")
    before = _state(mock)
    base = f"http://127.0.0.1:{mock.port}"
    page = HOSTILE_PAGE.replace("__MOCK_URL__", base).replace("__ENTITY__", entity)
    with _page_server(page) as port:
        result = _render(f"http://127.0.0.1:{port}/")
    assert result.startswith("DONE"), result
    assert "read-state: blocked" in result, result
    assert "reset-json: blocked" in result, result
    assert "delete-entity: blocked" in result, result
    assert _state(mock) == before  # neither the no-cors POST nor the form post changed anything
    journal = mock.request("GET", "/__admin/requests", token=None).json
    assert journal["data"] == []  # and nothing reached the Sales API either


@pytest.mark.browser
@pytest.mark.live
@pytest.mark.slow
@needs_chromium
def test_a_local_frontend_calls_the_sales_api_with_the_demo_key(mock: LiveMock) -> None:
    page = FRONTEND_PAGE.replace("__MOCK_URL__", f"http://127.0.0.1:{mock.port}").replace("__DEMO__", DEMO_ENTITY)
    with _page_server(page) as port:
        result = _render(f"http://localhost:{port}/")
    assert result == "DONE status 200 plans 0", result


@pytest.mark.live
def test_admin_host_origin_and_media_type_rules(mock: LiveMock) -> None:
    before = _state(mock)
    admin = "/__admin/reset"
    rebinding = mock.request("POST", admin, token=None, headers={"Host": f"attacker.example:{mock.port}"})
    assert rebinding.status == 421 and "Host" in rebinding.json["error"]
    assert mock.request("GET", "/__admin/state", token=None, headers={"Host": "attacker.example"}).status == 421
    other_port = mock.request("POST", admin, token=None, headers={"Origin": "http://127.0.0.1:1"})
    assert other_port.status == 403 and "Origin" in other_port.json["error"]
    form = mock.request(
        "POST", admin, b"a=1", token=None, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.status == 415
    text = mock.request("POST", admin, b"{}", token=None, headers={"Content-Type": "text/plain"})
    assert text.status == 415
    assert _state(mock) == before
    for reply in (rebinding, other_port, form, text):
        assert not any(name.startswith("access-control-") for name in reply.headers)
    same_origin = {"Origin": f"http://127.0.0.1:{mock.port}", "Host": f"127.0.0.1:{mock.port}"}
    assert mock.request("POST", admin, token=None, headers=same_origin).status == 204
    assert mock.request("GET", "/__admin/health", token=None, headers={"Host": f"localhost:{mock.port}"}).status == 200
    preflight = mock.request(
        "OPTIONS", admin, token=None, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status in (403, 405) and "access-control-allow-origin" not in preflight.headers
    assert json.loads(preflight.body)["error"]


@pytest.mark.live
def test_allowed_host_lets_a_named_host_through(tmp_path: Path) -> None:
    with live_mock(tmp_path, ("--fixtures", "empty", "--allowed-host", "mock.internal")) as mock:
        headers = {"Host": f"mock.internal:{mock.port}"}
        assert mock.request("GET", "/__admin/health", token=None, headers=headers).status == 200
        headers = {"Host": f"other.internal:{mock.port}"}
        assert mock.request("GET", "/__admin/health", token=None, headers=headers).status == 421
