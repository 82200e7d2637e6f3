"""The store: status indexes, paging, expiry heap, snapshot/restore."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.clock import EntityClock
from mock_server.domain.errors import InvalidInput
from mock_server.fixtures import load_fixtures
from mock_server.snapshot import restore, snapshot
from mock_server.store import EntityState, StatusIndex, Store


def test_status_index_pages_newest_first_in_creation_order() -> None:
    index = StatusIndex()
    for i in range(10):
        index.add(f"q{i}", "draft")
    index.move("q2", "draft", "sent")
    index.move("q7", "draft", "sent")
    index.move("q5", "draft", "sent")
    assert index.page("sent", 1, 2) == (["q7", "q5"], 3)
    assert index.page("sent", 2, 2) == (["q2"], 3)
    assert index.page(None, 1, 3) == (["q9", "q8", "q7"], 10)
    assert index.page(None, 5, 3) == ([], 10)
    index.remove("q5", "sent")
    assert index.count("sent") == 2 and index.count() == 9 and index.count("nope") == 0


def test_snapshot_round_trip_is_lossless() -> None:
    store = Store()
    load_fixtures(store, "demo", "2025-03-01T00:00:00Z")
    document = snapshot(store)
    again = Store()
    restore(again, document)
    restored = snapshot(again)
    for entity in restored["entities"]:
        entity.pop("extras")  # services may initialise their own derived extras on restore
    assert restored == {
        **document,
        "entities": [{k: v for k, v in e.items() if k != "extras"} for e in document["entities"]],
    }
    demo = again.entities["497f6eca-6276-4993-bfeb-53cbbbba6f08"]
    assert demo.page_json("quotes", "sent", 1, 100) == store.entities[demo.id].page_json("quotes", "sent", 1, 100)
    assert again.find_api_key("ak_demo_readonly") is not None and again.find_session("sess_demo") is not None
    assert "pro-monthly" in demo.plan_codes


def _document() -> dict[str, Any]:
    store = Store()
    load_fixtures(store, "empty", "2025-03-01T00:00:00Z")
    return snapshot(store)


@pytest.mark.parametrize(
    ("breaks", "needle"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(entities="x"), "entities must be an array"),
        (lambda d: d["entities"][0].pop("name"), "entities[0].name"),
        (lambda d: d["entities"][0].update(quotes=[{"id": "q"}]), "entities[0].quotes[0].status"),
        (lambda d: d["entities"][0]["clock"].update(frozenAt="yesterday"), "frozenAt"),
        (lambda d: d["apiKeys"][0].update(entityId="nope"), "unknown entity"),
        (lambda d: d["apiKeys"][0].update(scopes=["admin"]), "unknown scopes"),
        (lambda d: d["entities"].append(dict(d["entities"][0])), "duplicate entity"),
    ],
)
def test_restore_rejects_bad_documents_and_changes_nothing(breaks: Any, needle: str) -> None:
    store = Store()
    load_fixtures(store, "demo", "2025-03-01T00:00:00Z")
    before = snapshot(store)
    document = _document()
    breaks(document)
    with pytest.raises(InvalidInput, match=needle.replace("[", r"\[").replace("]", r"\]")):
        restore(store, document)
    assert snapshot(store) == before


def test_restore_rebuilds_the_expiry_heap() -> None:
    store = Store()
    entity = store.add_entity(EntityState(id="e", name="E", base_currency="USD", clock=EntityClock()))
    entity.add("quotes", {"id": "q", "number": "Q-000001", "status": "sent", "validUntil": "2025-01-01"})
    again = Store()
    restore(again, snapshot(store))
    assert again.entities["e"].quote_expiry == [("2025-01-01", "q")]


def test_the_change_count_is_the_stores_and_its_entities_count_into_it() -> None:
    store, other = Store(), Store()
    entity = EntityState(id="e", name="E", base_currency="USD", clock=EntityClock())
    entity.touch("quotes", "q")  # not in a store yet: counted on its own
    store.add_entity(entity)
    after_add = store.revision
    entity.add("quotes", {"id": "q", "status": "draft", "validUntil": "2025-01-01", "number": "Q-1"})
    entity.record_change()
    assert store.revision == after_add + 2 and other.revision == 0
    again = Store()
    restore(again, snapshot(store))
    before = again.revision
    again.entities["e"].touch("quotes", "q")  # a restored entity counts into the store it joined
    assert again.revision == before + 1 and store.revision == after_add + 2


def test_a_restored_entity_has_its_billing_index_built_from_the_resources() -> None:
    store = Store()
    load_fixtures(store, "demo", "2025-03-01T00:00:00Z")
    again = Store()
    restore(again, snapshot(store))
    for entity in again.entities.values():
        by_subscription: dict[str, list[str]] = {}
        for invoice in entity.scan("invoices"):
            by_subscription.setdefault(invoice["subscriptionId"], []).append(invoice["id"])
        assert entity.billing.built and entity.billing.invoices_by_subscription == by_subscription
        assert entity.caught_up.mark is None and not entity.tracking
