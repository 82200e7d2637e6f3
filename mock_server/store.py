"""Per-entity in-memory state, its indexes, API keys, sessions, and lossless snapshot/restore.

Resources are stored in their API shape (camelCase keys), keyed by id in insertion (= creation)
order, in ``packed.Collection``s: a dict while a request uses one, packed JSON text otherwise. How
they are packed is the entity's own business: callers read and change resources through
``EntityState`` (``read_json``, ``get``/``read``, ``edit``, ``scan``), never a collection.
Listing, filtering and paging go through ``StatusIndex`` so they never scan every object.
Snapshots are plain JSON (``mock_server.snapshot``), validated fully before they replace anything;
every index is rebuilt from the resources.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
from bisect import bisect_left, insort
from collections.abc import Iterator, Sized
from dataclasses import dataclass, field
from typing import Any

from mock_server.billing_index import BillingIndex
from mock_server.clock import EntityClock
from mock_server.dashboard_index import TRACKED as TRACKED  # re-exported: the kinds recorded per id
from mock_server.dashboard_index import DashboardIndex
from mock_server.packed import DEFAULT_LIVE_LIMIT, Collection, Packed
from mock_server.packed import Resource as Resource  # re-exported: the services' name for a resource

READ_SCOPE = "read:sales"
WRITE_SCOPE = "write:sales"
SCOPES = frozenset({READ_SCOPE, WRITE_SCOPE})

KINDS = ("customers", "quotes", "orders", "plans", "subscriptions", "invoices")
"""The resource collections of an entity, in snapshot order."""

STATUS_INDEXED = ("quotes", "orders", "subscriptions", "invoices")
"""Collections whose resources carry a ``status`` and get a ``StatusIndex``."""

NUMBER_PREFIX = {"quotes": "Q", "orders": "SO", "invoices": "INV"}
"""Per-entity human numbers: ``Q-000001``, ``SO-000001``, ``INV-000001``."""

SNAPSHOT_VERSION = 1


class Revision:
    """A count of recorded changes (``EntityState.touch``, ``EntityState.record_change`` and the
    ``Store`` methods that change entities or credentials), one per ``Store``: its entities share it.
    The state file saver reads it (``Store.revision``) to skip saves when nothing changed; it is a
    hint: the saver still compares what it would write with what it wrote."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


@dataclass
class CatchUpMark:
    """The entity's clock reading and the first (earliest) event of each event heap after the last
    catch-up of time events (``services.timeline``): while they are the same, nothing is due."""

    mark: tuple[object, ...] | None = None


class StatusIndex:
    """Creation-ordered ids per status, for newest-first listing and paging without scans.

    Every id gets a monotonically increasing sequence number at insertion; each status keeps a
    sorted list of sequence numbers, so moving an object to another status keeps creation order.
    """

    def __init__(self) -> None:
        self._next = 0
        self._seq_of: dict[str, int] = {}
        self._ids: list[str | None] = [None]  # sequence number -> id (None: removed)
        self._all: list[int] = []
        self._by_status: dict[str, list[int]] = {}

    def add(self, obj_id: str, status: str) -> None:
        """Index a new object (the newest so far)."""
        self._next += 1
        seq = self._next
        self._seq_of[obj_id] = seq
        self._ids.append(obj_id)
        self._all.append(seq)
        self._by_status.setdefault(status, []).append(seq)

    def move(self, obj_id: str, old: str, new: str) -> None:
        """Record a status change of an indexed object."""
        if old == new:
            return
        seq = self._seq_of[obj_id]
        _remove_sorted(self._by_status[old], seq)
        insort(self._by_status.setdefault(new, []), seq)

    def remove(self, obj_id: str, status: str) -> None:
        """Forget a deleted object."""
        seq = self._seq_of.pop(obj_id)
        self._ids[seq] = None
        _remove_sorted(self._all, seq)
        _remove_sorted(self._by_status[status], seq)

    def count(self, status: str | None = None) -> int:
        """How many objects (with ``status``, or in all)."""
        if status is None:
            return len(self._all)
        return len(self._by_status.get(status, ()))

    def page(self, status: str | None, page: int, page_size: int) -> tuple[list[str], int]:
        """Ids of one page, newest first, and the total; ``page`` counts from 1."""
        seqs = self._all if status is None else self._by_status.get(status, [])
        total = len(seqs)
        end = total - (page - 1) * page_size
        if end <= 0:
            return [], total
        start = max(0, end - page_size)
        newest_first = seqs[start:end]
        newest_first.reverse()
        return list(map(self._ids.__getitem__, newest_first)), total  # type: ignore[arg-type]

    def newest_first(self, status: str | None = None) -> Iterator[str]:
        """Every id (with ``status``), newest first."""
        seqs = self._all if status is None else self._by_status.get(status, [])
        ids = self._ids
        return (ids[s] for s in reversed(seqs))  # type: ignore[misc]


def _remove_sorted(seqs: list[int], seq: int) -> None:
    position = bisect_left(seqs, seq)
    if position < len(seqs) and seqs[position] == seq:
        del seqs[position]


@dataclass
class EntityState:
    """Everything one entity (tenant) owns. Collections are ``id -> resource`` in creation order.

    ``quote_expiry`` is a min-heap of ``(validUntil, quoteId)`` pushed when a quote is sent; stale
    entries are skipped when popped. The typed parts built from the resources:

    - ``billing`` (``BillingIndex``): invoices per subscription and the subscription event heap,
      built on first use (``billing_index``) and by ``rebuild_indexes``; snapshotted as the
      document's ``subscriptionEvents`` and ``extras``;
    - ``dashboard`` (``DashboardIndex``): the dashboard's running totals (``dashboard_totals``);
      never snapshotted;
    - ``caught_up`` (``CatchUpMark``): when time events were last applied; never snapshotted.

    ``changed`` holds, per ``TRACKED`` kind, the ids added, removed or changed since the dashboard
    totals last caught up: ``add``, ``set_status`` and ``remove`` record them, and a service that
    edits a stored resource in place calls ``touch``. Recording starts with ``track_changes`` (the
    totals start from every resource, so loading a large state records nothing).
    ``revision`` is the change count of the store the entity belongs to (its own until then).
    """

    id: str
    name: str
    base_currency: str
    clock: EntityClock
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NUMBER_PREFIX, 0))
    indexes: dict[str, StatusIndex] = field(default_factory=lambda: {k: StatusIndex() for k in STATUS_INDEXED})
    plan_codes: dict[str, str] = field(default_factory=dict)
    quote_expiry: list[tuple[str, str]] = field(default_factory=list)
    billing: BillingIndex = field(default_factory=BillingIndex, repr=False, compare=False)
    dashboard: DashboardIndex = field(default_factory=DashboardIndex, repr=False, compare=False)
    caught_up: CatchUpMark = field(default_factory=CatchUpMark, repr=False, compare=False)
    changed: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in TRACKED}, repr=False, compare=False)
    tracking: bool = field(default=False, repr=False, compare=False)
    revision: Revision = field(default_factory=Revision, repr=False, compare=False)
    _kinds: dict[str, Collection] = field(init=False, repr=False, compare=False)
    _collections: tuple[Collection, ...] = field(init=False, repr=False, compare=False)
    _live: tuple[Sized, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._kinds = {kind: Collection() for kind in KINDS}
        self._collections = tuple(self._kinds.values())
        self._live = tuple(collection.live_resources() for collection in self._collections)

    # reading and changing resources ------------------------------------------------------------
    # A resource dict from ``get``, ``read`` or ``edit`` is valid until the end of the synchronous
    # step that asked for it (``packed``): never kept across an ``await`` or between requests.

    def read_json(self, kind: str, obj_id: str) -> bytes:
        """The resource as the JSON text an answer carries, without unpacking it. KeyError if absent."""
        return self._kinds[kind].json(obj_id)

    def get(self, kind: str, obj_id: str) -> Resource | None:
        """The resource to read (None if absent); changing it needs ``edit`` (or ``touch`` after)."""
        return self._kinds[kind].get(obj_id)

    def read(self, kind: str, obj_id: str) -> Resource:
        """The resource to read; KeyError if absent."""
        return self._kinds[kind][obj_id]

    def edit(self, kind: str, obj_id: str) -> Resource:
        """The resource to change in place, its change recorded (``touch``); KeyError if absent. A
        ``status`` changes only through ``set_status``."""
        resource = self._kinds[kind][obj_id]
        self.touch(kind, obj_id)
        return resource

    def has(self, kind: str, obj_id: str) -> bool:
        """Whether the entity holds resource ``obj_id`` of ``kind``."""
        return obj_id in self._kinds[kind]

    def count(self, kind: str) -> int:
        """How many resources of ``kind`` the entity holds."""
        return len(self._kinds[kind])

    def ids(self, kind: str) -> list[str]:
        """Every id of ``kind``, oldest first."""
        return list(self._kinds[kind])

    def scan(self, kind: str) -> Iterator[Resource]:
        """Every resource of ``kind``, oldest first, for reading only: a scan leaves packed ones packed
        (a resource changed through it is a lost copy)."""
        return self._kinds[kind].peek_values()

    def scan_items(self, kind: str) -> Iterator[tuple[str, Resource]]:
        """``(id, resource)`` of every resource of ``kind``, oldest first, for reading only (``scan``)."""
        return self._kinds[kind].peek_items()

    def peek(self, kind: str, obj_id: str) -> Resource:
        """The resource for reading only, left packed if it was (``scan``). KeyError if absent."""
        return self._kinds[kind].peek(obj_id)

    def packed_items(self, kind: str) -> Iterator[tuple[str, Packed]]:
        """``(id, packed form)`` of every resource of ``kind``, oldest first (the state file's lines)."""
        return self._kinds[kind].packed_items()

    def live_count(self, kind: str) -> int:
        """How many resources of ``kind`` are unpacked now."""
        return self._kinds[kind].live_count

    def touch(self, kind: str, obj_id: str) -> None:
        """Record that the stored resource ``obj_id`` of ``kind`` was added, edited or removed."""
        self.revision.value += 1
        if self.tracking:
            changed = self.changed.get(kind)
            if changed is not None:
                changed.add(obj_id)

    def record_change(self) -> None:
        """Record a change that no ``touch`` records (the clock moved)."""
        self.revision.value += 1

    def billing_index(self) -> BillingIndex:
        """The billing index, built from the resources the first time it is needed."""
        billing = self.billing
        if not billing.built:
            billing.rebuild(self.scan("invoices"), self.scan("subscriptions"))
        return billing

    def dashboard_totals(self) -> DashboardIndex:
        """The dashboard totals (made afresh the first time: they then catch up with every resource)."""
        if not self.tracking:
            self.dashboard = DashboardIndex()
            self.track_changes()
        return self.dashboard

    def rebuild_indexes(self) -> None:
        """Rebuild every part derived from the resources (``snapshot`` calls it for an entity it has
        loaded): the billing index (its heap entries kept), the dashboard totals (from every
        resource on next use) and the catch-up mark."""
        self.billing.rebuild(self.scan("invoices"), self.scan("subscriptions"))
        self.tracking = False
        self.caught_up.mark = None

    def track_changes(self) -> None:
        """Start recording changed ids, with every current resource of the ``TRACKED`` kinds pending."""
        self.tracking = True
        for kind in TRACKED:
            self.changed[kind] = set(self._kinds[kind])

    def settle(self, limit: int = DEFAULT_LIVE_LIMIT) -> None:
        """Pack the resources read by finished requests beyond ``limit`` live per collection
        (``packed.Collection.settle``). Only between requests. Runs after every request: when no
        collection is over ``limit`` (nearly always) it costs one ``max``."""
        if max(map(len, self._live)) > limit:
            for collection in self._collections:
                collection.settle(limit)

    def next_number(self, kind: str) -> str:
        """Take the next human number of ``kind`` (``quotes``, ``orders``, ``invoices``): ``Q-000001``."""
        self.counters[kind] += 1
        return f"{NUMBER_PREFIX[kind]}-{self.counters[kind]:06d}"

    def add(self, kind: str, resource: Resource, *, packed: bool = False, encoded: bytes | None = None) -> Resource:
        """Insert a new resource (the newest of its kind) and index it. ``packed``: store it packed at
        once and let the caller drop ``resource`` (a state import; ``encoded``: its JSON text, kept as
        the packed form)."""
        if packed:
            self._kinds[kind].insert_packed(resource["id"], resource, encoded)
        else:
            self._kinds[kind][resource["id"]] = resource
        if kind in self.indexes:
            self.indexes[kind].add(resource["id"], resource["status"])
        self.touch(kind, resource["id"])
        if kind == "plans":
            self.plan_codes[resource["code"]] = resource["id"]
        if kind == "quotes" and resource["status"] == "sent":
            heapq.heappush(self.quote_expiry, (resource["validUntil"], resource["id"]))
        return resource

    def set_status(self, kind: str, obj_id: str, status: str) -> Resource:
        """Change a resource's ``status`` and keep the indexes right (a sent quote joins the expiry heap)."""
        resource = self._kinds[kind][obj_id]
        old = resource["status"]
        resource["status"] = status
        self.indexes[kind].move(obj_id, old, status)
        self.touch(kind, obj_id)
        if kind == "quotes" and status == "sent" and old != "sent":
            heapq.heappush(self.quote_expiry, (resource["validUntil"], obj_id))
        return resource

    def remove(self, kind: str, obj_id: str) -> Resource:
        """Delete a resource and unindex it (heap entries go stale and are skipped)."""
        resource = self._kinds[kind].pop(obj_id)
        if kind in self.indexes:
            self.indexes[kind].remove(obj_id, resource["status"])
        self.touch(kind, obj_id)
        if kind == "plans":
            self.plan_codes.pop(resource["code"], None)
        return resource

    def page_json(self, kind: str, status: str | None, page: int, page_size: int) -> tuple[list[bytes], int]:
        """One page of ``kind`` newest first (optionally only ``status``) as the resources' JSON
        (``read_json``: read without unpacking), and the true total."""
        ids, total = self.indexes[kind].page(status, page, page_size)
        return self._kinds[kind].json_many(ids), total

    def newest_first_json(self, kind: str, status: str | None = None) -> list[bytes]:
        """Every resource of ``kind`` (optionally only ``status``), newest first, as JSON."""
        collection = self._kinds[kind]
        ids = list(collection)[::-1] if status is None else list(self.indexes[kind].newest_first(status))
        return collection.json_many(ids)


@dataclass(frozen=True)
class ApiKey:
    """An API key: it belongs to one entity and has scopes from ``read:sales``/``write:sales``."""

    key: str
    entity_id: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Session:
    """A browser session (cookie ``axiomatic_session``) of one entity."""

    token: str
    entity_id: str
    scopes: frozenset[str]


def _bytes(secret: str) -> bytes:
    return secret.encode("utf-8", "surrogatepass")


def _digest(secret: str) -> str:
    return hashlib.sha256(_bytes(secret)).hexdigest()


class Store:
    """All entities, API keys and sessions of one mock server. ``live_limit``: how many unpacked
    resources each collection keeps between requests (``packed.Collection.settle``)."""

    def __init__(self, live_limit: int = DEFAULT_LIVE_LIMIT) -> None:
        self.live_limit = live_limit
        self.entities: dict[str, EntityState] = {}
        self._keys: dict[str, ApiKey] = {}
        self._verified: dict[str, ApiKey] = {}
        """Keys presented and confirmed before (every request presents one): emptied whenever a key
        is added or removed."""
        self._sessions: dict[str, Session] = {}
        self._revision = Revision()

    @property
    def revision(self) -> int:
        """How many changes were recorded in this store (see ``Revision``)."""
        return self._revision.value

    def record_change(self) -> None:
        """Record a change of the store itself (an entity or credential added or removed, the state
        replaced as a whole); its entities' changes count in through ``touch``."""
        self._revision.value += 1

    # entities ---------------------------------------------------------------------------------

    def add_entity(self, entity: EntityState) -> EntityState:
        """Register a new entity; its id must be new."""
        if entity.id in self.entities:
            raise ValueError(f"entity {entity.id} already exists")
        self.record_change()
        entity.revision = self._revision
        self.entities[entity.id] = entity
        return entity

    def get_entity(self, entity_id: str) -> EntityState | None:
        return self.entities.get(entity_id)

    def remove_entity(self, entity_id: str) -> EntityState | None:
        """Delete an entity with its keys and sessions; None if there was none."""
        entity = self.entities.pop(entity_id, None)
        self.record_change()
        if entity is not None:
            self._keys = {d: k for d, k in self._keys.items() if k.entity_id != entity_id}
            self._verified = {}
            self._sessions = {d: s for d, s in self._sessions.items() if s.entity_id != entity_id}
        return entity

    # credentials ------------------------------------------------------------------------------

    def add_api_key(self, key: str, entity_id: str, scopes: frozenset[str] | set[str]) -> ApiKey:
        """Register an API key (the entity must exist, scopes must be known)."""
        _check_credential(key, entity_id, scopes, self.entities)
        self.record_change()
        api_key = ApiKey(key=key, entity_id=entity_id, scopes=frozenset(scopes))
        self._keys[_digest(key)] = api_key
        self._verified = {}
        return api_key

    def find_api_key(self, presented: str) -> ApiKey | None:
        """The key equal to ``presented``, found by hash and confirmed in constant time. A key
        confirmed once is found again by a dict lookup (Python's string hash is keyed per process,
        so a miss tells a caller nothing about the keys)."""
        verified = self._verified.get(presented)
        if verified is not None:
            return verified
        candidate = self._keys.get(_digest(presented))
        if candidate is None or not hmac.compare_digest(_bytes(candidate.key), _bytes(presented)):
            return None
        self._verified[presented] = candidate
        return candidate

    def api_keys(self, entity_id: str | None = None) -> list[ApiKey]:
        """Every key (of one entity), in creation order."""
        return [k for k in self._keys.values() if entity_id is None or k.entity_id == entity_id]

    def add_session(self, token: str, entity_id: str, scopes: frozenset[str] | set[str]) -> Session:
        """Register a browser session token."""
        _check_credential(token, entity_id, scopes, self.entities)
        self.record_change()
        session = Session(token=token, entity_id=entity_id, scopes=frozenset(scopes))
        self._sessions[_digest(token)] = session
        return session

    def find_session(self, presented: str) -> Session | None:
        """The session of token ``presented``, found by hash and confirmed in constant time."""
        candidate = self._sessions.get(_digest(presented))
        if candidate is None or not hmac.compare_digest(_bytes(candidate.token), _bytes(presented)):
            return None
        return candidate

    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    def replace_with(self, fresh: Store) -> None:
        """Take over every entity, key and session of ``fresh`` (a store loaded from a state document,
        see ``mock_server.snapshot.restore``, which rebuilt their indexes); they count their changes
        in this store's ``revision`` from now on."""
        for entity in fresh.entities.values():
            entity.billing_index()  # built already when ``fresh`` was loaded from a document
            entity.revision = self._revision
        self.entities, self._keys, self._sessions = fresh.entities, fresh._keys, fresh._sessions
        self._verified = {}
        self.record_change()


def _check_credential(secret: str, entity_id: str, scopes: frozenset[str] | set[str], entities: dict[str, Any]) -> None:
    if not secret:
        raise ValueError("a credential must not be empty")
    if entity_id not in entities:
        raise ValueError(f"unknown entity {entity_id}")
    unknown = set(scopes) - SCOPES
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
