"""Verification: the journal keeps headers and bodies (bounded, credentials redacted); find, count, near misses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from control_plane_client import bearer, client, create_plan, make_app, new_entity

from mock_server.control.journal import MAX_BODY


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def _find(http: httpx.Client, pattern: dict[str, Any]) -> dict[str, Any]:
    answer = http.post("/__admin/requests/find", json=pattern)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_entries_keep_bodies_and_headers_with_credentials_redacted(http: httpx.Client) -> None:
    entity = new_entity(http)
    made = create_plan(http, entity, code="gold", headers={"Cookie": "session=secret", "X-Trace": "t1"})
    assert made.status_code == 201
    [entry] = _find(http, {"method": "POST", "urlPath": "/api/sales/plans"})["requests"]
    assert entry["request"]["headers"]["authorization"] == "[redacted]"
    assert entry["request"]["headers"]["cookie"] == "[redacted]"
    assert entry["request"]["headers"]["x-trace"] == "t1"
    assert '"code":"gold"' in entry["request"]["body"].replace(" ", "")
    assert entry["response"]["body"] == made.text and entry["response"]["bodyTruncated"] is False
    assert entry["response"]["headers"]["content-type"] == "application/json"
    assert entry["query"] == f"entityId={entity['entityId']}"
    assert http.get(f"/__admin/requests/{entry['id']}").json() == entry
    assert http.get("/__admin/requests/999999").status_code == 404
    assert http.get("/__admin/requests/x").status_code == 400


def test_big_bodies_are_cut_with_a_flag(http: httpx.Client) -> None:
    entity = new_entity(http)
    create_plan(http, entity, name="n" * (MAX_BODY * 2))
    [entry] = _find(http, {"operationId": "createPlan"})["requests"]
    assert entry["request"]["bodyTruncated"] is True and len(entry["request"]["body"]) == MAX_BODY


def test_find_count_and_near_misses(http: httpx.Client) -> None:
    entity, other = new_entity(http), new_entity(http)
    for code in ("a1", "b2"):
        create_plan(http, entity, code=code)
    create_plan(http, other, code="c3")
    http.get("/api/sales/plans", params={"entityId": entity["entityId"]}, headers=bearer(entity["apiKeys"]["readOnly"]))

    def count(pattern: dict[str, Any]) -> int:
        answer = http.post("/__admin/requests/count", json=pattern)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["count"])

    assert count({}) == 4
    assert count({"method": "POST", "entityId": entity["entityId"]}) == 2
    assert count({"urlPathPattern": "/api/sales/pl.*", "method": "GET"}) == 1
    assert count({"bodyPatterns": [{"matchesJsonPath": {"expression": "$.code", "equalTo": "b2"}}]}) == 1
    assert count({"bodyPatterns": [{"contains": "c3"}]}) == 1
    found = _find(http, {"operationId": "createPlan", "entityId": entity["entityId"]})
    assert [r["request"]["body"].count("b2") for r in found["requests"]] == [1, 0]  # newest first
    assert "nearMisses" not in found
    missed = _find(http, {"method": "POST", "urlPath": "/api/sales/plans", "bodyPatterns": [{"contains": "zz"}]})
    assert missed["requests"] == [] and len(missed["nearMisses"]) == 3
    closest = missed["nearMisses"][0]
    assert closest["request"]["method"] == "POST"
    assert closest["differences"] == ['bodyPatterns[0]: contains "zz" does not match the body']


@pytest.mark.parametrize(
    "pattern",
    [[], {"nope": 1}, {"method": "FETCH"}, {"urlPathPattern": "["}, {"bodyPatterns": {}}, {"limit": 0},
     {"queryParameters": {"a": {"like": "x"}}}, {"bodyPatterns": [{"matchesJsonPath": "a.b"}]}],
)  # fmt: skip
def test_bad_patterns_are_400(http: httpx.Client, pattern: Any) -> None:
    for path in ("/__admin/requests/find", "/__admin/requests/count"):
        answer = http.post(path, json=pattern)
        assert answer.status_code == 400 and "error" in answer.json(), answer.text


@pytest.mark.parametrize(
    ("pattern", "field", "named"),
    [
        ({"operationId": "createQuotes"}, "pattern.operationId", "(did you mean createQuote?)"),
        ({"urlPath": "/api/sales/quote"}, "pattern.urlPath", "/api/sales/quote is no Sales API operation"),
        ({"urlPath": "/quotes"}, "pattern.urlPath", "must be a Sales API path under /api/sales/"),
        ({"method": "PATCH", "urlPath": "/api/sales/quotes"}, "pattern.method", "the path takes GET, POST"),
        ({"urlPathPattern": "/quotes/.*"}, "pattern.urlPathPattern", "matches the path of no Sales API operation"),
        ({"method": "GET", "operationId": "createQuote"}, "pattern.method", "createQuote is a POST"),
        ({"urlPath": "/api/sales/quotes", "operationId": "getQuote"}, "pattern.operationId", "not to getQuote"),
        ({"entityId": "497f6eca"}, "pattern.entityId", "must be a UUID"),
    ],
)  # fmt: skip
def test_a_pattern_no_request_could_match_is_400_naming_the_field(
    http: httpx.Client, pattern: dict[str, Any], field: str, named: str
) -> None:
    """A typo must not make "never called" pass: {"operationId": "createQuotes"} is no {"count": 0}."""
    entity = new_entity(http)
    assert create_plan(http, entity).status_code == 201
    for path in ("/__admin/requests/find", "/__admin/requests/count"):
        answer = http.post(path, json=pattern)
        assert answer.status_code == 400, answer.text
        assert answer.json()["details"][0]["path"] == field and named in answer.json()["error"]


def test_patterns_of_real_operations_still_match(http: httpx.Client) -> None:
    entity = new_entity(http)
    assert create_plan(http, entity).status_code == 201
    upper = entity["entityId"].upper()  # a UUID is a UUID in either case
    for pattern in (
        {"operationId": "createPlan", "entityId": upper},
        {"urlPathPattern": "/api/sales/pl[a-z]+", "method": "POST"},
        {"method": "ANY", "urlPath": "/api/sales/plans"},
    ):
        answer = http.post("/__admin/requests/count", json=pattern)
        assert answer.status_code == 200 and answer.json() == {"count": 1}, (pattern, answer.text)
