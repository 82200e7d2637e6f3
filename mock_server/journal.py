"""The request journal: a bounded ring buffer of the last requests, newest first.

The :class:`JournalMiddleware` wraps the whole app. It times each request, captures the status
and reads a :class:`RequestNote` that the dispatcher (and the other middlewares) fill in while
the request runs: operationId, entityId and whether request and response matched the spec.
Requests to the admin API (``/__admin``) are not journaled.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOTE_KEY = "sales_mock.note"
DEFAULT_CAPACITY = 1000


@dataclass
class RequestNote:
    """What the layers below learn about a request; ``None`` means "not known"."""

    operation_id: str | None = None
    entity_id: str | None = None
    request_valid: bool | None = None
    response_valid: bool | None = None


def note_for(scope: Scope) -> RequestNote:
    """The request's note, created on first use and kept in ``scope["state"]``."""
    state = scope.setdefault("state", {})
    note = state.get(NOTE_KEY)
    if not isinstance(note, RequestNote):
        note = RequestNote()
        state[NOTE_KEY] = note
    return note


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


def _entity_from_query(scope: Scope) -> str | None:
    raw = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(raw).get("entityId")
    return values[0] if values else None


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JournalMiddleware:
    """ASGI middleware that records every non-admin HTTP request in a :class:`Journal`.

    ``resolve(method, path)`` names the spec operation of a request when the dispatcher does not.
    A dropped connection (a fault) is journaled with status 0.
    """

    def __init__(
        self,
        app: ASGIApp,
        journal: Journal,
        resolve: Callable[[str, str], str | None] | None = None,
        admin_prefix: str = "/__admin",
    ) -> None:
        self.app = app
        self.journal = journal
        self.resolve = resolve
        self.admin_prefix = admin_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path == self.admin_prefix or path.startswith(self.admin_prefix + "/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        when = _now_text()
        note = note_for(scope)
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, note, status, when, started)

    def _record(self, scope: Scope, note: RequestNote, status: int, when: str, started: float) -> None:
        method = str(scope.get("method", "GET"))
        path = str(scope.get("path", ""))
        operation_id = note.operation_id
        if operation_id is None and self.resolve is not None:
            operation_id = self.resolve(method, path)
        entry = JournalEntry(
            time=when,
            method=method,
            path=path,
            operation_id=operation_id,
            entity_id=note.entity_id or _entity_from_query(scope),
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            request_valid=note.request_valid,
            response_valid=note.response_valid,
        )
        self.journal.record(entry)
