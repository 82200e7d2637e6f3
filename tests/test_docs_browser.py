"""``/docs`` in a real headless browser (Debian's chromium), with the network cut off but for the mock.

Chromium resolves no host name but 127.0.0.1 and sends anything else to a dead proxy; over the
DevTools protocol the test records every request the page makes and fails if one leaves the mock.
It checks that Swagger UI rendered every Sales API operation, performs one try-it-out call
(listCustomers with the preauthorized demo key and the prefilled demo entity) that must answer 200,
switches the spec selector to the admin API, and saves screenshots to ``reports/screenshots/``.

CI installs chromium with ``scripts/ci-system-deps.sh``; elsewhere the test is skipped without it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from browser_support import CHROMIUM, QUIET_FLAGS, needs_chromium, profile_dir
from livemock import running_mock
from websockets.sync.client import ClientConnection, connect

from contract_tests.process import stop

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "sales.yaml"
SCREENSHOTS = ROOT / "reports" / "screenshots"
FLAGS = [
    "--headless=new",
    *QUIET_FLAGS,
    "--no-first-run",
    "--disable-extensions",
    "--window-size=1400,1000",
    # offline but for the mock: no name resolves (127.0.0.1 is an address), other traffic hits a dead proxy
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--remote-debugging-port=0",
]


def _operations() -> dict[str, tuple[str, str]]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path)
    return found


class DevTools:
    """A minimal Chrome DevTools Protocol client on one page: commands, and the events seen so far."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.next_id:
                assert "error" not in message, f"{method}: {message['error']}"
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        target = SCREENSHOTS / name
        target.write_bytes(base64.b64decode(shot["data"]))
        return target


@contextmanager
def _browser() -> Iterator[DevTools]:
    with profile_dir() as profile:
        command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        env = {**os.environ, "HOME": profile}
        log = Path(profile) / "chromium.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_file, env=env)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().strip()):
                assert process.poll() is None, f"chromium exited: {log.read_text(errors='replace')[-2000:]}"
                assert time.monotonic() < deadline, "chromium did not open its DevTools port"
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                pages = [t for t in json.load(answer) if t["type"] == "page"]
            with connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 2**20, open_timeout=10) as socket:
                tools = DevTools(socket)
                tools.send("Network.enable")
                tools.send("Page.enable")
                tools.send(
                    "Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False
                )
                yield tools
        finally:
            stop(process, timeout=20)


@needs_chromium
def test_docs_render_offline_and_try_it_out_answers_200() -> None:
    operations = _operations()
    with running_mock("--fixtures", "demo", "--log-level", "warning") as url, _browser() as page:
        page.send("Page.navigate", url=f"{url}/")  # `/` redirects to /docs
        page.wait_for("document.querySelectorAll('.opblock').length >= 21", "Swagger UI to render the operations")
        assert page.js("location.pathname") == "/docs"
        rendered = page.js(
            "Array.from(document.querySelectorAll('.opblock')).map(b => ["
            "b.querySelector('.opblock-summary-method')?.textContent,"
            "b.querySelector('.opblock-summary-path')?.getAttribute('data-path'),"
            "b.querySelector('.opblock-summary-operation-id')?.textContent])"
        )
        shown = {operation_id: (method, path) for method, path, operation_id in rendered}
        assert shown == operations, "Swagger UI does not show exactly the spec's operations"
        page.screenshot("docs-sales-api.png")

        # try it out: listCustomers with the preauthorized demo key and the prefilled demo entity
        block = "#operations-Customers-listCustomers"
        assert page.js("window.ui.authSelectors.authorized().has('bearerAuth')"), "the demo key is not authorized"
        page.js(f"document.querySelector('{block} .opblock-summary-control').click()")
        page.wait_for(f"!!document.querySelector('{block} button.execute')", "the Execute button")
        entity = page.wait_for(f"document.querySelector('{block} input[placeholder^=\"entityId\"]')?.value", "entityId")
        assert entity == "497f6eca-6276-4993-bfeb-53cbbbba6f08"
        page.js(f"document.querySelector('{block} button.execute').click()")
        status = page.wait_for(
            f"document.querySelector('{block} .live-responses-table tbody .response-col_status')?.textContent.trim()",
            "the live response",
        )
        assert status.startswith("200"), f"try-it-out answered {status}"
        body = page.js(
            f"document.querySelector('{block} .live-responses-table tbody .response-col_description pre').textContent"
        )
        assert "Acme Corp" in body
        curl = page.js(f"document.querySelector('{block} .curl-command')?.textContent || ''")
        assert "Authorization: Bearer ak_demo_readwrite" in curl and url in curl
        page.screenshot("docs-try-it-out.png")

        # the admin API beside the Sales API, in the spec selector
        options = page.js("Array.from(document.querySelectorAll('select#select option')).map(o => o.textContent)")
        admin = next(option for option in options if "admin" in option.lower())
        page.js(
            "(() => { const s = document.querySelector('select#select');"
            f" s.value = Array.from(s.options).find(o => o.textContent === {json.dumps(admin)}).value;"
            " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )
        page.wait_for("document.body.innerText.includes('/__admin/health')", "the admin API")
        page.screenshot("docs-admin-api.png")

        page.js("0")  # drain the events the last command left
        requested = {
            event["params"]["request"]["url"]
            for event in page.events
            if event.get("method") == "Network.requestWillBeSent"
        }
    assert requested, "no request was recorded"
    outside = sorted(u for u in requested if not u.startswith((url + "/", "data:", "blob:")))
    assert outside == [], f"the docs page reached outside the mock: {outside}"
