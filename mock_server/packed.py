"""Resources at rest in a compact form, and the collection that keeps them so.

A stored resource is a JSON object. As Python dicts resources are large: a subscription's 23 keys
cost 832 bytes of hash table before any value, a quote with three lines about 1,850 bytes in all,
with every id a separate 85-byte string. A ``Collection`` keeps the resources that no request is
using *packed*: as their compact JSON text (``orjson``, keys in the same order), about half the
memory, one untracked object for the garbage collector instead of dozens, and already in the form
the state file and the start-up copy are written in. Packing a quote takes about a microsecond,
unpacking it a few. A resource that orjson cannot encode (an integer beyond 64 bits) stays a dict.
Resources hold no NaN or infinite numbers (which orjson would write as null): every input refuses
them (request and admin bodies, fixture files, state files).

A pure read answers with the packed text as it is (``Collection.json``). Reading a resource
(``collection[id]``, ``get``) unpacks it into a dict that stays *live*: callers
read it and change it in place exactly as before. The live dicts of a collection are packed again
when a request has finished (``Collection.settle``, called by the request pipeline and the admin
API), oldest first, once more than ``limit`` are live; so a working set of a few thousand resources
stays unpacked and costs nothing per request.

Only ``store.EntityState`` holds collections; everything else reads and changes resources through
it (``read_json``, ``get``, ``edit``, ``scan``). The one rule this adds: a resource dict is valid
until the end of the synchronous step that read it. Code must not keep one across an ``await`` or
from one request to the next (read it again by id instead). Every handler runs synchronously, so
none does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping, Sized
from itertools import islice
from typing import Any, cast

import orjson

Resource = dict[str, Any]
"""One stored resource in its API shape."""
Packed = bytes | Resource
"""A packed resource: its JSON text, or the dict itself when orjson cannot encode it."""

DEFAULT_LIVE_LIMIT = 4096
"""Live (unpacked) resources a collection keeps after a request before it packs the oldest."""


def pack(resource: Resource) -> Packed:
    """The packed form of ``resource`` (``unpack`` gives an equal dict, keys in the same order)."""
    try:
        encoded = orjson.dumps(resource)
    except TypeError:  # an integer beyond 64 bits, text that is not UTF-8: kept as it is
        return resource
    # a copy of exactly its size: orjson's bytes keep the whole (8 KiB or more) buffer they were written in
    return bytes(memoryview(encoded))


def encode(value: Any) -> tuple[bytes, bool]:
    """``value`` as compact JSON, and whether the standard library wrote it. orjson writes nearly
    everything; it refuses integers beyond 64 bits (and would read them back as floats), which the
    standard library writes (ASCII, never NaN): a reader of such text must use the standard library."""
    try:
        return orjson.dumps(value), False
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii"), True


def to_json(value: Any) -> bytes:
    """``value`` as compact JSON (``encode``): a resource, or any answer the server sends."""
    return encode(value)[0]


def unpack(packed: Packed) -> Resource:
    """The resource ``packed`` stands for (a new dict, unless it was kept as a dict)."""
    if type(packed) is bytes:
        resource: Resource = orjson.loads(packed)
        return resource
    assert isinstance(packed, dict)
    return packed


class Collection(MutableMapping[str, Resource]):
    """``id -> resource`` in insertion (creation) order, keeping resources not in use packed.

    ``_packed`` holds every id in order; its value is the packed resource, or None while the resource
    is live (its dict is then in ``_live``, the only current copy)."""

    __slots__ = ("_live", "_packed")

    def __init__(self) -> None:
        self._packed: dict[str, Packed | None] = {}
        self._live: dict[str, Resource] = {}

    def __getitem__(self, key: str) -> Resource:
        live = self._live.get(key)
        if live is not None:
            return live
        packed = self._packed[key]  # KeyError for an unknown id
        assert packed is not None
        resource: Resource = unpack(packed)
        self._live[key] = resource
        self._packed[key] = None
        return resource

    def get(self, key: str, default: Resource | None = None) -> Resource | None:  # type: ignore[override]
        live = self._live.get(key)
        if live is not None:
            return live
        if key not in self._packed:
            return default
        return self[key]

    def __setitem__(self, key: str, resource: Resource) -> None:
        self._packed[key] = None
        self._live[key] = resource

    def __delitem__(self, key: str) -> None:
        del self._packed[key]
        self._live.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._packed

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)

    def __repr__(self) -> str:
        return f"Collection({len(self._packed)} resources, {len(self._live)} live)"

    def peek(self, key: str) -> Resource:
        """The resource ``key`` for reading only: the live dict, or a fresh unpacked copy that is not
        kept (changes to it are lost). KeyError for an unknown id."""
        live = self._live.get(key)
        if live is not None:
            return live
        packed = self._packed[key]
        assert packed is not None
        found: Resource = unpack(packed)
        return found

    def json(self, key: str) -> bytes:
        """The resource ``key`` as the JSON an answer carries, without unpacking it: a packed resource
        is its text already. KeyError for an unknown id."""
        packed = self._packed[key]
        if type(packed) is bytes:
            return packed
        return to_json(self._live[key] if packed is None else packed)

    def json_many(self, keys: list[str]) -> list[bytes]:
        """``json`` of each of ``keys``, in order (a page of a list). KeyError for an unknown id."""
        texts = list(map(self._packed.__getitem__, keys))
        if set(map(type, texts)) - {bytes}:  # some are live, or kept as dicts
            for position, text in enumerate(texts):
                if type(text) is not bytes:
                    texts[position] = self.json(keys[position])
        return cast(list[bytes], texts)

    def peek_items(self) -> Iterator[tuple[str, Resource]]:
        """Every ``(id, resource)`` in order, for reading only (see ``peek``): a scan of a large
        collection does not make every resource live."""
        live = self._live
        for key, packed in self._packed.items():
            yield key, (live[key] if packed is None else unpack(packed))

    def peek_values(self) -> Iterator[Resource]:
        """Every resource in order, for reading only (see ``peek``)."""
        return (resource for _key, resource in self.peek_items())

    def live_resources(self) -> Sized:
        """The live resources (a view that follows the collection): ``len`` of it is ``live_count``."""
        return self._live.keys()

    @property
    def live_count(self) -> int:
        """How many resources are unpacked."""
        return len(self._live)

    def settle(self, limit: int = DEFAULT_LIVE_LIMIT) -> int:
        """Pack the oldest live resources until at most ``limit`` are live; how many were packed.
        Call only between requests: a caller still holding one of them would change a lost copy."""
        live = self._live
        excess = len(live) - limit
        if excess <= 0:
            return 0
        packed = self._packed
        for key in list(islice(live, excess)):
            packed[key] = pack(live.pop(key))
        return excess

    def insert_packed(self, key: str, resource: Resource, encoded: bytes | None = None) -> None:
        """Add ``resource`` (a new id) straight in packed form (a state import); ``encoded``: its JSON
        text when the caller has it (``orjson.dumps(resource)``: the same bytes)."""
        self._packed[key] = pack(resource) if encoded is None else encoded

    def packed_items(self) -> Iterator[tuple[str, Packed]]:
        """Every ``(id, packed resource)`` in order, packing live ones on the fly (they stay live)."""
        live = self._live
        for key, packed in self._packed.items():
            yield key, (pack(live[key]) if packed is None else packed)
