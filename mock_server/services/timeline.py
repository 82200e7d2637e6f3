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
    affect one another, so each stream is applied in its own time order."""
    expire_quotes(entity, now)
    apply_subscription_events(entity, now)
