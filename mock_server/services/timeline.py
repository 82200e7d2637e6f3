"""Lazy, exact application of time-driven events for one entity."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mock_server.services.quotes import expire_quotes
from mock_server.services.subscriptions import apply_subscription_events

if TYPE_CHECKING:
    from mock_server.store import EntityState


def apply_due_events(entity: EntityState, now: datetime) -> None:
    """Apply every event due up to ``now``. Quote expiry and subscription events never
    affect one another, so each stream is applied in its own time order.

    Runs before every request. When ``now`` and the first event of both heaps are what they were
    after the last catch-up (``entity.caught_up``), nothing is due (that first event is the earliest, and it was not due
    at ``now``; an event pushed since, due or not, would be first or behind one that is not due), so
    the call costs one comparison."""
    caught_up = entity.caught_up
    if caught_up.mark == _mark(entity, now):
        return
    expire_quotes(entity, now)
    apply_subscription_events(entity, now)
    caught_up.mark = _mark(entity, now)


def _mark(entity: EntityState, now: datetime) -> tuple[object, ...]:
    quotes, subscriptions = entity.quote_expiry, entity.billing.events
    return (now, quotes[0] if quotes else None, subscriptions[0] if subscriptions else None)
