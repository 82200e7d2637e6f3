"""Customer use cases. Read-only in the Sales API; created by fixtures and the admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mock_server.domain.errors import FieldProblem, InvalidInput
from mock_server.domain.money import is_supported_currency
from mock_server.services.common import instant, new_id
from mock_server.store import EntityState, Resource


def list_customers(entity: EntityState) -> dict[str, Any]:
    """``{"data": [...]}``, newest first."""
    return {"data": entity.newest_first("customers")}


def create_customer(
    entity: EntityState, body: dict[str, Any], now: datetime, *, customer_id: str | None = None
) -> Resource:
    """A new customer from ``name``, ``currency`` and optional ``email``, ``country``, ``taxRateBps``
    (default 0) and ``creditBalance`` (default 0). 400 for an unsupported currency or a bad value."""
    currency = body.get("currency")
    problems: list[FieldProblem] = []
    if not isinstance(body.get("name"), str) or not body["name"]:
        problems.append(FieldProblem("name", "is required"))
    if not isinstance(currency, str) or not is_supported_currency(currency):
        problems.append(FieldProblem("currency", "is not a supported ISO 4217 currency"))
    for name, top in (("taxRateBps", 10_000), ("creditBalance", 10**12)):
        value = body.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            problems.append(FieldProblem(name, f"must be an integer in 0..{top}"))
    if problems:
        raise InvalidInput("invalid customer", problems)
    customer: Resource = {
        "id": customer_id or new_id(),
        "name": body["name"],
        "email": body.get("email"),
        "currency": currency,
        "country": body.get("country"),
        "taxRateBps": int(body.get("taxRateBps", 0)),
        "creditBalance": int(body.get("creditBalance", 0)),
        "createdAt": str(body.get("createdAt") or instant(now)),
    }
    return entity.add("customers", customer)
