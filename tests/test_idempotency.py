"""Idempotency-Key on Sales API POSTs: replay, conflicts, scoping and 24-hour expiry (entity clock)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import DEMO
from control_plane_client import bearer, client, create_plan, make_app, new_entity, sales_get

from mock_server.control.idempotency import IdempotencyStore, StoredResponse, fingerprint


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def _key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_same_key_same_body_replays_without_a_second_effect(http: httpx.Client) -> None:
    entity = new_entity(http)
    first = create_plan(http, entity, headers=_key("k-1"))
    again = create_plan(http, entity, headers=_key("k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(sales_get(http, entity, "/plans").json()["data"]) == 1


def test_same_key_different_body_is_409(http: httpx.Client) -> None:
    entity = new_entity(http)
    create_plan(http, entity, headers=_key("k-1"))
    answer = create_plan(http, entity, code="other", headers=_key("k-1"))
    assert answer.status_code == 409
    assert "different request" in answer.json()["error"]


def test_json_key_order_does_not_matter() -> None:
    assert fingerprint("POST", "/p", b"", b'{"a": 1, "b": 2}') == fingerprint("POST", "/p", b"", b'{"b":2,"a":1}')
    assert fingerprint("POST", "/p", b"", b'{"a": 1}') != fingerprint("POST", "/q", b"", b'{"a": 1}')


def test_errors_are_replayed_too(http: httpx.Client) -> None:
    entity = new_entity(http)
    assert create_plan(http, entity, headers=_key("dup")).status_code == 201
    conflict = create_plan(http, entity, headers=_key("k-2"))
    assert conflict.status_code == 409
    replay = create_plan(http, entity, headers=_key("k-2"))
    assert replay.status_code == 409 and replay.headers["idempotent-replayed"] == "true"


def test_keys_are_scoped_per_entity_and_credential(http: httpx.Client) -> None:
    one, two = new_entity(http), new_entity(http)
    assert create_plan(http, one, headers=_key("shared")).status_code == 201
    other = create_plan(http, two, headers=_key("shared"))
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    params = {"entityId": one["entityId"]}
    body = {"code": "basic", "name": "Basic", "currency": "USD", "amount": 2000, "interval": "month"}
    anonymous = http.post("/api/sales/plans", params=params, json=body, headers=_key("shared"))
    assert anonymous.status_code == 401


def test_auth_failures_are_not_stored(http: httpx.Client) -> None:
    entity = new_entity(http)
    read_only = {"entityId": entity["entityId"], "apiKeys": {"readWrite": entity["apiKeys"]["readOnly"]}}
    assert create_plan(http, read_only, headers=_key("k")).status_code == 403
    assert create_plan(http, entity, headers=_key("k")).status_code == 201


def test_keys_expire_after_24_hours_of_the_entity_clock(http: httpx.Client) -> None:
    entity = new_entity(http)
    advance = f"/__admin/entities/{entity['entityId']}/clock/advance"
    create_plan(http, entity, headers=_key("k"))
    http.post(advance, json={"to": "2025-03-01T23:59:59Z"})
    assert create_plan(http, entity, headers=_key("k")).headers.get("idempotent-replayed") == "true"
    http.post(advance, json={"days": 1})
    fresh = create_plan(http, entity, code="second", headers=_key("k"))
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers


def test_bad_keys_and_other_methods(http: httpx.Client) -> None:
    entity = new_entity(http)
    assert create_plan(http, entity, headers=_key("x" * 256)).status_code == 400
    params = {"entityId": entity["entityId"]}
    headers = {**bearer(entity["apiKeys"]["readOnly"]), **_key("k")}
    assert http.get("/api/sales/plans", params=params, headers=headers).status_code == 200
    assert http.get("/api/sales/plans", params=params, headers=headers).headers.get("idempotent-replayed") is None


def test_deleting_an_entity_forgets_its_keys(http: httpx.Client) -> None:
    entity = new_entity(http)
    create_plan(http, entity, headers=_key("k"))
    plane = http._transport._transport.app.state.runtime.control  # type: ignore[attr-defined]
    assert len(plane.idempotency.records) == 1
    http.delete(f"/__admin/entities/{entity['entityId']}")
    assert len(plane.idempotency.records) == 0


def test_an_oversized_body_is_413_before_anything_is_stored(http: httpx.Client) -> None:
    entity = new_entity(http)
    params = {"entityId": entity["entityId"]}
    headers = {**bearer(entity["apiKeys"]["readWrite"]), **_key("big"), "content-type": "application/json"}
    answer = http.post("/api/sales/plans", params=params, content=b" " * (1024 * 1024 + 1), headers=headers)
    assert answer.status_code == 413 and answer.json()["error"]
    assert create_plan(http, entity, headers=_key("big")).status_code == 201


def test_concurrent_retries_have_one_effect() -> None:
    app = make_app()
    http = client(app)
    entity = new_entity(http)
    http.put("/__admin/faults", json={"rules": [{"operationId": "createPlan", "latencyMs": 100}]})
    params = {"entityId": entity["entityId"]}
    body = {"code": "basic", "name": "Basic", "currency": "USD", "amount": 2000, "interval": "month"}
    headers = {**bearer(entity["apiKeys"]["readWrite"]), **_key("slow")}

    async def both() -> list[tuple[int, str]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as async_http:
            first = async_http.post("/api/sales/plans", params=params, json=body, headers=headers)
            second = async_http.post("/api/sales/plans", params=params, json=body, headers=headers)
            answers = await asyncio.gather(first, second)
        return sorted((a.status_code, a.headers.get("idempotent-replayed", "")) for a in answers)

    assert asyncio.run(both()) == [(201, ""), (201, "true")]
    assert len(sales_get(http, entity, "/plans").json()["data"]) == 1


def test_the_same_caller_however_its_headers_are_spelled_replays(http: httpx.Client) -> None:
    """The scope is the credential itself: the API key written ``bearer  ak_...`` (scheme case, extra
    spaces) or sent beside other cookies is the same caller, and gets the replay, not a duplicate."""
    entity = new_entity(http)
    key = entity["apiKeys"]["readWrite"]
    first = create_plan(http, entity, headers=_key("same-caller"))
    spellings = [
        {"Authorization": f"bearer  {key}"},
        {"Authorization": f"BEARER {key} "},
        {"Authorization": f"Bearer {key}", "Cookie": "theme=dark; tracking=1"},
    ]
    for spelled in spellings:
        again = create_plan(http, entity, headers={**spelled, **_key("same-caller")})
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", spelled
        assert again.json() == first.json()
    assert len(sales_get(http, entity, "/plans").json()["data"]) == 1


def test_the_same_session_with_other_cookies_replays() -> None:
    http = client(make_app(fixtures="demo"))
    headers = {"x-entity-id": DEMO, "Idempotency-Key": "session-1", "Origin": "http://localhost:3000"}
    body = {"code": "session-plan", "name": "S", "currency": "USD", "amount": 100, "interval": "month"}
    first = http.post("/api/sales/plans", json=body, headers={**headers, "Cookie": "axiomatic_session=sess_demo"})
    assert first.status_code == 201, first.text
    cookies = "theme=dark; axiomatic_session=sess_demo; other=1"
    again = http.post("/api/sales/plans", json=body, headers={**headers, "Cookie": cookies})
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


def test_the_same_query_however_it_is_written_replays(http: httpx.Client) -> None:
    """A trailing ``&``, another order or escaped characters name the same query: a replay, not a 409."""
    entity = new_entity(http)
    body = {"code": "q", "name": "Q", "currency": "USD", "amount": 100, "interval": "month"}
    headers = {**bearer(entity["apiKeys"]["readWrite"]), **_key("query")}
    entity_id = entity["entityId"]
    first = http.post(f"/api/sales/plans?entityId={entity_id}", json=body, headers=headers)
    assert first.status_code == 201
    escaped = entity_id.replace("-", "%2D")
    for query in (f"entityId={entity_id}&", f"&entityId={entity_id}&&", f"entityId={escaped}"):
        again = http.post(f"/api/sales/plans?{query}", json=body, headers=headers)
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", query
    assert fingerprint("POST", "/p", b"a=1&b=2", b"") == fingerprint("POST", "/p", b"b=2&a=1&", b"")
    assert fingerprint("POST", "/p", b"a=1", b"") != fingerprint("POST", "/p", b"a=2", b"")


def test_a_reservation_keeps_the_answer_or_forgets_the_key_however_its_block_ends() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 3, 1, tzinfo=UTC)
    store = IdempotencyStore()
    answer = StoredResponse(201, {"content-type": "application/json"}, b"{}")

    async def scenario() -> None:
        async with store.reserve(("e", "c", "kept"), "p", now) as held:
            assert held.replay is None and store.records[("e", "c", "kept")].response is None
            held.keep(answer)
        async with store.reserve(("e", "c", "kept"), "p", now) as again:
            assert again.replay == answer
        with pytest.raises(RuntimeError):
            async with store.reserve(("e", "c", "failed"), "p", now):
                raise RuntimeError("the operation failed")
        async with store.reserve(("e", "c", "unkept"), "p", now):
            pass  # a Prefer answer, a dropped connection: nothing kept
        async with store.reserve(("e", "c", "error"), "p", now) as held:
            held.keep(StoredResponse(503, {}, None))  # not one to keep

    asyncio.run(scenario())
    assert list(store.records) == [("e", "c", "kept")]
