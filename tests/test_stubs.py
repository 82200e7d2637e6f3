"""Stubs: per-entity canned answers, checked against the spec, matched after auth/scope/validation/tenancy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from control_plane_client import bearer, client, create_plan, make_app, new_entity, sales_get

from mock_server.config import MockConfig
from mock_server.control.patterns import Observed, parse_json_path, parse_pattern, select
from mock_server.control.prefer import choose
from mock_server.domain.errors import InvalidInput
from mock_server.spec import load_spec

PLANS = {"method": "GET", "urlPath": "/api/sales/plans"}


def _example_quote(quote_id: str) -> dict[str, Any]:
    operation = load_spec(MockConfig().spec_path).operations["getQuote"]
    _, body = choose(operation.response_objects, "getQuote", {"code": "200"})
    return {**body, "id": quote_id}


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def _stub(http: httpx.Client, entity: dict[str, Any], definition: dict[str, Any]) -> httpx.Response:
    return http.post(f"/__admin/entities/{entity['entityId']}/stubs", json=definition)


def _plan_body(http: httpx.Client, entity: dict[str, Any]) -> dict[str, Any]:
    made = create_plan(http, entity)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def test_a_stub_answers_a_missing_resource_then_falls_through(http: httpx.Client) -> None:
    entity = new_entity(http)
    _plan_body(http, entity)
    missing = str(uuid.uuid4())
    answer = {**_example_quote(missing), "notes": "From a stub"}
    created = _stub(
        http,
        entity,
        {"request": {"method": "GET", "urlPath": f"/api/sales/quotes/{missing}"}, "response": {
            "status": 200, "jsonBody": answer, "headers": {"X-Test": "yes"}}, "times": 1},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    stub = created.json()
    assert stub["remaining"] == 1 and stub["id"]
    first = sales_get(http, entity, f"/quotes/{missing}")
    assert first.status_code == 200 and first.json() == answer
    assert first.headers["x-test"] == "yes" and first.headers["x-mock-stub"] == stub["id"]
    assert sales_get(http, entity, f"/quotes/{missing}").status_code == 404  # times: 1, then the handler
    journal = http.get("/__admin/requests").json()["data"]
    assert [e["stubId"] for e in journal[:2]] == [None, stub["id"]]
    listed = http.get(f"/__admin/entities/{entity['entityId']}/stubs").json()["data"]
    assert listed[0]["remaining"] == 0
    # no state changed: the real plan list still holds one plan
    assert len(sales_get(http, entity, "/plans").json()["data"]) == 1


def test_stubs_answer_only_checked_requests_of_their_entity(http: httpx.Client) -> None:
    entity, other = new_entity(http), new_entity(http)
    quote_id = str(uuid.uuid4())
    definition = {"request": {"method": "GET", "urlPathPattern": "/api/sales/quotes/.*", "operationId": "getQuote"},
                  "response": {"status": 200, "jsonBody": _example_quote(quote_id)}}  # fmt: skip
    created = _stub(http, entity, definition)
    assert created.status_code == 201, created.text
    path = f"/api/sales/quotes/{quote_id}"
    assert http.get(path, params={"entityId": entity["entityId"]}).status_code == 401  # no credentials
    wrong_tenant = http.get(path, params={"entityId": entity["entityId"]}, headers=bearer(other["apiKeys"]["readOnly"]))
    assert wrong_tenant.status_code == 403
    assert sales_get(http, other, path.removeprefix("/api/sales")).status_code == 404  # the other entity: no stub
    bad_id = http.get(
        "/api/sales/quotes/not-a-uuid",
        params={"entityId": entity["entityId"]},
        headers=bearer(entity["apiKeys"]["readOnly"]),
    )
    assert bad_id.status_code == 400  # validation comes first
    assert sales_get(http, entity, path.removeprefix("/api/sales")).status_code == 200


def test_matching_by_query_body_and_priority(http: httpx.Client) -> None:
    entity = new_entity(http)
    plan = _plan_body(http, entity)
    base = {"request": {"method": "POST", "urlPath": "/api/sales/plans"}}
    low = {**base, "response": {"status": 201, "jsonBody": {**plan, "name": "low"}}, "priority": 9}
    high = {
        "request": {
            **base["request"],
            "bodyPatterns": [{"matchesJsonPath": {"expression": "$.code", "equalTo": "vip"}}],
        },
        "response": {"status": 201, "jsonBody": {**plan, "name": "high"}},
        "priority": 1,
    }
    assert _stub(http, entity, low).status_code == 201
    assert _stub(http, entity, high).status_code == 201
    assert create_plan(http, entity, code="vip").json()["name"] == "high"
    assert create_plan(http, entity, code="other").json()["name"] == "low"
    # a request that fails validation is never stubbed
    assert create_plan(http, entity, code="BAD CODE").status_code == 400
    assert len(sales_get(http, entity, "/plans").json()["data"]) == 1


@pytest.mark.parametrize(
    ("definition", "named"),
    [
        ({"request": PLANS, "response": {"status": 200, "jsonBody": {"x": 1}}},
         "the answer does not fit the spec of listPlans 200"),
        ({"request": PLANS, "response": {"status": 418}}, "response.status"),
        ({"request": {**PLANS, "urlPath": "/api/sales/nothing"}, "response": {"status": 200}}, "request.urlPath"),
        ({"request": {"method": "GET", "urlPathPattern": "/api/sales/.*"}, "response": {"status": 200}}, "operationId"),
        ({"request": {"method": "GET", "urlPathPattern": "a+" * 300}, "response": {"status": 200}}, "urlPathPattern"),
        ({"request": {"method": "GET", "urlPathPattern": "(", "operationId": "getQuote"}, "response": {"status": 200}},
         "not a valid regular expression"),
        ({"request": {"method": "GET", "urlPath": "/api/sales/plans"},
          "response": {"status": 200, "fixedDelayMilliseconds": 60_001}}, "fixedDelayMilliseconds"),
        ({"request": {"method": "GET", "urlPath": "/api/sales/plans"},
          "response": {"status": 200, "headers": {"Content-Length": "1"}}}, "set by the mock"),
        ({"request": {"method": "GET", "urlPath": "/api/sales/plans"},
          "response": {"status": 200, "headers": {"X": "a\r\nb"}}}, "printable"),
        ({"request": {"method": "GET", "urlPath": "/api/sales/plans", "bodyPatterns": [{"matchesJsonPath": "$..x"}]},
          "response": {"status": 200}}, "unsupported JSONPath"),
        ({"request": {"urlPath": "/api/sales/plans"}, "response": {"status": 200}}, "request.method"),
        ({"request": {"method": "GET", "urlPath": "/api/sales/plans"}, "response": {"status": 200}, "id": "x"}, "id"),
        ([], "JSON object"),
    ],
)  # fmt: skip
def test_bad_stubs_are_400_naming_the_problem(http: httpx.Client, definition: Any, named: str) -> None:
    entity = new_entity(http)
    answer = _stub(http, entity, definition)
    assert answer.status_code == 400, answer.text
    assert named in answer.text
    assert http.get(f"/__admin/entities/{entity['entityId']}/stubs").json()["data"] == []


def test_allow_invalid_simulates_a_broken_backend(http: httpx.Client) -> None:
    entity = new_entity(http)
    definition = {"request": {"method": "GET", "urlPath": "/api/sales/plans"},
                  "response": {"status": 200, "jsonBody": {"broken": True}}, "allowInvalid": True}  # fmt: skip
    assert _stub(http, entity, definition).status_code == 201
    assert sales_get(http, entity, "/plans").json() == {"broken": True}


def test_delete_stubs_and_entity(http: httpx.Client) -> None:
    entity = new_entity(http)
    base = f"/__admin/entities/{entity['entityId']}/stubs"
    definition = {
        "request": {"method": "GET", "urlPath": "/api/sales/plans"},
        "response": {"status": 401, "jsonBody": {"error": "stubbed"}},
    }
    one = _stub(http, entity, definition).json()["id"]
    _stub(http, entity, definition)
    assert http.delete(f"{base}/{one}").status_code == 204
    assert http.delete(f"{base}/{one}").status_code == 404
    assert len(http.get(base).json()["data"]) == 1
    assert http.delete(base).status_code == 204
    assert http.get(base).json()["data"] == []
    assert http.get(f"/__admin/entities/{uuid.uuid4()}/stubs").status_code == 404


def test_stubs_travel_with_the_state_and_old_documents_still_load(http: httpx.Client) -> None:
    entity = new_entity(http)
    definition = {
        "request": {"method": "GET", "urlPath": "/api/sales/plans"},
        "response": {"status": 401, "jsonBody": {"error": "no"}},
        "times": 2,
    }
    stub = _stub(http, entity, definition).json()
    state = http.get("/__admin/state").json()
    assert state["stubs"][entity["entityId"]][0]["id"] == stub["id"]
    fresh = client(make_app())
    assert fresh.put("/__admin/state", json=state).status_code == 204
    assert fresh.get(f"/__admin/entities/{entity['entityId']}/stubs").json()["data"] == [stub]
    assert sales_get(fresh, entity, "/plans").status_code == 401
    old = {k: v for k, v in state.items() if k != "stubs"}
    assert fresh.put("/__admin/state", json=old).status_code == 204
    assert fresh.get(f"/__admin/entities/{entity['entityId']}/stubs").json()["data"] == []
    broken = {**state, "stubs": {entity["entityId"]: [{"request": {}, "response": {"status": 200}}]}}
    assert fresh.put("/__admin/state", json=broken).status_code == 400
    invalid = {**state, "stubs": {entity["entityId"]: [{**definition, "response": {"status": 200, "jsonBody": 1}}]}}
    assert fresh.put("/__admin/state", json=invalid).status_code == 400
    assert http.post("/__admin/reset").status_code == 204
    assert "stubs" not in http.get("/__admin/state").json()


def test_patterns_and_json_path() -> None:
    assert parse_json_path("$.lines[0]['sku'][*]", "p") == ("lines", 0, "sku", "*")
    assert select({"a": [{"b": 1}, {"b": 2}]}, ("a", "*", "b")) == [1, 2]
    assert select({"a": [1, 2]}, ("a", -1)) == [2]
    with pytest.raises(InvalidInput):
        parse_pattern({"urlPath": "/a", "urlPathPattern": "/a"})
    pattern = parse_pattern({"method": "POST", "queryParameters": {"q": {"matches": "a+"}}, "bodyPatterns": [
        {"contains": "xy"}, {"equalToJson": {"k": "xy"}}]})  # fmt: skip
    seen = Observed("POST", "/p", b"q=aaa", None, None, b'{"k": "xy"}')
    assert pattern.matches(seen)
    differences = pattern.differences(Observed("GET", "/p", b"q=b", None, None, b"{}"))
    assert len(differences) == 4 and differences[0].startswith("method")


def test_the_operation_is_inferred_when_the_pattern_can_match_only_one(http: httpx.Client) -> None:
    """WireMock's vocabulary: method + urlPathPattern without operationId, when only one operation fits."""
    entity = new_entity(http)
    quote_id = str(uuid.uuid4())
    definition = {"request": {"method": "GET", "urlPathPattern": "/api/sales/quotes/[0-9a-f-]+"},
                  "response": {"status": 200, "jsonBody": _example_quote(quote_id)}}  # fmt: skip
    created = _stub(http, entity, definition)
    assert created.status_code == 201, created.text
    assert created.json()["request"]["operationId"] == "getQuote"  # written in, so it shows and is kept
    assert sales_get(http, entity, f"/quotes/{quote_id}").json()["id"] == quote_id
    # the answer is checked against the inferred operation
    wrong = {**definition, "response": {"status": 200, "jsonBody": {"data": []}}}
    answer = _stub(http, entity, wrong)
    assert answer.status_code == 400 and "does not fit the spec of getQuote 200" in answer.text
    generate = {"request": {"method": "POST", "urlPathPattern": "/api/sales/subscriptions/.*/generate-invoice"},
                "response": {"status": 409, "jsonBody": {"error": "stubbed"}}}  # fmt: skip
    assert _stub(http, entity, generate).json()["request"]["operationId"] == "generateInvoice"


@pytest.mark.parametrize(
    ("request_pattern", "field", "named"),
    [
        ({"method": "POST", "urlPathPattern": "/api/sales/subscriptions/.*"}, "request.operationId",
         "can match generateInvoice, runDunning, changePlan"),
        ({"method": "ANY", "urlPath": "/api/sales/plans"}, "request.operationId", "can match listPlans, createPlan"),
        ({"method": "GET", "urlPathPattern": "/quotes/.*"}, "request.urlPathPattern", "no GET Sales API operation"),
        ({"method": "DELETE", "urlPath": "/api/sales/plans"}, "request.method", "the path takes GET, POST"),
        ({"method": "GET", "urlPath": "/api/sales/plans", "operationId": "getPlan"}, "request.operationId",
         "is no Sales API operation"),
        ({"method": "GET", "urlPath": "/api/sales/plans", "url": "/api/sales/plans"}, "request.url",
         "give urlPath or urlPathPattern"),
    ],
)  # fmt: skip
def test_an_operation_that_cannot_be_inferred_is_400_naming_the_candidates(
    http: httpx.Client, request_pattern: dict[str, Any], field: str, named: str
) -> None:
    entity = new_entity(http)
    answer = _stub(http, entity, {"request": request_pattern, "response": {"status": 200, "jsonBody": {"data": []}}})
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"][0]["path"] == field and named in answer.json()["error"]


@pytest.mark.parametrize("origin", ["http://localhost:5173", "https://elsewhere.example"])
def test_a_browser_page_may_read_the_stub_headers(http: httpx.Client, origin: str) -> None:
    """CORS: X-Mock-Stub, Idempotent-Replayed and every header a stub sets are exposed to the page."""
    entity = new_entity(http)
    definition = {"request": PLANS, "response": {"status": 200, "jsonBody": {"data": []},
                  "headers": {"X-Debug": "stubbed", "Retry-After": "3"}}, "times": 1}  # fmt: skip
    assert _stub(http, entity, definition).status_code == 201
    page = {"Origin": origin, **bearer(entity["apiKeys"]["readOnly"])}
    stubbed = http.get("/api/sales/plans", params={"entityId": entity["entityId"]}, headers=page)
    exposed = {name.strip().lower() for name in stubbed.headers["access-control-expose-headers"].split(",")}
    assert {"x-mock-stub", "idempotent-replayed", "x-debug", "retry-after"} <= exposed
    assert stubbed.headers["x-mock-stub"] and stubbed.headers["x-debug"] == "stubbed"
    plain = http.get("/api/sales/plans", params={"entityId": entity["entityId"]}, headers=page)  # times: 1
    exposed = {name.strip().lower() for name in plain.headers["access-control-expose-headers"].split(",")}
    assert {"x-mock-stub", "idempotent-replayed"} <= exposed and "x-debug" not in exposed
