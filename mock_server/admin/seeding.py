"""Adapter to the billing service that pays an invoice (used by the admin API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mock_server.domain.errors import Conflict, NotFound
from mock_server.store import EntityState


def pay(entity: EntityState, invoice_id: str, now: datetime) -> dict[str, Any]:
    """Mark an open invoice paid."""
    invoice = entity.invoices.get(invoice_id)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}")
    if invoice["status"] != "open":
        raise Conflict(f"invoice {invoice['number']} is {invoice['status']}, not open")
    entity.set_status("invoices", invoice_id, "paid")
    return invoice
