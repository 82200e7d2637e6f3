"""The dashboard use case: every figure of the entity as of its clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mock_server.domain.metrics import DashboardInput, dashboard
from mock_server.store import EntityState


def get_dashboard(entity: EntityState, now: datetime) -> dict[str, Any]:
    """``GET /dashboard`` at ``now`` (the entity's clock, after due events). One pass over each
    collection; see ``domain.metrics`` for the formulas and the rounding."""
    data = DashboardInput(
        now=now,
        customers=entity.customers.values(),
        quotes=entity.quotes.values(),
        orders=entity.orders.values(),
        subscriptions=entity.subscriptions.values(),
        invoices=entity.invoices.values(),
    )
    return dashboard(data)
