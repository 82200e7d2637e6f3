"""The dashboard use case: every figure of the entity as of its clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mock_server.domain.metrics import DashboardInput, dashboard
from mock_server.store import EntityState


def get_dashboard(entity: EntityState, now: datetime) -> dict[str, Any]:
    """``GET /dashboard`` at ``now`` (the entity's clock, after due events), from the entity's
    running totals (``entity.dashboard``): no scan of the collections."""
    return entity.dashboard_totals().figures(entity, now)


def compute_dashboard(entity: EntityState, now: datetime) -> dict[str, Any]:
    """The same figures computed from scratch by the reference definitions (``domain.metrics``):
    one pass over every collection. For tests and cross-checks."""
    data = DashboardInput(
        now=now,
        customers=entity.scan("customers"),
        quotes=entity.scan("quotes"),
        orders=entity.scan("orders"),
        subscriptions=entity.scan("subscriptions"),
        invoices=entity.scan("invoices"),
    )
    return dashboard(data)
