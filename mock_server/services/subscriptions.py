"""Subscription use cases. PLACEHOLDER created by the core helper so that services/timeline.py
imports; the billing helper owns this file and replaces it entirely."""

from __future__ import annotations

from datetime import datetime

from mock_server.store import EntityState


def apply_subscription_events(entity: EntityState, now: datetime) -> None:
    """Apply due subscription events (trial end, cancel at period end, overdue, grace expiry). No-op for now."""
    del entity, now
