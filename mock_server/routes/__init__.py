"""Thin handlers per resource, registered by ``operationId``.

Each resource module exports ``HANDLERS: dict[str, Handler]``; this registry merges them. At start-up
``app.check_handlers`` refuses to run unless they match the spec's operations exactly.
"""

from __future__ import annotations

from mock_server.routes import customers, dashboard, orders, plans, quotes, subscriptions
from mock_server.routes.types import Handler


def _merge(*tables: dict[str, Handler]) -> dict[str, Handler]:
    merged: dict[str, Handler] = {}
    for table in tables:
        clash = set(merged) & set(table)
        if clash:
            raise RuntimeError(f"operationIds registered twice: {', '.join(sorted(clash))}")
        merged.update(table)
    return merged


HANDLERS: dict[str, Handler] = _merge(
    dashboard.HANDLERS,
    customers.HANDLERS,
    quotes.HANDLERS,
    orders.HANDLERS,
    plans.HANDLERS,
    subscriptions.HANDLERS,
)
"""Every Sales API handler by operationId."""
