"""Packed resources (``mock_server.packed``): the compact form gives back equal values with the same key
order, and a ``Collection`` behaves as a dict of id -> resource whatever is packed when."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mock_server.domain.errors import InvalidInput
from mock_server.fixtures import load_fixtures
from mock_server.packed import Collection, pack, unpack
from mock_server.runtime import FrozenState, release_free_heap
from mock_server.snapshot import encoded_chunks, load_lines, snapshot
from mock_server.store import Store

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_unpack_gives_back_an_equal_resource_with_the_same_key_order(resource: dict[str, Any]) -> None:
    packed = pack(resource)
    again = unpack(packed)
    assert again == resource
    assert json.dumps(again) == json.dumps(resource)  # key order too, at every level
    assert (again is resource) == isinstance(packed, dict)  # only what orjson cannot encode stays a dict


def test_a_packed_resource_is_its_compact_json_text() -> None:
    resource = {"id": "q1", "status": "sent", "lines": [{"amount": 100}], "orderId": None, "paid": False}
    assert pack(resource) == b'{"id":"q1","status":"sent","lines":[{"amount":100}],"orderId":null,"paid":false}'
    huge = {"id": "q2", "total": 2**70}
    assert pack(huge) is huge and unpack(huge) is huge


def test_a_resource_read_from_a_packed_collection_can_be_changed_in_place() -> None:
    collection = Collection()
    collection["a"] = {"id": "a", "status": "draft", "lines": [{"n": 1}]}
    collection.settle(0)
    assert collection.live_count == 0
    resource = collection["a"]
    resource["status"] = "sent"
    resource["lines"].append({"n": 2})
    assert collection["a"] is resource  # still live: the same dict
    collection.settle(0)
    assert collection["a"] == {"id": "a", "status": "sent", "lines": [{"n": 1}, {"n": 2}]}


def test_peek_does_not_keep_changes_and_does_not_unpack_for_good() -> None:
    collection = Collection()
    collection["a"] = {"id": "a", "status": "draft"}
    collection.settle(0)
    copy = collection.peek("a")
    copy["status"] = "lost"
    assert collection.live_count == 0 and collection["a"]["status"] == "draft"
    assert collection.peek("a") is collection["a"]  # a live resource is the one peek answers


def test_settle_packs_the_oldest_live_resources_first() -> None:
    collection = Collection()
    for n in range(5):
        collection[f"r{n}"] = {"id": f"r{n}"}
    assert collection.settle(2) == 3 and collection.live_count == 2
    assert collection.settle(2) == 0
    assert list(collection) == [f"r{n}" for n in range(5)]
    assert [r["id"] for r in collection.peek_values()] == [f"r{n}" for n in range(5)]


class CollectionMachine(RuleBasedStateMachine):
    """A ``Collection`` against a plain dict, with packing at arbitrary moments."""

    def __init__(self) -> None:
        super().__init__()
        self.collection = Collection()
        self.model: dict[str, dict[str, Any]] = {}

    ids = st.sampled_from([f"id{n}" for n in range(6)])

    @rule(key=ids, value=json_values)
    def put(self, key: str, value: Any) -> None:
        self.collection[key] = {"id": key, "value": value}
        self.model[key] = {"id": key, "value": value}

    @rule(key=ids, value=json_values)
    def change_in_place(self, key: str, value: Any) -> None:
        found = self.collection.get(key)
        assert (found is None) == (key not in self.model)
        if found is not None:
            found["value"] = value
            self.model[key]["value"] = value

    @rule(key=ids)
    def delete(self, key: str) -> None:
        if key in self.model:
            del self.collection[key]
            del self.model[key]
        else:
            assert key not in self.collection and self.collection.get(key) is None

    @rule(limit=st.integers(0, 3))
    def settle(self, limit: int) -> None:
        self.collection.settle(limit)
        assert self.collection.live_count <= limit

    @invariant()
    def same_as_the_model(self) -> None:
        assert len(self.collection) == len(self.model)
        assert list(self.collection) == list(self.model)
        assert [r for _k, r in self.collection.peek_items()] == list(self.model.values())


TestCollectionMachine = CollectionMachine.TestCase
TestCollectionMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def _demo_store() -> Store:
    store = Store()
    load_fixtures(store, "demo", "2025-03-01T00:00:00Z")
    entity = next(iter(store.entities.values()))
    quote = entity.edit("quotes", entity.ids("quotes")[0])
    quote["notes"] = 2**70  # beyond orjson's integers: the standard library encodes this resource
    entity.settle(0)
    return store


def test_encoded_chunks_are_the_snapshot_document_one_line_per_piece() -> None:
    store = _demo_store()
    document = snapshot(store, copy=False)
    chunks = list(encoded_chunks(store))
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in chunks)
    assert json.loads(b"".join(chunks)) == document
    next(iter(store.entities.values())).remove("quotes", document["entities"][0]["quotes"][0]["id"])  # the big integer
    compact = b"".join(chunk[:-1] for chunk in encoded_chunks(store))
    assert compact == orjson.dumps(snapshot(store, copy=False))  # the same bytes, bar the newlines


def test_the_line_layout_loads_back_a_resource_at_a_time_with_the_sections() -> None:
    store = _demo_store()  # one quote holds an integer beyond 64 bits: its line is marked, read exactly
    data = b"".join(encoded_chunks(store, {"stubs": [{"id": "s1", "body": {"n": 2**65}}]}))
    assert data.count(b"\n ") == 1 and data.count(b"\n], ") == 1  # the two pieces orjson could not write
    loaded = load_lines(data)
    assert loaded is not None
    fresh, rest = loaded
    assert snapshot(fresh) == snapshot(store) and rest["stubs"] == [{"id": "s1", "body": {"n": 2**65}}]
    entity = next(iter(fresh.entities.values()))
    assert entity.live_count("quotes") == 0  # every resource kept packed
    assert [q["notes"] for q in entity.scan("quotes")].count(2**70) == 1


def test_the_line_layout_falls_back_to_the_whole_document_or_names_the_problem() -> None:
    store = _demo_store()
    good = b"".join(encoded_chunks(store))
    assert load_lines(good) is not None
    assert load_lines(json.dumps(snapshot(store)).encode()) is None  # another layout: parsed whole
    assert load_lines(good.replace(b"\n]\n", b"\n", 1)) is None  # a collection left open
    assert load_lines(good + b"{}") is None  # something after the document
    lines = good.split(b"\n")
    at = lines.index(b',"quotes":[') + 1
    lines[at] = orjson.dumps({**orjson.loads(lines[at]), "status": 7})
    with pytest.raises(InvalidInput, match=r"entities\[0\]\.quotes\[0\]\.status must be a non-empty string"):
        load_lines(b"\n".join(lines))


@pytest.mark.parametrize("spill_bytes", [FrozenState.SPILL_BYTES, 1])
def test_the_frozen_start_up_copy_thaws_into_an_equal_store(spill_bytes: int) -> None:
    store = _demo_store()
    frozen = FrozenState(encoded_chunks(store), spill_bytes=spill_bytes)
    assert frozen.on_disk == (spill_bytes == 1)  # a large copy waits in a temporary file
    again = frozen.thaw()
    assert snapshot(again) == snapshot(store)
    assert next(iter(again.entities.values())).live_count("quotes") == 0  # loaded packed
    assert snapshot(frozen.thaw()) == snapshot(store)  # as often as asked
    release_free_heap()  # harmless wherever it runs
