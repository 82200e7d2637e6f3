"""``sales-contract proxy``: byte-exact forwarding, upstream faults, reports on SIGTERM, redaction, recording,
zero violations on the true mock under the contract suite's traffic, and each broken server caught.

Every upstream is started here on a free loopback port (the mock, a mutant, or a raw echo server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from xml.etree import ElementTree as ET

import httpx
import pytest
import yaml
from livemock import DEMO_SUITE_ENV
from proxy_support import echo_upstream, proxy_process, raw_exchange

from contract_tests.process import free_port, sales_mock_command, serve
from contract_tests.proxy.server import ProxyApp
from contract_tests.proxy.spec import Contract
from mock_server.resources import spec_path

HERE = Path(__file__).resolve().parents[2]  # tests/
DEMO = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
OTHER = "f1f5c646-a768-4f15-ab7e-5e3088389de0"
ACME = "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10"
RW, OTHER_RW = "ak_demo_readwrite", "ak_other_readwrite"
CLOCK = "2025-03-01T00:00:00Z"
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(spec_path())


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    with serve(sales_mock_command(port), port, log_path=tmp_path_factory.mktemp("proxy") / "mock.log") as url:
        yield url


# --------------------------------------------------------------------------- the true mock


@pytest.mark.slow
def test_true_mock_has_no_violations_under_the_suites_traffic_and_the_recording_loads(
    mock_url: str, tmp_path: Path
) -> None:
    junit, report, record = tmp_path / "proxy.xml", tmp_path / "proxy.html", tmp_path / "recorded.yaml"
    outputs = ["--junit", str(junit), "--report", str(report), "--record", str(record), "--fail-on-violation"]
    with proxy_process(mock_url, *outputs) as proxy:
        command = [sys.executable, "-m", "contract_tests.cli", "check", "--target", proxy.url, "--profile", "fast"]
        command += ["--seed", "20250301", "--allow-writes", "--max-examples", "3"]
        suite = subprocess.run(
            command, env={**os.environ, **DEMO_SUITE_ENV}, capture_output=True, text=True, timeout=300, check=False
        )
        assert suite.returncode == 0, suite.stdout[-3000:]
        seen = httpx.get(proxy.url + "/__proxy/violations", timeout=10).json()
        code, stderr = proxy.stop(signal.SIGTERM)
    assert seen["violations"] == [], json.dumps(seen["violations"][:5], indent=1)
    assert seen["exchanges"] > 200
    assert code == 0, stderr[-3000:]
    cases = ET.parse(junit).getroot().findall("testcase")
    names = {case.get("name") for case in cases}
    assert {"createQuote", "patchOrder", "changePlan", "listSubscriptions", "getDashboard"} <= names
    assert not [case for case in cases if case.find("failure") is not None]
    assert "sales-contract proxy report" in report.read_text() and "<script" not in report.read_text()
    assert RW not in record.read_text() and "ak_rec_" in record.read_text()
    _recording_round_trip(record)


def _recording_round_trip(record: Path) -> None:
    """The recorded fixtures load into ``sales-mock serve`` and answer the recorded resources with a generated key."""
    document = yaml.safe_load(record.read_text())
    demo = next(entity for entity in document["entities"] if entity["id"] == DEMO)
    key = demo["apiKeys"][0]["key"]
    assert key.startswith("ak_rec_") and key in record.read_text().split("entities:")[0], "keys listed at the top"
    port = free_port()
    command = [*sales_mock_command(port), "--fixtures", str(record)]
    with serve(command, port, log_path=record.with_suffix(".log")) as url:
        headers = {"Authorization": f"Bearer {key}"}
        for section in ("customers", "plans", "quotes", "orders", "subscriptions"):
            params: dict[str, Any] = {"entityId": DEMO}
            if section in ("quotes", "orders"):
                params["pageSize"] = 100
            answer = httpx.get(f"{url}/api/sales/{section}", params=params, headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
            served = {item["id"]: item for item in answer.json()["data"]}
            assert set(served) == {item["id"] for item in demo[section]}, section
            for item in demo[section]:
                if section in ("quotes", "orders"):
                    want = "converted" if section == "quotes" and _converted(demo, item["id"]) else item["status"]
                    assert served[item["id"]]["status"] == want, (section, item["id"])
        assert httpx.get(f"{url}/api/sales/quotes", params={"entityId": DEMO}, timeout=10).status_code == 401


def _converted(entity: dict[str, Any], quote_id: str) -> bool:
    return any(order.get("quoteId") == quote_id for order in entity["orders"])


# --------------------------------------------------------------------------- broken servers

ENTITY_Q = {"entityId": DEMO}
AUTH = {"Authorization": f"Bearer {RW}"}
TRICKY = [{"description": "half cent", "quantity": 1, "unitPrice": 1001, "discountBps": 5000}]


async def _traffic(mutant: str, client: httpx.AsyncClient) -> None:
    """The few requests that expose ``mutant`` (as real clients would send them)."""
    if mutant == "float_rounding":
        await client.post(
            "/api/sales/quotes", params=ENTITY_Q, headers=AUTH, json={"customerId": ACME, "lines": TRICKY}
        )
    elif mutant == "undocumented_status":
        await client.get("/api/sales/quotes/00000000-0000-4000-8000-000000000000", params=ENTITY_Q, headers=AUTH)
    elif mutant == "drop_required_field":
        await client.get("/api/sales/quotes", params=ENTITY_Q, headers=AUTH)
    elif mutant == "no_www_authenticate":
        await client.get("/api/sales/quotes", params=ENTITY_Q)
    elif mutant == "list_leaks_other_entity":
        other = {"Authorization": f"Bearer {OTHER_RW}"}
        await client.get("/api/sales/customers", params={"entityId": OTHER}, headers=other)
        await client.get("/api/sales/customers", params=ENTITY_Q, headers=AUTH)
    elif mutant == "illegal_status_jump":
        body = {"customerId": ACME, "orderDate": "2025-03-01", "lines": TRICKY}
        order = (await client.post("/api/sales/orders", params=ENTITY_Q, headers=AUTH, json=body)).json()
        patch = {"status": "fulfilled"}
        await client.patch(f"/api/sales/orders/{order['id']}", params=ENTITY_Q, headers=AUTH, json=patch)
    elif mutant == "total_off_by_one":
        for page in (1, 2):
            await client.get("/api/sales/quotes", params={**ENTITY_Q, "pageSize": 5, "page": page}, headers=AUTH)
    elif mutant == "proration_off_by_one":
        await client.get("/api/sales/plans", params=ENTITY_Q, headers=AUTH)
        await client.get("/api/sales/subscriptions", params=ENTITY_Q, headers=AUTH)
        sub, pro = "4f6a8c0e-2b4d-4e6f-8a0c-1e3f5a7c9e2b", "7e5c3a1f-9d8b-4c6a-8e4f-2b0d9c7a5e3f"
        body = {"newPlanId": pro, "prorationBehavior": "none"}
        await client.post(f"/api/sales/subscriptions/{sub}/change-plan", params=ENTITY_Q, headers=AUTH, json=body)


EXPECTED = {
    "float_rounding": ("createQuote", "lines/0/amount is 500, expected 501"),
    "undocumented_status": ("getQuote", "status 410 is not documented"),
    "drop_required_field": ("listQuotes", '"number" is a required property'),
    "no_www_authenticate": ("listQuotes", "lacks the required header WWW-Authenticate"),
    "list_leaks_other_entity": ("listCustomers", f"belongs to entity {OTHER} but is in an answer for entity {DEMO}"),
    "illegal_status_jump": ("patchOrder", "illegal status change of order"),
    "total_off_by_one": ("listQuotes", "page 2 of size 5 with total 8 has 2 items"),
    "proration_off_by_one": ("changePlan", "proration.charge is"),
}


def _through_proxy(contract: Contract, upstream: str, mutant: str) -> tuple[dict[str, Any], list[str]]:
    lines: list[str] = []

    async def go() -> dict[str, Any]:
        app = ProxyApp(upstream, contract, timeout=10, log=lines.append)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy", timeout=20) as client:
            await _traffic(mutant, client)
            listing: dict[str, Any] = (await client.get("/__proxy/violations")).json()
        await app.aclose()
        return listing

    return asyncio.run(go()), lines


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(EXPECTED))
def test_each_broken_server_is_reported_with_its_operation_and_problem(
    mutant: str, contract: Contract, tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, str(HERE / "mutants" / "serve.py"), mutant, "--port", str(port)]
    with serve(command, port, log_path=tmp_path / "mutant.log") as upstream:
        listing, lines = _through_proxy(contract, upstream, mutant)
    operation, problem = EXPECTED[mutant]
    hits = [
        v for v in listing["violations"] if v["operationId"] == operation and any(problem in p for p in v["problems"])
    ]
    assert hits, json.dumps(listing, indent=1)[:4000]
    assert any(f" {operation} " in line and "curl -X" in line for line in lines), lines
    assert not any(RW in json.dumps(v) for v in listing["violations"]) and not any(RW in line for line in lines)


def test_the_true_mock_passes_the_same_traffic(contract: Contract, mock_url: str) -> None:
    """The scripted traffic itself is legal: against the true mock it finds nothing."""
    for mutant in EXPECTED:
        if mutant in ("illegal_status_jump", "proration_off_by_one", "float_rounding"):
            continue  # these write: covered by the suite run above
        listing, _ = _through_proxy(contract, mock_url, mutant)
        assert listing["violations"] == [], (mutant, listing)


# --------------------------------------------------------------------------- forwarding and faults


def test_forwarding_is_byte_exact_and_large_bodies_stream_through_unchecked(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    with echo_upstream() as (upstream, seen), proxy_process(upstream, "--report", str(report)) as proxy:
        body = b'{"odd": "\\u00e9"}'
        request = b"FROB /api/sales/a%zz%2F%C3%A9?q=%ZZ&x=1+2 HTTP/1.1\r\nHost: whatever\r\nX-Custom:  keep  me\r\n"
        request += b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        answer = raw_exchange(proxy.url, request + body)
        method, target, headers, received = seen[-1]
        assert (method, target, received) == (b"FROB", b"/api/sales/a%zz%2F%C3%A9?q=%ZZ&x=1+2", body)
        assert (b"X-Custom", b"keep  me") in headers or (b"x-custom", b"keep  me") in headers
        assert answer.startswith(b"HTTP/1.1 299 ") and b"x-odd: spaced value" in answer.lower()
        # 6 MiB up and 6 MiB down: streamed, delivered intact, counted as unchecked
        big = os.urandom(6 * 1024 * 1024)
        posted = httpx.post(proxy.url + "/upload", content=big, timeout=30)
        assert posted.json()["bodyLength"] == len(big) and seen[-1][3] == big
        assert len(httpx.get(proxy.url + "/big?n=6291456", timeout=30).content) == 6291456
        # a chunked upload (no Content-Length) stays a stream to the upstream
        parts = [os.urandom(70_000) for _ in range(5)]
        chunked = httpx.post(proxy.url + "/chunked", content=iter(parts), timeout=30)
        assert chunked.json()["bodyLength"] == 350_000 and seen[-1][3] == b"".join(parts)
        sent_headers = {k.lower(): v for k, v, *_ in seen[-1][2]}
        assert sent_headers.get(b"transfer-encoding") == b"chunked" and b"content-length" not in sent_headers
        # a client that leaves mid-body: nothing reaches the upstream as if it were a whole request
        before = len(seen)
        host, port = proxy.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
        time.sleep(1.0)
        assert len(seen) == before and httpx.get(proxy.url + "/__proxy/health", timeout=10).status_code == 200
        code, stderr = proxy.stop()
    assert code == 0, stderr
    assert "2 bodies too large to check" in report.read_text()


def test_upstream_refused_is_502_slow_is_504_and_both_are_reported(tmp_path: Path) -> None:
    junit, report = tmp_path / "j.xml", tmp_path / "r.html"
    with contextlib.ExitStack() as upstream_alive:
        upstream, _ = upstream_alive.enter_context(echo_upstream())
        args = ("--upstream-timeout", "0.5", "--junit", str(junit), "--report", str(report))
        with proxy_process(upstream, *args) as proxy:
            slow = httpx.get(proxy.url + "/slow", timeout=10)
            assert slow.status_code == 504 and "error" in slow.json()
            upstream_alive.close()  # the upstream goes away while the proxy runs
            refused = httpx.get(proxy.url + "/anything", timeout=10)
            assert refused.status_code == 502 and "unreachable" in refused.json()["error"]
            code, _ = proxy.stop()
    assert code == 0
    text = junit.read_text()
    assert 'name="upstream refused (answered 502)"' in text and 'name="upstream timed out (answered 504)"' in text
    assert "upstream timed out (answered 504): 1" in report.read_text()


def test_unreachable_upstream_or_bad_options_exit_2() -> None:
    cli = [sys.executable, "-m", "contract_tests.cli", "proxy"]
    dead = subprocess.run(
        [*cli, "--upstream", f"http://127.0.0.1:{free_port()}", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dead.returncode == 2 and "does not answer" in dead.stderr
    bad_options = (
        ["--upstream", "ftp://x"],
        ["--upstream", "http://x", "--upstream-timeout", "0"],
        ["--target", "mock", "--port", "70000"],
        ["--target", "staging"],
    )
    for bad in bad_options:
        result = subprocess.run([*cli, *bad], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (bad, result.stderr)


def test_exit_2_writes_the_junit_file_asked_for_naming_the_problem(tmp_path: Path) -> None:
    junit = tmp_path / "reports" / "proxy.xml"
    dead = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "contract_tests.cli", "proxy", "--target", dead, "--port", "0"]
    result = subprocess.run([*command, "--junit", str(junit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    error = ET.parse(junit).getroot().find(".//testcase/error")
    assert error is not None and f"the upstream {dead} does not answer" in (error.get("message") or "")


def test_the_target_defaults_to_the_environment_then_to_a_local_mock() -> None:
    cli = [sys.executable, "-m", "contract_tests.cli", "proxy", "--port", "0"]
    dead = f"http://127.0.0.1:{free_port()}"
    from_env = subprocess.run(
        cli, env={**os.environ, "SALES_API_BASE_URL": dead}, capture_output=True, text=True, timeout=60
    )
    assert from_env.returncode == 2 and f"the upstream {dead} does not answer" in from_env.stderr
    env = {k: v for k, v in os.environ.items() if k != "SALES_API_BASE_URL"}
    with mock.patch.dict(os.environ, env, clear=True), proxy_process("mock") as proxy:
        answer = httpx.get(f"{proxy.url}/api/sales/quotes", params=ENTITY_Q, headers=AUTH, timeout=10)
        assert answer.status_code == 200 and answer.json()["total"] >= 1
        assert httpx.get(f"{proxy.url}/__proxy/violations", timeout=10).json() == {"exchanges": 1, "violations": []}
        code, stderr = proxy.stop()
    assert code == 0, stderr
    started = re.search(r"started a local mock at (http://127\.0\.0\.1:\d+)", stderr)
    assert started is not None, stderr
    with pytest.raises(httpx.ConnectError):  # the proxy stopped the mock it started
        httpx.get(started.group(1) + "/openapi.json", timeout=5)


SECRETS = ("ak_live_s3cret_value", "sess_c00kie_s3cret", "idem-s3cret-42", "ak_body_s3cret")


def test_violations_endpoint_stderr_and_reports_redact_secrets_and_fail_on_violation_exits_1(tmp_path: Path) -> None:
    junit, report = tmp_path / "j.xml", tmp_path / "r.html"
    with echo_upstream() as (upstream, seen):
        args = ("--junit", str(junit), "--report", str(report), "--fail-on-violation")
        with proxy_process(upstream, *args) as proxy:
            headers = {
                "Authorization": f"Bearer {SECRETS[0]}",
                "Cookie": f"axiomatic_session={SECRETS[1]}",
                "Idempotency-Key": SECRETS[2],
            }
            body = {"code": "p", "name": "n", "currency": "USD", "amount": 1, "interval": "month", "apiKey": SECRETS[3]}
            for _ in range(2):
                httpx.post(proxy.url + "/api/sales/plans", params=ENTITY_Q, headers=headers, json=body, timeout=10)
            assert seen[-1][0] == b"POST" and (b"authorization", f"Bearer {SECRETS[0]}".encode()) in [
                (k.lower(), v) for k, v, *_ in seen[-1][2]
            ], "the upstream gets the credentials unchanged"
            listing = httpx.get(proxy.url + "/__proxy/violations", timeout=10).json()
            assert listing["exchanges"] == 2 and [v["operationId"] for v in listing["violations"]] == ["createPlan"] * 2
            first = listing["violations"][0]
            assert first["status"] == 299 and "status 299 is not documented" in " ".join(first["problems"])
            assert first["method"] == "POST" and first["path"] == "/api/sales/plans"
            since = httpx.get(proxy.url + "/__proxy/violations?since=1", timeout=10).json()["violations"]
            assert [v["exchange"] for v in since] == [2]
            assert httpx.get(proxy.url + "/__proxy/violations?since=-1", timeout=10).status_code == 400
            assert httpx.delete(proxy.url + "/__proxy/violations", timeout=10).status_code == 204
            assert httpx.get(proxy.url + "/__proxy/violations", timeout=10).json()["violations"] == []
            code, stderr = proxy.stop(signal.SIGINT)
    assert code == 1, stderr
    violation_lines = [line for line in stderr.splitlines() if "VIOLATION" in line]
    assert len(violation_lines) == 2 and "createPlan" in violation_lines[0] and "curl -X POST" in violation_lines[0]
    assert "$SALES_API_KEY" in violation_lines[0]
    for text in (json.dumps(listing), stderr, junit.read_text(), report.read_text()):
        assert not any(secret in text for secret in SECRETS), text[:2000]


def test_upstream_connections_are_kept_alive_and_reused(contract: Contract, mock_url: str) -> None:
    async def go() -> int:
        app = ProxyApp(mock_url, contract, timeout=10, log=print)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy", timeout=20) as client:
            for _ in range(5):
                answer = await client.get("/api/sales/customers", params=ENTITY_Q, headers=AUTH)
                assert answer.status_code == 200
        idle = len(app._upstream_client._idle)
        await app.aclose()
        return idle

    assert asyncio.run(go()) == 1, "five sequential requests share one upstream connection"


def test_client_connections_of_the_proxy_get_tcp_nodelay() -> None:
    """An answer goes out as head + body; without TCP_NODELAY each keep-alive answer waited ~40 ms
    for the client's delayed ACK. asyncio sets it only on sockets that say they are TCP."""
    from contract_tests.proxy.run import _listen

    listener = _listen("127.0.0.1", 0)
    seen: list[int] = []

    async def accept_one() -> None:
        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    try:
        asyncio.run(accept_one())
    finally:
        listener.close()
    assert seen and seen[0] != 0
