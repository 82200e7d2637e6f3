"""Fixture loading: the demo data passes the spec, bad files are one-line errors, seed_entity isolates."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEMO, OTHER, OTHER_RW, RO, Api, AppFactory

from mock_server.clock import EntityClock
from mock_server.fixtures import FixtureError, load_fixtures, seed_entity
from mock_server.store import Store


@pytest.mark.parametrize("clock", ["2025-03-01T00:00:00Z", "now"])
def test_demo_fixtures_pass_the_spec(make_api: AppFactory, clock: str) -> None:
    """Every list and every object of the demo data, read through the API with response validation on."""
    api = make_api(clock=clock)
    for key, entity in ((RO, DEMO), (OTHER_RW, OTHER)):
        api.ok(api.get("/dashboard", key=key, entity=entity))
        for path in ("/customers", "/plans", "/subscriptions"):
            assert api.ok(api.get(path, key=key, entity=entity))["data"]
        for path in ("/quotes", "/orders"):
            page = api.ok(api.get(path, key=key, entity=entity, params={"pageSize": 100}))
            for item in page["data"]:
                api.ok(api.get(f"{path}/{item['id']}", key=key, entity=entity))


def test_demo_has_the_documented_variety(api: Api) -> None:
    statuses = {q["status"] for q in api.ok(api.get("/quotes", params={"pageSize": 100}))["data"]}
    assert {"draft", "sent", "accepted", "declined", "expired", "converted"} <= statuses
    orders = {o["status"] for o in api.ok(api.get("/orders", params={"pageSize": 100}))["data"]}
    assert orders == {"draft", "confirmed", "fulfilled", "canceled"}
    plans = api.ok(api.get("/plans"))["data"]
    assert {p["interval"] for p in plans} >= {"day", "week", "month", "year"} - {"day"}
    assert any(not p["active"] for p in plans) and any(p["trialDays"] for p in plans)
    assert any(p["interval"] == "month" and p["intervalCount"] == 3 for p in plans)


def test_demo_lists_are_newest_first_by_creation_time(api: Api) -> None:
    """Fixture subscriptions are seeded in time order, so list order, createdAt and invoice numbers agree."""
    created = [s["createdAt"] for s in api.ok(api.get("/subscriptions"))["data"]]
    assert len(created) > 3 and created == sorted(created, reverse=True)
    invoices = api.http.get(f"/__admin/entities/{DEMO}/invoices").json()["data"]
    assert [i["createdAt"] for i in invoices] == sorted((i["createdAt"] for i in invoices), reverse=True)
    assert [i["number"] for i in invoices] == sorted((i["number"] for i in invoices), reverse=True)


def test_demo_follows_a_real_clock(make_api: AppFactory) -> None:
    api = make_api(clock="now")
    quotes = api.ok(api.get("/quotes", params={"status": "expired"}))["data"]
    assert quotes and quotes[0]["status"] == "expired"


def test_empty_fixtures_have_keys_and_no_data(make_api: AppFactory) -> None:
    api = make_api(fixtures="empty")
    assert api.ok(api.get("/quotes"))["total"] == 0 and api.ok(api.get("/customers"))["data"] == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("entities: [", "not valid YAML"),
        ("- 1\n- 2\n", "'entities' list"),
        ("entities:\n  - {id: nope, name: X, baseCurrency: USD}\n", "entities[0]"),
        ("entities:\n  - {name: X, baseCurrency: USD}\n", "missing field 'id'"),
        (
            "entities:\n  - id: 497f6eca-6276-4993-bfeb-53cbbbba6f08\n    name: X\n    baseCurrency: USD\n"
            "    quotes: [{customerId: 3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10, lines: []}]\n",
            "quotes[0]",
        ),
    ],
)
def test_bad_fixture_files_are_one_line_errors(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(FixtureError) as raised:
        load_fixtures(Store(), str(path))
    assert needle in str(raised.value) and "\n" not in str(raised.value)


def test_unreadable_fixture_file(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read"):
        load_fixtures(Store(), str(tmp_path / "missing.yaml"))
    with pytest.raises(FixtureError, match=r"unknown fixtures 'no_such_fixture_name': use one of demo, empty"):
        load_fixtures(Store(), "no_such_fixture_name")


def test_seed_entity_demo_gets_fresh_ids_and_keys() -> None:
    store = Store()
    load_fixtures(store, "demo", "2025-03-01T00:00:00Z")
    entity, keys = seed_entity(store, "Tenant", "GBP", "demo", EntityClock.from_mode("2025-06-01T00:00:00Z"))
    demo = store.entities[DEMO]
    assert entity.id not in (DEMO, OTHER) and entity.base_currency == "GBP"
    customers = entity.ids("customers")
    assert len(customers) == demo.count("customers") and not set(customers) & set(demo.ids("customers"))
    assert not set(entity.ids("quotes")) & set(demo.ids("quotes"))
    for quote in entity.scan("quotes"):
        assert entity.has("customers", quote["customerId"])
    for order in entity.scan("orders"):
        assert order["quoteId"] is None or entity.has("quotes", order["quoteId"])
    read_write, read_only = store.find_api_key(keys["readWrite"]), store.find_api_key(keys["readOnly"])
    assert read_write is not None and read_write.entity_id == entity.id and "write:sales" in read_write.scopes
    assert read_only is not None and read_only.scopes == frozenset({"read:sales"})
    assert keys["readWrite"].startswith("ak_") and entity.clock.now().isoformat().startswith("2025-06-01")


def test_seed_entity_empty() -> None:
    store = Store()
    entity, _ = seed_entity(store, "Blank", "USD", "empty", "now")
    assert entity.count("customers") == 0 and not entity.clock.frozen
    with pytest.raises(FixtureError):
        seed_entity(store, "Bad", "USD", "no_such_fixture")
