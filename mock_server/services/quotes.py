"""Quote use cases: list, create, get, patch, delete, and lazy expiry."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from mock_server.domain.periods import format_instant, parse_date, start_of_day
from mock_server.store import EntityState


def expire_quotes(entity: EntityState, now: datetime) -> None:
    """Apply ``sent -> expired`` to every sent quote whose ``validUntil`` is before ``now``'s date,
    oldest first. ``updatedAt`` is the instant the quote expired: 00:00Z the day after validUntil."""
    today = now.date().isoformat()
    heap = entity.quote_expiry
    while heap and heap[0][0] < today:
        valid_until, quote_id = heapq.heappop(heap)
        quote = entity.quotes.get(quote_id)
        if quote is None or quote["status"] != "sent" or quote["validUntil"] != valid_until:
            continue
        entity.set_status("quotes", quote_id, "expired")
        quote["updatedAt"] = format_instant(start_of_day(parse_date(valid_until) + timedelta(days=1)))
