"""Adapters to the fixtures loader and the billing services used by the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from mock_server.clock import EntityClock
from mock_server.domain.errors import Conflict, NotFound
from mock_server.runtime import Runtime
from mock_server.store import EntityState


def seed(runtime: Runtime, *, name: str, base_currency: str, fixtures: str, clock: datetime | None) -> EntityState:
    """A new entity with the named fixtures; its clock frozen at ``clock``, else following ``--clock``."""
    entity_clock = (
        EntityClock(frozen_at=clock.replace(microsecond=0)) if clock else EntityClock.from_mode(runtime.config.clock)
    )
    entity = EntityState(id=str(uuid.uuid4()), name=name, base_currency=base_currency, clock=entity_clock)
    return runtime.store.add_entity(entity)


def pay(entity: EntityState, invoice_id: str, now: datetime) -> dict[str, Any]:
    """Mark an open invoice paid."""
    invoice = entity.invoices.get(invoice_id)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}")
    if invoice["status"] != "open":
        raise Conflict(f"invoice {invoice['number']} is {invoice['status']}, not open")
    entity.set_status("invoices", invoice_id, "paid")
    return invoice
