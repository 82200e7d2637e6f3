"""Request bodies (``mock_server.body``, the admin API's ``inputs.json_body``): nesting is bounded
everywhere JSON is read, admin bodies are bounded while they are read, and a Sales API integer
must be an exact integer in the JSON text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from conftest import ACME, DEMO, Api
from control_plane_client import client, make_app

from mock_server.admin.inputs import MAX_BODY
from mock_server.body import MAX_DEPTH

JSON = {"content-type": "application/json"}


def _deep(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app(fixtures="demo"))


def _state_with(http: httpx.Client, notes: str) -> str:
    """The exported state with the first quote's ``notes`` replaced by the JSON text ``notes``."""
    document = http.get("/__admin/state").json()
    document["entities"][0]["quotes"][0]["notes"] = "@NOTES@"
    return json.dumps(document).replace('"@NOTES@"', notes)


def test_a_900_deep_state_import_is_400_and_changes_nothing(http: httpx.Client) -> None:
    before = http.get("/__admin/state").content
    answer = http.put("/__admin/state", content=_state_with(http, _deep(900)), headers=JSON)
    assert answer.status_code == 400, answer.text
    assert "nested deeper than 64 levels" in answer.json()["error"]
    assert http.get("/__admin/state").content == before
    assert http.put("/__admin/state", content=_state_with(http, _deep(40)), headers=JSON).status_code == 204


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_deep_json_is_400_everywhere_it_is_read(http: httpx.Client, api: Api, depth: int) -> None:
    deep = _deep(depth)
    for path in ("/__admin/faults", "/__admin/state"):
        answer = http.put(path, content=deep, headers=JSON)
        assert answer.status_code == 400 and "nested" in answer.json()["error"], (path, answer.text)
    stub = http.post(f"/__admin/entities/{DEMO}/stubs", content=deep, headers=JSON)
    assert stub.status_code == 400 and "nested" in stub.json()["error"]
    sales = api.call("POST", "/quotes", content=("[" * depth + "]" * depth).encode(), headers=JSON)
    assert sales.status_code == 400 and "nested" in sales.json()["error"]


def test_nesting_up_to_the_limit_is_read(api: Api) -> None:
    """64 levels is still JSON the server reads (the spec then names what is wrong with it)."""
    body = '{"customerId": "' + ACME + '", "lines": [{"description": ' + _deep(MAX_DEPTH - 3) + "}]}"
    answer = api.call("POST", "/quotes", content=body.encode(), headers=JSON)
    assert answer.status_code == 400 and "lines/0/description" in [d["path"] for d in answer.json()["details"]]
    one_more = body.replace('"description": ', '"description": [', 1).replace("}]}", "]}]}")
    assert "nested" in api.call("POST", "/quotes", content=one_more.encode(), headers=JSON).json()["error"]


def test_an_admin_body_over_the_limit_is_413_before_it_is_read_whole() -> None:
    """The body is streamed in 1 MiB chunks: the server stops asking for more once it is past 8 MiB."""
    app = make_app()
    chunk = b" " * (1024 * 1024)
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": chunk, "more_body": asked < 300}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/__admin/state",
        "raw_path": b"/__admin/state",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "scheme": "http",
        "server": ("127.0.0.1", 4010),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert "error" in json.loads(sent[1]["body"])
    assert asked <= MAX_BODY // len(chunk) + 1  # 9 of the 300 chunks


def test_a_declared_admin_body_over_the_limit_is_413(http: httpx.Client) -> None:
    answer = http.put("/__admin/state", content=b" " * (MAX_BODY + 1), headers=JSON)
    assert answer.status_code == 413 and answer.json()["error"]


@pytest.mark.parametrize("number", ["2.9999999999999999999", "3.00000000000000000001", "1e-30", "2.5"])
def test_an_integer_field_takes_only_an_exact_integer(api: Api, number: str) -> None:
    """``2.9999999999999999999`` reads as the float 3.0: it is refused, never stored as 3."""
    body = '{"customerId": "' + ACME + '", "lines": [{"description": "x", "quantity": ' + number
    answer = api.call("POST", "/quotes", content=(body + ', "unitPrice": 100}]}').encode(), headers=JSON)
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"][0]["path"] == "lines/0/quantity"
    assert number in answer.json()["details"][0]["message"]


@pytest.mark.parametrize("number", ["3", "3.0", "3e0", "0.03e2", "300E-2"])
def test_an_exactly_integral_number_is_an_integer(api: Api, number: str) -> None:
    body = '{"customerId": "' + ACME + '", "lines": [{"description": "x", "quantity": ' + number
    answer = api.call("POST", "/quotes", content=(body + ', "unitPrice": 100}]}').encode(), headers=JSON)
    assert answer.status_code == 201, answer.text
    assert answer.json()["lines"][0]["quantity"] == 3
