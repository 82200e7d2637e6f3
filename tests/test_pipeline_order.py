"""Nothing bypasses authentication, scopes, validation or tenancy: a ``Prefer`` header, an
``Idempotency-Key`` (even one already used for a stored answer) or an active fault rule never turns
a request's 401/403/400/404 into anything else. And idempotency works for both ways of naming the
entity (``entityId`` with an API key, ``x-entity-id`` with the browser session)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from control_plane_client import bearer, client, make_app, new_entity

DEMO = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
PLAN = {"code": "team", "name": "Team", "currency": "USD", "amount": 9900, "interval": "month"}

Request = dict[str, Any]


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    """One app; entity A (empty) and entity B (demo data, so it has subscriptions)."""
    app = make_app()
    http = client(app)
    a = new_entity(http)
    b = new_entity(http, fixtures="demo")
    subs = http.get(
        "/api/sales/subscriptions", params={"entityId": b["entityId"]}, headers=bearer(b["apiKeys"]["readOnly"])
    ).json()["data"]
    return {"http": http, "a": a, "b": b, "b_subscription": subs[0]["id"]}


def _plan_request(world: dict[str, Any], **change: Any) -> Request:
    a = world["a"]
    request: Request = {
        "method": "POST",
        "url": "/api/sales/plans",
        "params": {"entityId": a["entityId"]},
        "headers": bearer(a["apiKeys"]["readWrite"]),
        "json": dict(PLAN),
    }
    request.update(change)
    return request


CASES: dict[str, tuple[int, Callable[[dict[str, Any]], Request]]] = {
    "no key": (401, lambda w: _plan_request(w, headers={})),
    "bad key": (401, lambda w: _plan_request(w, headers=bearer("ak_not_a_key"))),
    "read-only key on a write": (403, lambda w: _plan_request(w, headers=bearer(w["a"]["apiKeys"]["readOnly"]))),
    "another entity's id": (403, lambda w: _plan_request(w, params={"entityId": w["b"]["entityId"]})),
    "another entity's resource": (
        404,
        lambda w: _plan_request(w, url=f"/api/sales/subscriptions/{w['b_subscription']}/generate-invoice", json={}),
    ),
    "invalid body": (400, lambda w: _plan_request(w, json={**PLAN, "amount": -5})),
    "no entity named": (400, lambda w: _plan_request(w, params={})),
}


def _send(http: httpx.Client, request: Request, extra_headers: dict[str, str]) -> httpx.Response:
    request = {**request, "headers": {**request["headers"], **extra_headers}}
    return http.request(**request)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(
    "variation",
    ["plain", "Prefer: code=201", "Prefer: example", "Idempotency-Key (already used)", "fault rule"],
)
def test_a_refused_request_stays_refused(world: dict[str, Any], case: str, variation: str) -> None:
    http: httpx.Client = world["http"]
    expected, build = CASES[case]
    request = build(world)
    extra: dict[str, str] = {}
    if variation == "Prefer: code=201":
        extra = {"Prefer": "code=201"}
    elif variation == "Prefer: example":
        extra = {"Prefer": "example=team"}
    elif variation == "Idempotency-Key (already used)":
        key = f"used-{case}"
        first = _plan_request(world, json={**PLAN, "code": f"k{abs(hash(case)) % 10**8}"})
        assert _send(http, first, {"Idempotency-Key": key}).status_code == 201
        extra = {"Idempotency-Key": key}
    elif variation == "fault rule":
        assert http.put("/__admin/faults", json={"rules": [{"status": 503}]}).status_code == 200
    try:
        answer = _send(http, request, extra)
    finally:
        if variation == "fault rule":
            http.delete("/__admin/faults")
    assert answer.status_code == expected, answer.text
    assert isinstance(answer.json()["error"], str)
    assert "preference-applied" not in answer.headers and "idempotent-replayed" not in answer.headers
    if expected == 401:
        assert answer.headers["www-authenticate"].startswith("Bearer")


def test_the_plain_requests_of_the_matrix_are_what_they_claim(world: dict[str, Any]) -> None:
    """The matrix means something only if a good request passes every variation."""
    http: httpx.Client = world["http"]
    assert _send(http, _plan_request(world, json={**PLAN, "code": "ok-plain"}), {}).status_code == 201
    preferred = _send(http, _plan_request(world), {"Prefer": "code=201"})
    assert preferred.status_code == 201 and preferred.headers["preference-applied"] == "code=201"
    assert http.put("/__admin/faults", json={"rules": [{"status": 503}]}).status_code == 200
    try:
        assert _send(http, _plan_request(world), {}).status_code == 503
    finally:
        http.delete("/__admin/faults")


def _session_headers(entity_id: str) -> dict[str, str]:
    return {"Cookie": "axiomatic_session=sess_demo", "x-entity-id": entity_id}


def test_idempotency_with_the_browser_session_form() -> None:
    http = client(make_app())
    headers = {**_session_headers(DEMO), "Idempotency-Key": "session-1"}
    first = http.post("/api/sales/plans", json=PLAN, headers=headers)
    again = http.post("/api/sales/plans", json=PLAN, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    other = http.post("/api/sales/plans", json={**PLAN, "code": "other"}, headers=headers)
    assert other.status_code == 409
    listed = http.get("/api/sales/plans", headers=_session_headers(DEMO)).json()["data"]
    assert [p["code"] for p in listed] == ["team"]


def test_the_session_form_needs_an_entity_somewhere() -> None:
    http = client(make_app())
    answer = http.get("/api/sales/plans", headers={"Cookie": "axiomatic_session=sess_demo"})
    assert answer.status_code == 400
    assert answer.json()["details"] == [{"path": "entityId", "message": "is required"}]
    assert (
        http.get("/api/sales/plans", params={"entityId": DEMO}, headers=bearer("ak_demo_readonly")).status_code == 200
    )


def test_a_session_cookie_from_a_foreign_page_is_no_credential() -> None:
    http = client(make_app())
    foreign = {**_session_headers(DEMO), "Origin": "https://evil.example"}
    refused = http.post("/api/sales/plans", json=PLAN, headers=foreign)
    assert refused.status_code == 401 and "origin" in refused.json()["error"]
    local = {**_session_headers(DEMO), "Origin": "http://localhost:5173"}
    accepted = http.post("/api/sales/plans", json=PLAN, headers=local)
    assert accepted.status_code == 201 and accepted.headers["access-control-allow-credentials"] == "true"


def test_money_beyond_what_javascript_holds_exactly_is_422_naming_the_field() -> None:
    http = client(make_app())
    quote = {
        "customerId": None,
        "issueDate": "2025-03-01",
        "lines": [{"description": "Huge", "quantity": 1_000_000, "unitPrice": 1_000_000_000_000}],
    }
    customer = http.post(
        f"/__admin/entities/{DEMO}/customers", json={"name": "Big", "currency": "USD", "taxRateBps": 0}
    ).json()
    quote["customerId"] = customer["id"]
    answer = http.post("/api/sales/quotes", params={"entityId": DEMO}, json=quote, headers=bearer("ak_demo_readwrite"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["details"][0]["path"] == "lines/0/quantity"
    many = {
        **quote,
        "lines": [{"description": f"L{i}", "quantity": 9_000, "unitPrice": 1_000_000_000_000} for i in range(2)],
    }
    answer = http.post("/api/sales/quotes", params={"entityId": DEMO}, json=many, headers=bearer("ak_demo_readwrite"))
    assert answer.status_code == 422 and answer.json()["details"][0]["path"] == "lines"
    fits = {**quote, "lines": [{"description": "Big", "quantity": 9_000, "unitPrice": 1_000_000_000_000}]}
    answer = http.post("/api/sales/quotes", params={"entityId": DEMO}, json=fits, headers=bearer("ak_demo_readwrite"))
    assert answer.status_code == 201 and answer.json()["total"] == 9_000_000_000_000_000
