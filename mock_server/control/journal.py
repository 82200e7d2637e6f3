"""The request journal: a bounded ring buffer of the last Sales API requests, newest first.

The request pipeline (``mock_server.pipeline``) records one :class:`JournalEntry` per request as
its last step, from the request context it built. Requests to the admin API are not journaled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True)
class JournalEntry:
    """One journaled request. ``duration_ms`` is wall time in milliseconds, rounded to 0.1 ms."""

    time: str
    method: str
    path: str
    operation_id: str | None
    entity_id: str | None
    status: int
    duration_ms: float
    request_valid: bool | None
    response_valid: bool | None

    def to_json(self) -> dict[str, Any]:
        """The entry in its API shape (camelCase)."""
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "operationId": self.operation_id,
            "entityId": self.entity_id,
            "status": self.status,
            "durationMs": self.duration_ms,
            "requestValid": self.request_valid,
            "responseValid": self.response_valid,
        }


class Journal:
    """A ring buffer of :class:`JournalEntry`; the oldest entry falls out when full."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("journal capacity must be at least 1")
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)

    def record(self, entry: JournalEntry) -> None:
        """Append one entry."""
        self._entries.append(entry)

    def entries(self, entity_id: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Newest first, optionally only one entity's, at most ``limit`` of them."""
        found: list[JournalEntry] = []
        for entry in reversed(self._entries):
            if entity_id is not None and entry.entity_id != entity_id:
                continue
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
        return found

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_SECOND: list[Any] = [None, ""]


def now_text() -> str:
    """The wall-clock time as RFC 3339 UTC with milliseconds (a journal entry's ``time``). Every
    request is journaled: the text up to the second is built once per second."""
    moment = datetime.now(UTC)
    whole = moment.replace(microsecond=0)
    if whole != _SECOND[0]:
        _SECOND[0], _SECOND[1] = whole, whole.isoformat().replace("+00:00", "")
    return f"{_SECOND[1]}.{moment.microsecond // 1000:03d}Z"
