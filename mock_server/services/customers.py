"""Customer use cases. Read-only in the Sales API; created by fixtures and the admin API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mock_server.domain.errors import FieldProblem, InvalidInput
from mock_server.domain.money import is_supported_currency
from mock_server.services.common import all_json, instant, new_id
from mock_server.store import EntityState, Resource


def list_customers(entity: EntityState) -> bytes:
    """``{"data": [...]}``, newest first."""
    return all_json(entity, "customers")


def create_customer(
    entity: EntityState, body: dict[str, Any], now: datetime, *, customer_id: str | None = None
) -> Resource:
    """A new customer from ``name``, ``currency`` and optional ``email``, ``country``, ``taxRateBps``
    (default 0) and ``creditBalance`` (default 0). The one place customers are made (fixtures and the
    admin API): 400 naming every bad field, and nothing is stored then."""
    problems = _problems(body)
    if problems:
        first = problems[0]
        raise InvalidInput(f"invalid request: {first.path}: {first.message}", problems)
    customer: Resource = {
        "id": customer_id or new_id(),
        "name": body["name"],
        "email": body.get("email"),
        "currency": body["currency"],
        "country": body.get("country"),
        "taxRateBps": int(body.get("taxRateBps", 0)),
        "creditBalance": int(body.get("creditBalance", 0)),
        "createdAt": str(body.get("createdAt") or instant(now)),
    }
    return entity.add("customers", customer)


def _problems(body: dict[str, Any]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not _text(body.get("name"), 200):
        problems.append(FieldProblem("name", "must be a string of 1..200 characters"))
    currency = body.get("currency")
    if not isinstance(currency, str) or not is_supported_currency(currency):
        problems.append(FieldProblem("currency", "must be a supported ISO 4217 currency code such as USD"))
    email = body.get("email")
    if email is not None and not (_text(email, 254) and "@" in email):
        problems.append(FieldProblem("email", "must be an email address"))
    if "country" in body and not (isinstance(body["country"], str) and re.fullmatch(r"[A-Z]{2}", body["country"])):
        problems.append(FieldProblem("country", "must be an ISO 3166-1 alpha-2 code such as US"))
    for name, top in (("taxRateBps", 10_000), ("creditBalance", 10**12)):
        value = body.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            problems.append(FieldProblem(name, f"must be an integer in 0..{top}"))
    return problems


def _text(value: Any, max_length: int) -> bool:
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
