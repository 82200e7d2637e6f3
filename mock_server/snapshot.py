"""The JSON form of a ``Store`` (state export/import), and its validation.

Document shape (version 1)::

    {"version": 1,
     "entities": [{"id", "name", "baseCurrency", "clock": {"frozenAt", "offsetSeconds"},
                   "counters": {"quotes", "orders", "invoices"},
                   "customers": [...], "quotes": [...], "orders": [...], "plans": [...],
                   "subscriptions": [...], "invoices": [...],      # oldest first
                   "subscriptionEvents": [[...], ...], "extras": {...}}],
     "apiKeys": [{"key", "entityId", "scopes": [...]}],
     "sessions": [{"token", "entityId", "scopes": [...]}]}

Indexes (status indexes, plan codes, the quote-expiry heap) are not stored: they are rebuilt.
"""

from __future__ import annotations

import gc
import heapq
from datetime import timedelta
from typing import Any

from mock_server.clock import EntityClock
from mock_server.domain.errors import InvalidInput
from mock_server.domain.periods import format_instant, parse_instant
from mock_server.store import KINDS, NUMBER_PREFIX, EntityState, Store


def snapshot(store: Store, *, copy: bool = True) -> dict[str, Any]:
    """The whole state of ``store`` as a JSON-able document; ``restore`` of it gives an equal store.
    With ``copy=False`` the document shares the resources: encode it before the store changes."""
    return dump_store(store, copy_resources=copy)


def restore(store: Store, document: Any, *, owned: bool = False) -> None:
    """Replace the whole state of ``store`` by ``document`` (from ``snapshot``). Validates everything
    first: a bad document raises ``InvalidInput`` naming the problem and changes nothing. ``owned``:
    the caller hands the document over (it is not copied)."""
    collecting = gc.isenabled()
    gc.disable()  # a large import creates millions of objects: no collection rescans them meanwhile
    try:
        store.replace_with(load_store(document, owned=owned))
    finally:
        if collecting:
            gc.enable()


def dump_store(store: Store, *, copy_resources: bool = True) -> dict[str, Any]:
    """The store as a JSON-able document. Resources are copied, never shared, unless
    ``copy_resources`` is False: then the document shares them with the store and must be encoded
    before the store changes again (what the state file and the start-up copy do)."""
    import copy

    dup: Any = copy.deepcopy if copy_resources else (lambda value: value)

    entities = []
    for entity in store.entities.values():
        item: dict[str, Any] = {
            "id": entity.id,
            "name": entity.name,
            "baseCurrency": entity.base_currency,
            "clock": _dump_clock(entity.clock),
            "counters": dict(entity.counters),
        }
        for kind in _kinds():
            item[kind] = dup(list(entity.collection(kind).values()))
        item["subscriptionEvents"] = [list(event) for event in sorted(entity.subscription_events)]
        item["extras"] = dup(entity.extras)
        entities.append(item)
    return {
        "version": 1,
        "entities": entities,
        "apiKeys": [{"key": k.key, "entityId": k.entity_id, "scopes": sorted(k.scopes)} for k in store.api_keys()],
        "sessions": [{"token": s.token, "entityId": s.entity_id, "scopes": sorted(s.scopes)} for s in store.sessions()],
    }


def _dump_clock(clock: EntityClock) -> dict[str, Any]:
    return {
        "frozenAt": format_instant(clock.frozen_at) if clock.frozen_at is not None else None,
        "offsetSeconds": int(clock.offset.total_seconds()),
    }


def _kinds() -> tuple[str, ...]:

    return KINDS


def load_store(document: Any, *, owned: bool = False) -> Store:
    """A new ``Store`` built from ``document``; raises ``InvalidInput`` naming the first problem.
    The store gets copies of the document's resources unless ``owned`` (the caller hands the
    document over, e.g. freshly parsed from a file, and never uses it again)."""
    import copy

    doc = _obj(document, "state")
    if doc.get("version") != 1:
        raise InvalidInput("state: unsupported or missing version (expected 1)")
    store = Store()
    for i, raw in enumerate(_list(doc, "entities", "state")):
        entity = _load_entity(raw if owned else copy.deepcopy(raw), f"entities[{i}]")
        if entity.id in store.entities:
            raise InvalidInput(f"state: entities[{i}]: duplicate entity id {entity.id}")
        store.add_entity(entity)
    for label, adder in (("apiKeys", store.add_api_key), ("sessions", store.add_session)):
        secret_field = "key" if label == "apiKeys" else "token"
        for i, raw in enumerate(_list(doc, label, "state", required=False)):
            where = f"{label}[{i}]"
            item = _obj(raw, where)
            secret = _str(item, secret_field, where)
            entity_id = _str(item, "entityId", where)
            scopes = _list(item, "scopes", where)
            try:
                adder(secret, entity_id, {str(s) for s in scopes})
            except ValueError as error:
                raise InvalidInput(f"state: {where}: {error}") from None
    return store


def _load_entity(raw: Any, where: str) -> EntityState:

    item = _obj(raw, where)
    entity = EntityState(
        id=_str(item, "id", where),
        name=_str(item, "name", where),
        base_currency=_str(item, "baseCurrency", where),
        clock=_load_clock(item.get("clock"), f"{where}.clock"),
    )
    counters = _obj(item.get("counters", {}), f"{where}.counters")
    for kind in NUMBER_PREFIX:
        value = counters.get(kind, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidInput(f"state: {where}.counters.{kind} must be a non-negative integer")
        entity.counters[kind] = value
    for kind in _kinds():
        _load_collection(entity, kind, _list(item, kind, where, required=False), f"{where}.{kind}")
    for j, event in enumerate(_list(item, "subscriptionEvents", where, required=False)):
        if not isinstance(event, list) or not event:
            raise InvalidInput(f"state: {where}.subscriptionEvents[{j}] must be a non-empty array")
        entity.subscription_events.append(tuple(event))
    heapq.heapify(entity.subscription_events)
    entity.extras = _obj(item.get("extras", {}), f"{where}.extras")
    return entity


_REQUIRED_TEXT = {
    "quotes": ("status", "validUntil", "number"),
    "orders": ("status", "number"),
    "plans": ("code",),
    "subscriptions": ("status",),
    "invoices": ("status", "number"),
    "customers": ("currency",),
}


def _load_collection(entity: EntityState, kind: str, items: list[Any], where: str) -> None:
    collection = entity.collection(kind)
    required = _REQUIRED_TEXT[kind]
    for j, resource in enumerate(items):
        # checked inline (a state file holds hundreds of thousands of resources); the helpers
        # only build the message of the first problem
        if not isinstance(resource, dict):
            _obj(resource, f"{where}[{j}]")
        obj_id = resource.get("id")
        if not isinstance(obj_id, str) or not obj_id:
            _str(resource, "id", f"{where}[{j}]")
        for name in required:
            value = resource.get(name)
            if not isinstance(value, str) or not value:
                _str(resource, name, f"{where}[{j}]")
        if obj_id in collection:
            raise InvalidInput(f"state: {where}[{j}]: duplicate id {obj_id}")
        if kind == "plans" and resource["code"] in entity.plan_codes:
            raise InvalidInput(f"state: {where}[{j}]: duplicate plan code {resource['code']}")
        entity.add(kind, resource, share=False)


def _load_clock(raw: Any, where: str) -> EntityClock:
    if raw is None:
        return EntityClock()
    item = _obj(raw, where)
    frozen = item.get("frozenAt")
    offset = item.get("offsetSeconds", 0)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise InvalidInput(f"state: {where}.offsetSeconds must be an integer")
    if frozen is None:
        return EntityClock(offset=timedelta(seconds=offset))
    if not isinstance(frozen, str):
        raise InvalidInput(f"state: {where}.frozenAt must be an RFC 3339 instant or null")
    try:
        return EntityClock(frozen_at=parse_instant(frozen).replace(microsecond=0), offset=timedelta(seconds=offset))
    except ValueError:
        raise InvalidInput(f"state: {where}.frozenAt is not an RFC 3339 instant: {frozen!r}") from None


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"state: {where} must be an object")
    return value


def _list(item: dict[str, Any], name: str, where: str, *, required: bool = True) -> list[Any]:
    if name not in item and not required:
        return []
    value = item.get(name)
    if not isinstance(value, list):
        raise InvalidInput(f"state: {where}.{name} must be an array")
    return value


def _str(item: dict[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"state: {where}.{name} must be a non-empty string")
    return value
