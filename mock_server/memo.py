"""What request validation remembers: one ``Memo`` per compiled spec, holding bounded tables.

Every Sales API request validates the same few things again: its query string's pairs, each
parameter's raw value (an entity id, a page size, a resource id), and for each operation the
query as a whole. A table remembers, per key, what validation gave for an input that passed; it
holds at most ``limit`` entries and starts over when full (so a flood of distinct inputs costs
memory once, never more). Only what cannot change the answer is remembered: an input that failed
is never kept, so every error is found again.

The spec (``mock_server.spec.Spec.memo``) owns its memo: the parameters and operations it compiled
use its tables, and the pipeline keeps the query strings in ``Memo.queries``. Standard library only.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

DEFAULT_LIMIT = 4096
"""Entries a table holds before it starts over."""
QUERY_STRINGS_LIMIT = 1024
"""Query strings whose pairs ``Memo.queries`` holds."""

_MISSING: Any = object()


class MemoTable(dict[Hashable, Any]):
    """One bounded table (a dict: ``get``/``in`` read it as they read any dict). ``lookup`` counts
    hits and misses; ``remember`` keeps a value, emptying the table first when it is full."""

    __slots__ = ("hits", "limit", "misses", "name")

    def __init__(self, name: str, limit: int = DEFAULT_LIMIT) -> None:
        super().__init__()
        self.name = name
        self.limit = limit
        self.hits = 0
        self.misses = 0

    def lookup(self, key: Hashable, default: Any = None) -> Any:
        """The value remembered for ``key``, else ``default``."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            self.misses += 1
            return default
        self.hits += 1
        return value

    def remember(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key``; a full table starts over first."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value


class Memo:
    """Every table of one compiled spec: ``table(name)`` makes one, ``queries`` holds the parsed
    pairs of query strings, ``figures`` reports them all."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._tables: list[MemoTable] = []
        self.queries = self.table("query strings", QUERY_STRINGS_LIMIT)

    def table(self, name: str, limit: int | None = None) -> MemoTable:
        """A new table named ``name`` of at most ``limit`` entries (default: the memo's)."""
        table = MemoTable(name, self.limit if limit is None else limit)
        self._tables.append(table)
        return table

    def figures(self) -> list[tuple[str, int, int, int]]:
        """Per table, in the order they were made: its name, entries held, hits and misses."""
        return [(t.name, len(t), t.hits, t.misses) for t in self._tables]

    def clear(self) -> None:
        """Forget everything (the figures stay)."""
        for table in self._tables:
            table.clear()
