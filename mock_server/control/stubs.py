"""Stubs: per-entity canned answers in WireMock's vocabulary, matched by the pipeline before the handler.

A definition (``POST /__admin/entities/{entityId}/stubs``)::

    {"request": {"method": "GET", "urlPath": "/api/sales/quotes/<id>"}      # or urlPathPattern + operationId
                 ... optional "queryParameters", "bodyPatterns", "operationId" (see patterns.py),
     "response": {"status": 200, "jsonBody": {...}, "headers": {...}, "fixedDelayMilliseconds": 0},
     "priority": 5, "times": 3, "allowInvalid": false}

Lower ``priority`` wins (1 is first, default 5); among equals the newest stub wins. With ``times``
the stub answers that many requests, then requests fall through to the next stub or the handler.
A stub changes no state. Checking the response against the spec needs the spec, so it is done by
the admin handler that creates the stub (``check`` here receives the operation's validator result).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mock_server.control.patterns import Observed, RequestPattern, bad, parse_pattern

MAX_DELAY_MS = 60_000
MAX_STUBS_PER_ENTITY = 1000
MAX_HEADERS = 50
STUB_FIELDS = {"id", "request", "response", "priority", "times", "allowInvalid", "remaining"}
RESPONSE_FIELDS = {"status", "jsonBody", "headers", "fixedDelayMilliseconds"}
REQUEST_FIELDS = {"method", "urlPath", "urlPathPattern", "operationId", "queryParameters", "bodyPatterns"}
RESERVED_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding", "connection"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
STUB_HEADER = "x-mock-stub"


@dataclass
class Stub:
    """One parsed stub. ``remaining`` is None for "always"; ``definition`` is its JSON form (without id)."""

    id: str
    pattern: RequestPattern
    status: int
    json_body: Any
    has_body: bool
    headers: dict[str, str]
    delay_ms: int
    priority: int
    remaining: int | None
    allow_invalid: bool
    definition: dict[str, Any]
    order: int = 0

    def to_json(self) -> dict[str, Any]:
        """The stub as the admin API shows it (its definition, id and how many answers are left)."""
        return {"id": self.id, **self.definition, "remaining": self.remaining}


def parse_stub(raw: Any, where: str = "stub") -> Stub:
    """A :class:`Stub` from its definition; 400 naming the first problem. Does not check the spec."""
    if not isinstance(raw, dict):
        raise bad(where, "must be a JSON object")
    extra = sorted(set(raw) - STUB_FIELDS)
    if extra:
        raise bad(extra[0], "is not an allowed field")
    if "request" not in raw or "response" not in raw:
        raise bad("request" if "request" not in raw else "response", "is required")
    pattern = parse_pattern(raw["request"], "request", REQUEST_FIELDS)
    if pattern.method is None:
        raise bad("request.method", "is required")
    if pattern.url_path is None and pattern.url_regex is None:
        raise bad("request", "give urlPath or urlPathPattern")
    response = raw["response"]
    if not isinstance(response, dict):
        raise bad("response", "must be a JSON object")
    extra = sorted(set(response) - RESPONSE_FIELDS)
    if extra:
        raise bad(f"response.{extra[0]}", "is not an allowed field")
    status = _int(response, "status", "response.status", 100, 599, None)
    if status is None:
        raise bad("response.status", "is required")
    has_body = "jsonBody" in response
    if has_body and status in (204, 304):
        raise bad("response.jsonBody", f"a {status} answer has no body")
    allow_invalid = raw.get("allowInvalid", False)
    if not isinstance(allow_invalid, bool):
        raise bad("allowInvalid", "must be a boolean")
    times = _int(raw, "times", "times", 1, 1_000_000, None)
    remaining = times if raw.get("remaining") is None else _int(raw, "remaining", "remaining", 0, 1_000_000, times)
    stub_id = raw.get("id", str(uuid.uuid4()))
    if not isinstance(stub_id, str) or not 1 <= len(stub_id) <= 100:
        raise bad("id", "must be a string of 1..100 characters")
    definition = {k: v for k, v in raw.items() if k not in ("id", "remaining")}
    return Stub(
        id=stub_id,
        pattern=pattern,
        status=status,
        json_body=response.get("jsonBody"),
        has_body=has_body,
        headers=_headers(response["headers"]) if "headers" in response else {},
        delay_ms=_int(response, "fixedDelayMilliseconds", "response.fixedDelayMilliseconds", 0, MAX_DELAY_MS, 0) or 0,
        priority=_int(raw, "priority", "priority", 1, 1000, 5) or 5,
        remaining=remaining,
        allow_invalid=allow_invalid,
        definition=definition,
    )


def _int(raw: dict[str, Any], name: str, where: str, low: int, high: int, default: int | None) -> int | None:
    if name not in raw:
        return default
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad(where, f"must be an integer in {low}..{high}")
    return value


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or len(raw) > MAX_HEADERS:
        raise bad("response.headers", f"must be an object of at most {MAX_HEADERS} headers")
    found: dict[str, str] = {}
    for name, value in raw.items():
        where = f"response.headers.{name}"
        if _TOKEN.fullmatch(name) is None:
            raise bad(where, "is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise bad(where, "is set by the mock and cannot be stubbed")
        if not isinstance(value, str) or len(value) > 4096 or not all(" " <= c <= "~" or c == "\t" for c in value):
            raise bad(where, "must be a string of printable ASCII characters (at most 4096)")
        found[name] = value
    return found


@dataclass
class StubBook:
    """Every entity's stubs, each list in matching order (priority, then newest first)."""

    by_entity: dict[str, list[Stub]] = field(default_factory=dict)
    startup: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """The stubs the server started with (``--stubs DIR``), as a ``stubs`` section: what :meth:`reset` restores."""
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def add(self, entity_id: str, stub: Stub) -> Stub:
        """Add a stub (400 when the entity already has the most stubs allowed or the id is taken)."""
        stubs = self.by_entity.setdefault(entity_id, [])
        if len(stubs) >= MAX_STUBS_PER_ENTITY:
            raise bad("stub", f"an entity has at most {MAX_STUBS_PER_ENTITY} stubs")
        if any(s.id == stub.id for s in stubs):
            raise bad("id", f"stub {stub.id} already exists")
        stub.order = next(self._counter)
        stubs.append(stub)
        stubs.sort(key=lambda s: (s.priority, -s.order))
        return stub

    def of(self, entity_id: str) -> list[Stub]:
        return list(self.by_entity.get(entity_id, []))

    def remove(self, entity_id: str, stub_id: str) -> bool:
        """Remove one stub; False when the entity has no such stub."""
        stubs = self.by_entity.get(entity_id, [])
        kept = [s for s in stubs if s.id != stub_id]
        if len(kept) == len(stubs):
            return False
        self.by_entity[entity_id] = kept
        return True

    def forget_entity(self, entity_id: str) -> None:
        """Remove every stub of an entity."""
        self.by_entity.pop(entity_id, None)

    def clear(self) -> None:
        self.by_entity.clear()

    def answer(self, entity_id: str, observed: Observed) -> Stub | None:
        """The stub that answers ``observed`` (counting one use), or None."""
        for stub in self.by_entity.get(entity_id, ()):
            if stub.remaining == 0 or not stub.pattern.matches(observed):
                continue
            if stub.remaining is not None:
                stub.remaining -= 1
            return stub
        return None

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """The ``stubs`` section of a state document: entity id -> stub definitions, in matching order."""
        return {entity: [s.to_json() for s in stubs] for entity, stubs in self.by_entity.items() if stubs}

    @staticmethod
    def parse_section(raw: Any) -> dict[str, list[Stub]]:
        """A state document's ``stubs`` section, parsed (None: no stubs); 400 naming the first problem."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise bad("state.stubs", "must be an object of entity id -> stubs")
        parsed: dict[str, list[Stub]] = {}
        for entity_id, items in raw.items():
            if not isinstance(items, list) or len(items) > MAX_STUBS_PER_ENTITY:
                raise bad(f"state.stubs.{entity_id}", f"must be an array of at most {MAX_STUBS_PER_ENTITY} stubs")
            parsed[entity_id] = [parse_stub(item, f"state.stubs.{entity_id}[{i}]") for i, item in enumerate(items)]
            ids = [s.id for s in parsed[entity_id]]
            if len(set(ids)) != len(ids):
                raise bad(f"state.stubs.{entity_id}", "holds two stubs with the same id")
        return parsed

    def prepare(self, raw: Any) -> Callable[[], None]:
        """Check a state document's ``stubs`` section (400 naming the problem); the returned function
        replaces every stub by it (so a caller can check everything before it changes anything)."""
        parsed = self.parse_section(raw)
        return lambda: self.replace(parsed)

    def replace(self, parsed: dict[str, list[Stub]]) -> None:
        """Replace every stub by ``parsed`` (from :meth:`parse_section`)."""
        self.clear()
        self.merge(parsed)

    def merge(self, parsed: dict[str, list[Stub]]) -> None:
        """Add ``parsed`` (from :meth:`parse_section`); each stub replaces its entity's stub of the same id."""
        for entity_id, stubs in parsed.items():
            ids = {stub.id for stub in stubs}
            self.by_entity[entity_id] = [s for s in self.by_entity.get(entity_id, []) if s.id not in ids]
            for stub in reversed(stubs):  # the dump is newest first within a priority
                self.add(entity_id, stub)

    def reset(self) -> None:
        """Back to the stubs the server started with (:attr:`startup`; none without ``--stubs``)."""
        self.replace(self.parse_section(self.startup))
