"""The request journal: a bounded ring buffer of the last Sales API requests, newest first.

The request pipeline (``mock_server.pipeline``) records one :class:`JournalEntry` per request as
its last step, from the request context it built. Requests to the admin API are not journaled.

An entry keeps the request's and the answer's headers and bodies for verification
(``POST /__admin/requests/find``): bodies are cut at :data:`MAX_BODY` bytes and request headers
at :data:`MAX_HEADERS` characters (each with a flag), so an entry is bounded whatever was sent, and
credentials (``Authorization``, ``Cookie``, ``Set-Cookie``, the admin token) are redacted. To keep
the hot path cheap, an entry holds references to what the pipeline already has (the header dict,
the body bytes, the response header list) and decodes, redacts and cuts them only when read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mock_server.control.patterns import Observed

DEFAULT_CAPACITY = 1000
MAX_BODY = 64 * 1024
MAX_HEADERS = 64 * 1024
"""What an entry keeps of the request's header names and values, in characters."""
REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-admin-token", "proxy-authorization"})


@dataclass(slots=True)
class JournalEntry:
    """One journaled request. ``time``: when it arrived, as RFC 3339 text or as seconds since the
    epoch (the pipeline's, written as text when the entry is read); ``duration_ms`` is wall time in
    milliseconds, rounded to 0.1 ms."""

    time: str | float
    method: str
    path: str
    operation_id: str | None
    entity_id: str | None
    status: int
    duration_ms: float
    request_valid: bool | None
    response_valid: bool | None
    query: bytes = b""
    request_headers: dict[str, str] | None = None
    request_body: bytes = b""
    response_headers: list[tuple[bytes, bytes]] | None = None
    response_body: bytes | None = None
    stub_id: str | None = None
    id: int = field(default=0, compare=False)

    def observed(self) -> Observed:
        """The request as a pattern sees it."""
        return Observed(self.method, self.path, self.query, self.operation_id, self.entity_id, self.request_body)

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """The entry in its API shape (camelCase); ``full`` adds headers and bodies."""
        summary = {
            "id": self.id,
            "time": self.time if isinstance(self.time, str) else wall_text(self.time),
            "method": self.method,
            "path": self.path,
            "operationId": self.operation_id,
            "entityId": self.entity_id,
            "status": self.status,
            "durationMs": self.duration_ms,
            "requestValid": self.request_valid,
            "responseValid": self.response_valid,
            "query": self.query.decode("latin-1"),
            "stubId": self.stub_id,
        }
        if full:
            response_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.response_headers or ()}
            if self.response_body is not None:  # added when sent (pipeline._send)
                response_headers.setdefault("content-type", "application/json")
            summary["request"] = _message(self.request_headers or {}, self.request_body)
            summary["response"] = _message(response_headers, self.response_body or b"")
        return summary


def _message(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    shown = {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}
    return {
        "headers": shown,
        "headersTruncated": type(headers) is _CutHeaders,
        "body": body[:MAX_BODY].decode("utf-8", "replace"),
        "bodyTruncated": len(body) > MAX_BODY,
    }


class _CutHeaders(dict[str, str]):
    """Request headers an entry kept only in part (see :func:`bounded_headers`)."""


def bounded_headers(headers: dict[str, str]) -> dict[str, str]:
    """What an entry keeps of the request headers: the dict itself (no copy) when its names and values
    come to at most :data:`MAX_HEADERS` characters, else the first ones up to that many, the last cut."""
    if sum(map(len, headers.values())) + sum(map(len, headers)) <= MAX_HEADERS:
        return headers
    kept = _CutHeaders()
    room = MAX_HEADERS
    for name, value in headers.items():
        if room <= 0:
            break
        name = name[:room]
        kept[name] = value[: max(room - len(name), 0)]
        room -= len(name) + len(kept[name])
    return kept


def bounded(body: bytes) -> bytes:
    """What an entry keeps of a body: all of it up to :data:`MAX_BODY` bytes and one more (so the flag
    shows it was cut), without a copy when it is small enough."""
    return body if len(body) <= MAX_BODY else body[: MAX_BODY + 1]


class Journal:
    """A ring buffer of :class:`JournalEntry`; the oldest entry falls out when full."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("journal capacity must be at least 1")
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._next_id = 1

    def record(self, entry: JournalEntry) -> None:
        """Append one entry, numbering it."""
        entry.id = self._next_id
        self._next_id += 1
        self._entries.append(entry)

    def get(self, entry_id: int) -> JournalEntry | None:
        """The entry with this id, if still kept."""
        for entry in reversed(self._entries):
            if entry.id == entry_id:
                return entry
        return None

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


def wall_text(seconds: float) -> str:
    """``seconds`` since the epoch as RFC 3339 UTC with milliseconds (a journal entry's ``time``).
    Entries come in bursts: the text up to the second is built once per second."""
    whole = int(seconds)
    if whole != _SECOND[0]:
        _SECOND[0], _SECOND[1] = whole, datetime.fromtimestamp(whole, UTC).isoformat().replace("+00:00", "")
    return f"{_SECOND[1]}.{int((seconds - whole) * 1000):03d}Z"
