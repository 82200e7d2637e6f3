"""The request journal: the ring buffer, and what the middleware records."""

from __future__ import annotations

import uuid

import httpx
import pytest
from control_plane_client import client, create_plan, make_app, new_entity, sales_get
from hypothesis import given
from hypothesis import strategies as st

from mock_server.control.journal import MAX_HEADERS, Journal, JournalEntry


def _entry(n: int, entity: str | None = None) -> JournalEntry:
    return JournalEntry(f"t{n}", "GET", f"/p/{n}", None, entity, 200, 1.0, True, None)


def test_ring_buffer_keeps_the_newest_first() -> None:
    journal = Journal(capacity=3)
    for n in range(5):
        journal.record(_entry(n, "a" if n % 2 else "b"))
    assert len(journal) == 3
    assert [e.path for e in journal.entries()] == ["/p/4", "/p/3", "/p/2"]
    assert [e.path for e in journal.entries(entity_id="a")] == ["/p/3"]
    assert [e.path for e in journal.entries(limit=2)] == ["/p/4", "/p/3"]
    journal.clear()
    assert journal.entries() == []
    with pytest.raises(ValueError):
        Journal(capacity=0)


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def test_entries_carry_every_field(http: httpx.Client) -> None:
    entity = new_entity(http)
    assert create_plan(http, entity).status_code == 201
    assert sales_get(http, entity, "/plans").status_code == 200
    entries = http.get("/__admin/requests").json()["data"]
    assert [e["operationId"] for e in entries] == ["listPlans", "createPlan"]
    newest = entries[0]
    assert set(newest) == {
        "id", "time", "method", "path", "query", "operationId", "entityId", "status", "durationMs", "requestValid",
        "responseValid", "stubId",
    }  # fmt: skip
    assert newest["id"] > entries[1]["id"] and newest["stubId"] is None
    assert newest["method"] == "GET" and newest["path"] == "/api/sales/plans" and newest["status"] == 200
    assert newest["entityId"] == entity["entityId"] and newest["requestValid"] is True
    assert newest["durationMs"] >= 0 and newest["time"].endswith("Z")


def test_invalid_requests_and_admin_calls(http: httpx.Client) -> None:
    entity = new_entity(http)
    create_plan(http, entity, code="BAD CODE")
    http.get("/api/sales/nothing")
    entries = http.get("/__admin/requests").json()["data"]
    assert [(e["operationId"], e["status"]) for e in entries] == [(None, 404), ("createPlan", 400)]
    assert entries[1]["requestValid"] is False
    assert all(not e["path"].startswith("/__admin") for e in entries)


def test_validated_responses_are_marked() -> None:
    http = client(make_app(validate_responses=True))
    entity = new_entity(http)
    sales_get(http, entity, "/plans")
    assert http.get("/__admin/requests").json()["data"][0]["responseValid"] is True


def test_filter_limit_and_clear(http: httpx.Client) -> None:
    one, two = new_entity(http), new_entity(http)
    for _ in range(3):
        sales_get(http, one, "/plans")
    sales_get(http, two, "/plans")
    assert len(http.get("/__admin/requests", params={"entityId": one["entityId"]}).json()["data"]) == 3
    assert len(http.get("/__admin/requests", params={"limit": 2}).json()["data"]) == 2
    assert http.get("/__admin/requests", params={"entityId": str(uuid.uuid4())}).json()["data"] == []
    assert http.get("/__admin/requests", params={"limit": 0}).status_code == 400
    assert http.delete("/__admin/requests").status_code == 204
    assert http.get("/__admin/requests").json()["data"] == []


@given(
    capacity=st.integers(1, 20),
    entities=st.lists(st.sampled_from(["a", "b", None]), max_size=60),
    limit=st.none() | st.integers(1, 30),
)
def test_journal_keeps_the_newest(capacity: int, entities: list[str | None], limit: int | None) -> None:
    journal = Journal(capacity=capacity)
    for n, entity in enumerate(entities):
        journal.record(_entry(n, entity))
    kept = [_entry(n, e) for n, e in enumerate(entities)][-capacity:][::-1]
    assert journal.entries(limit=limit) == kept[:limit]
    assert journal.entries(entity_id="a") == [e for e in kept if e.entity_id == "a"]


def test_an_entry_keeps_at_most_64_kib_of_request_headers(http: httpx.Client) -> None:
    """Headers are cut like bodies: what an entry holds is bounded whatever was sent (here through the
    app directly, where no HTTP parser bounds the head first)."""
    entity = new_entity(http)
    pads = {f"x-pad-{n}": "a" * 40_000 for n in range(5)}  # 200 KB of headers, unauthenticated
    assert http.get("/api/sales/plans", params={"entityId": entity["entityId"]}, headers=pads).status_code == 401
    assert sales_get(http, entity, "/plans").status_code == 200
    small, cut = http.get("/__admin/requests").json()["data"]
    plane = http._transport._transport.app.state.runtime.control  # type: ignore[attr-defined]
    kept = plane.journal.get(cut["id"]).request_headers
    assert sum(len(k) + len(v) for k, v in kept.items()) <= MAX_HEADERS
    shown = http.get(f"/__admin/requests/{cut['id']}").json()["request"]
    assert shown["headersTruncated"] is True and "x-pad-0" in shown["headers"] and "x-pad-4" not in shown["headers"]
    whole = http.get(f"/__admin/requests/{small['id']}").json()["request"]
    assert whole["headersTruncated"] is False and whole["headers"]["authorization"] == "[redacted]"
