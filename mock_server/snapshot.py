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

import collections
import contextlib
import functools
import gc
import itertools
import json
import operator
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from mock_server.clock import EARLIEST, LATEST, RANGE_TEXT, EntityClock, in_range
from mock_server.domain.errors import InvalidInput
from mock_server.domain.periods import format_instant, parse_date, parse_instant
from mock_server.packed import encode
from mock_server.store import KINDS, NUMBER_PREFIX, EntityState, Store


def snapshot(store: Store, *, copy: bool = True) -> dict[str, Any]:
    """The whole state of ``store`` as a JSON-able document; ``restore`` of it gives an equal store.
    With ``copy=False`` the document shares the resources: encode it before the store changes."""
    return dump_store(store, copy_resources=copy)


def restore(store: Store, document: Any, *, owned: bool = False) -> None:
    """Replace the whole state of ``store`` by ``document`` (from ``snapshot``). Validates everything
    first: a bad document raises ``InvalidInput`` naming the problem and changes nothing. ``owned``:
    the caller hands the document over (it is not copied)."""
    with _no_collections():
        store.replace_with(load_store(document, owned=owned))


def replace(store: Store, fresh: Store) -> None:
    """Replace the whole state of ``store`` by ``fresh`` (from ``load_lines``)."""
    with _no_collections():
        store.replace_with(fresh)


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """A large import creates millions of objects: no collection rescans them meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def dump_store(store: Store, *, copy_resources: bool = True) -> dict[str, Any]:
    """The store as a JSON-able document. Resources are copied, never shared, unless
    ``copy_resources`` is False: then the document shares the live ones with the store and must be
    encoded before the store changes again (the state file and the start-up copy use
    ``encoded_chunks`` instead, which needs no document)."""
    import copy

    dup: Any = copy.deepcopy if copy_resources else (lambda value: value)

    entities = []
    for entity in store.entities.values():
        item = _entity_head(entity)
        for kind in KINDS:
            item[kind] = dup(list(entity.scan(kind)))
        tail = _entity_tail(entity)
        tail["extras"] = dup(tail["extras"])
        item.update(tail)
        entities.append(item)
    return {"version": 1, "entities": entities, **_credentials(store)}


LINES_HEADER = b'{"version":1,"entities":['


def encoded_chunks(store: Store, extra: dict[str, Any] | None = None) -> Iterator[bytes]:
    """``snapshot(store)`` (and the top-level members ``extra``) as compact JSON with one line per
    resource, piece by piece and without building the document: packed resources
    (``mock_server.packed``) are already their JSON text, where the document would need their size
    again in dicts. ``load_lines`` reads this layout back one resource at a time. Each piece is
    one line (newline included)::

        {"version":1,"entities":[
        {"id":...,"counters":{...}           an entity's fields before its collections
        ,"customers":[
        {...}                                one resource per line, the next ones after a comma
        ,{...}
        ]
        ...                                  the other collections, in snapshot order
        ,"subscriptionEvents":[...],"extras":{...}}
        ,{"id":...                           the next entity
        ],"apiKeys":[...],"sessions":[...]}  and whatever ``extra`` holds
    """
    yield LINES_HEADER + b"\n"
    for position, entity in enumerate(store.entities.values()):
        mark, head = _encode(_entity_head(entity))
        yield (b"," if position else b"") + mark + head[:-1] + b"\n"  # left open: the collections follow
        for kind in KINDS:
            yield b',"' + kind.encode() + b'":[\n'
            separator = b""
            for _id, packed in entity.packed_items(kind):
                yield separator + (packed if type(packed) is bytes else b"".join(_encode(packed))) + b"\n"
                separator = b","
            yield b"]\n"
        mark, tail = _encode(_entity_tail(entity))
        yield b"," + mark + tail[1:] + b"\n"
    mark, rest = _encode({**_credentials(store), **(extra or {})})
    yield b"]," + mark + rest[1:] + b"\n"


def _encode(value: Any) -> tuple[bytes, bytes]:
    """``value``'s compact JSON, after a mark: empty when orjson wrote it, a space when the standard
    library did (orjson refuses integers beyond 64 bits, and reads them back as floats: a reader
    must parse a marked piece with the standard library)."""
    text, by_standard_library = encode(value)
    return (b" " if by_standard_library else b""), text


def _decode(text: bytes, marked: bool) -> Any:
    """A piece ``encoded_chunks`` wrote (see ``_encode``)."""
    return json.loads(text) if marked else orjson.loads(text)


def _entity_head(entity: EntityState) -> dict[str, Any]:
    return {
        "id": entity.id,
        "name": entity.name,
        "baseCurrency": entity.base_currency,
        "clock": _dump_clock(entity.clock),
        "counters": dict(entity.counters),
    }


def _entity_tail(entity: EntityState) -> dict[str, Any]:
    return {
        "subscriptionEvents": entity.billing.events_json(),
        "extras": entity.billing.extras_json(),
    }


def _credentials(store: Store) -> dict[str, Any]:
    return {
        "apiKeys": [{"key": k.key, "entityId": k.entity_id, "scopes": sorted(k.scopes)} for k in store.api_keys()],
        "sessions": [{"token": s.token, "entityId": s.entity_id, "scopes": sorted(s.scopes)} for s in store.sessions()],
    }


def _dump_clock(clock: EntityClock) -> dict[str, Any]:
    return {
        "frozenAt": format_instant(clock.frozen_at) if clock.frozen_at is not None else None,
        "offsetSeconds": int(clock.offset.total_seconds()),
    }


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
        _add_entity(store, _load_entity(raw if owned else copy.deepcopy(raw), f"entities[{i}]"), i)
    _load_credentials(store, doc)
    return store


def load_lines(data: bytes) -> tuple[Store, dict[str, Any]] | None:
    """A new ``Store`` from a state document in the layout ``encoded_chunks`` writes, read one line
    (one resource) at a time: the resources are kept as the file's own JSON text, so loading never
    holds the whole document in dicts. Also returns the document's other top-level members (the
    control plane's sections). None when ``data`` is not in that layout or a line is not JSON that
    orjson reads (the caller then parses the whole document, which names any problem). Raises
    ``InvalidInput`` as ``load_store`` does."""
    if not data.startswith(LINES_HEADER + b"\n"):
        return None
    with _no_collections():
        return _load_lines(_Lines(data, len(LINES_HEADER) + 1))


def _load_lines(lines: _Lines) -> tuple[Store, dict[str, Any]] | None:
    store = Store()
    try:
        for i in itertools.count():
            line = lines.next()
            if line.startswith(b"],"):
                body = line[2:]
                rest = _obj(_decode(b"{" + body, body[:1] == b" "), "state")
                _load_credentials(store, rest)
                return (store, rest) if lines.at_end() else None
            where = f"entities[{i}]"
            text = line[1:] if i else line
            head = _decode(text + b"}", text[:1] == b" ")
            entity = _new_entity(_obj(head, where), where)
            for kind in KINDS:
                if lines.next() != b',"' + kind.encode() + b'":[':
                    return None
                for j in itertools.count():
                    raw = lines.next(skip_comma=j > 0)
                    if raw == b"]":
                        break
                    marked = raw[:1] == b" "  # kept as a dict: orjson would read it back differently
                    resource = _decode(raw, marked)
                    _add_resource(entity, kind, resource, f"{where}.{kind}[{j}]", None if marked else raw)
            tail = lines.next()
            if not tail.startswith(b","):
                return None
            body = tail[1:]
            _finish_entity(entity, _obj(_decode(b"{" + body, body[:1] == b" "), where), where)
            _add_entity(store, entity, i)
    except (ValueError, _NotLines):  # orjson's and the standard library's decode errors
        return None
    raise AssertionError("unreachable")  # pragma: no cover


class _NotLines(Exception):
    pass


class _Lines:
    """The lines of ``data`` from ``position``, as new bytes objects without the newline (and, with
    ``skip_comma``, without one leading comma): each resource's text is sliced out once, exactly."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def next(self, *, skip_comma: bool = False) -> bytes:
        data, start = self.data, self.position
        end = data.find(b"\n", start)
        if end < 0:
            raise _NotLines
        self.position = end + 1
        if skip_comma and data[start : start + 1] == b",":
            start += 1
        return data[start:end]

    def at_end(self) -> bool:
        """Whether only whitespace is left (checked in place: no copy of the rest)."""
        return _BLANK_TO_END.match(self.data, self.position) is not None


_BLANK_TO_END = re.compile(rb"\s*\Z")


def _add_entity(store: Store, entity: EntityState, i: int) -> None:
    if entity.id in store.entities:
        raise InvalidInput(f"state: entities[{i}]: duplicate entity id {entity.id}")
    store.add_entity(entity)


def _load_credentials(store: Store, doc: dict[str, Any]) -> None:
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


def _load_entity(raw: Any, where: str) -> EntityState:
    item = _obj(raw, where)
    entity = _new_entity(item, where)
    for kind in KINDS:
        items = _list(item, kind, where, required=False)
        for j, resource in enumerate(items):
            _add_resource(entity, kind, resource, f"{where}.{kind}[{j}]")
            items[j] = None  # the loader owns ``items`` (a copy, or a document handed over): free as it goes
    _finish_entity(entity, item, where)
    return entity


def _new_entity(item: dict[str, Any], where: str) -> EntityState:
    """An entity from its fields before the collections (id, name, currency, clock, counters)."""
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
    return entity


def _finish_entity(entity: EntityState, item: dict[str, Any], where: str) -> None:
    """The fields after the collections: the subscription event heap and ``extras`` (checked to be an
    object, not read: its ``billing`` index is rebuilt here from the resources, with the rest of the
    entity's indexes)."""
    events = []
    for j, event in enumerate(_list(item, "subscriptionEvents", where, required=False)):
        if not isinstance(event, list) or not event:
            raise InvalidInput(f"state: {where}.subscriptionEvents[{j}] must be a non-empty array")
        events.append(tuple(event))
    entity.billing.load_events(events)
    _obj(item.get("extras", {}), f"{where}.extras")
    entity.rebuild_indexes()


_REQUIRED_TEXT = {
    "quotes": ("status", "validUntil", "number"),
    "orders": ("status", "number"),
    "plans": ("code",),
    "subscriptions": ("status",),
    "invoices": ("status", "number"),
    "customers": ("currency",),
}


_REQUIRED_FIELDS = {kind: ("id", *names) for kind, names in _REQUIRED_TEXT.items()}

_DATES = {
    "quotes": ("issueDate", "validUntil"),
    "orders": ("orderDate",),
    "subscriptions": ("startDate", "trialEnd", "billingCycleAnchor", "currentPeriodStart", "currentPeriodEnd"),
    "invoices": ("dueDate",),
}
_INSTANTS = {"subscriptions": ("canceledAt", "updatedAt")}
"""The dates and instants of each kind the services read back (null or absent: not set)."""
_SET = functools.partial(operator.is_not, None)


def _check_times(resource: dict[str, Any], kind: str, where: str) -> None:
    """A date or instant the services would read must be one the server can hold (not 0000-01-01).
    Runs for every resource of a state file, so the common case stays in C (``map``); which field is
    bad is only worked out for a resource that has one."""
    field: Callable[[str], Any] = resource.get
    try:
        dates = _DATES.get(kind)
        if dates is not None:
            collections.deque(map(date.fromisoformat, filter(_SET, map(field, dates))), 0)  # as parse_date
        if kind == "subscriptions":
            for moment in map(datetime.fromisoformat, filter(_SET, map(field, _INSTANTS[kind]))):
                if moment.tzinfo is None or not 1 < moment.year < 9999:
                    raise ValueError  # not as the server writes it: the slow path decides
            dunning = resource.get("dunning")
            if type(dunning) is dict and dunning.get("gracePeriodEndsAt") is not None:
                parse_instant(dunning["gracePeriodEndsAt"])
    except (ValueError, TypeError, AttributeError):
        _name_bad_time(resource, kind, where)


def _name_bad_time(resource: dict[str, Any], kind: str, where: str) -> None:
    """400 naming the date or instant of ``resource`` that ``parse_date``/``parse_instant`` refuse (if any)."""
    fields: list[tuple[str, Any, Any]] = [(n, resource.get(n), parse_date) for n in _DATES.get(kind, ())]
    fields += [(n, resource.get(n), parse_instant) for n in _INSTANTS.get(kind, ())]
    dunning = resource.get("dunning")
    if kind == "subscriptions" and type(dunning) is dict:
        fields.append(("dunning.gracePeriodEndsAt", dunning.get("gracePeriodEndsAt"), parse_instant))
    for name, value, parse in fields:
        if value is None:
            continue
        try:
            parse(value)
        except (ValueError, TypeError, AttributeError):  # not text, or text that is no date the server can hold
            raise InvalidInput(
                f"state: {where}.{name} is not a date or instant the server can hold: {str(value)[:40]!r}"
            ) from None


def _plain(resource: Any, required: tuple[str, ...]) -> bool:
    """Whether ``resource`` is an object whose ``required`` fields are non-empty text."""
    if type(resource) is not dict:
        return False
    for name in required:
        value = resource.get(name)
        if type(value) is not str or not value:
            return False
    return True


def _add_resource(entity: EntityState, kind: str, resource: Any, where: str, encoded: bytes | None = None) -> None:
    """Check one resource of a state document and add it packed (``encoded``: its JSON text). A state
    file holds hundreds of thousands of resources: the check is one pass (``_plain``), and the
    message naming the first problem is only worked out for a resource that has one. Its dates are
    checked too (``_check_times``), except in a state file in the layout this server writes, read
    line by line at start-up (``encoded``), where they cost a seventh of the load: a state import
    (``PUT /__admin/state``) and a state file in any other layout are always checked."""
    if not _plain(resource, _REQUIRED_FIELDS[kind]):
        _obj(resource, where)
        for name in _REQUIRED_FIELDS[kind]:
            _str(resource, name, where)
    if encoded is None:
        _check_times(resource, kind, where)
    if entity.has(kind, resource["id"]):
        raise InvalidInput(f"state: {where}: duplicate id {resource['id']}")
    if kind == "plans" and resource["code"] in entity.plan_codes:
        raise InvalidInput(f"state: {where}: duplicate plan code {resource['code']}")
    entity.add(kind, resource, packed=True, encoded=encoded)


def _load_clock(raw: Any, where: str) -> EntityClock:
    """A clock that shows an instant within ``clock.RANGE_TEXT`` (and a frozen one an offset that could)."""
    if raw is None:
        return EntityClock()
    item = _obj(raw, where)
    frozen = item.get("frozenAt")
    offset = item.get("offsetSeconds", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > _LONGEST_OFFSET:
        raise InvalidInput(f"state: {where}.offsetSeconds must be an integer of at most {_LONGEST_OFFSET} seconds")
    shift = timedelta(seconds=offset)
    if frozen is None:
        clock = EntityClock(offset=shift)
        if not in_range(clock.now()):
            raise InvalidInput(f"state: {where}.offsetSeconds puts the clock outside {RANGE_TEXT}")
        return clock
    if not isinstance(frozen, str):
        raise InvalidInput(f"state: {where}.frozenAt must be an RFC 3339 instant or null")
    try:
        moment = parse_instant(frozen).replace(microsecond=0)
    except ValueError:
        raise InvalidInput(f"state: {where}.frozenAt is not an RFC 3339 instant: {frozen[:40]!r}") from None
    if not in_range(moment):
        raise InvalidInput(f"state: {where}.frozenAt must be an instant within {RANGE_TEXT}")
    return EntityClock(frozen_at=moment, offset=shift)


_LONGEST_OFFSET = int((LATEST - EARLIEST).total_seconds())


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
