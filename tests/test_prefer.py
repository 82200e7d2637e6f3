"""Prefer: code=NNN / example=NAME answers the spec's documented response without touching state."""

from __future__ import annotations

import httpx
import pytest
from control_plane_client import bearer, client, create_plan, make_app, new_entity, sales_get

from mock_server.control.prefer import choose, parse_prefer, synthesize


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def _prefer(value: str) -> dict[str, str]:
    return {"Prefer": value}


def test_parse_prefer() -> None:
    assert parse_prefer('code=404, example="pastTheEnd"; x=1, respond-async') == {
        "code": "404",
        "example": "pastTheEnd",
        "respond-async": "",
    }


def test_documented_error_code_without_touching_state(http: httpx.Client) -> None:
    entity = new_entity(http)
    answer = create_plan(http, entity, headers=_prefer("code=409"))
    assert answer.status_code == 409
    assert isinstance(answer.json()["error"], str) and answer.json()["error"]
    assert answer.headers["preference-applied"] == "code=409"
    assert sales_get(http, entity, "/plans").json()["data"] == []


def test_documented_success_code_gives_the_example(http: httpx.Client) -> None:
    entity = new_entity(http)
    answer = create_plan(http, entity, headers=_prefer("code=201"))
    assert answer.status_code == 201
    assert answer.json()["id"] and answer.json()["code"]
    assert sales_get(http, entity, "/plans").json()["data"] == []


def test_named_example(http: httpx.Client) -> None:
    entity = new_entity(http)
    params = {"entityId": entity["entityId"]}
    headers = {**bearer(entity["apiKeys"]["readOnly"]), **_prefer("example=pastTheEnd")}
    answer = http.get("/api/sales/quotes", params=params, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {"data": [], "page": 9, "pageSize": 20, "total": 57}


def test_401_carries_www_authenticate(http: httpx.Client) -> None:
    entity = new_entity(http)
    answer = http.get("/api/sales/plans", params={"entityId": entity["entityId"]}, headers=_prefer("code=401"))
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("value", ["code=418", "code=abc", "example=noSuchExample", "code=200, example=noSuch"])
def test_undocumented_preferences_are_a_clear_400(http: httpx.Client, value: str) -> None:
    entity = new_entity(http)
    params = {"entityId": entity["entityId"]}
    answer = http.get(
        "/api/sales/quotes", params=params, headers={**bearer(entity["apiKeys"]["readOnly"]), **_prefer(value)}
    )
    assert answer.status_code == 400
    assert "listQuotes" in answer.json()["error"]


def test_other_preferences_pass_through(http: httpx.Client) -> None:
    entity = new_entity(http)
    params = {"entityId": entity["entityId"]}
    headers = {**bearer(entity["apiKeys"]["readOnly"]), **_prefer("return=minimal")}
    assert http.get("/api/sales/plans", params=params, headers=headers).json() == {"data": []}
    assert http.get("/api/sales/nothing", headers=_prefer("code=200")).status_code == 404


def test_every_documented_code_of_every_operation_is_answerable() -> None:
    app = make_app()
    for operation_id, operation in app.state.runtime.spec.operations.items():
        for code in operation.response_objects:
            if code.isdigit():
                status, body = choose(operation.response_objects, operation_id, {"code": code})
                assert status == int(code)
                assert body is None or isinstance(body, dict | list), (operation_id, code)


def test_synthesize_follows_the_schema() -> None:
    schema = {
        "type": "object",
        "required": ["id", "n", "when", "tags", "kind"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "n": {"type": "integer", "minimum": 3},
            "when": {"type": ["string", "null"], "format": "date"},
            "tags": {"type": "array"},
            "kind": {"enum": ["a", "b"]},
        },
    }
    value = synthesize(schema)
    assert value == {
        "id": "00000000-0000-4000-8000-000000000000",
        "n": 3,
        "when": "2025-03-01",
        "tags": [],
        "kind": "a",
    }
