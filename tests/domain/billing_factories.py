"""Factories of plain API-shaped dicts for the pure billing domain tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

from mock_server.domain.subscriptions import new_subscription

NOW = datetime(2025, 3, 1, tzinfo=UTC)
_codes = itertools.count(1)


def new_id() -> str:
    return str(uuid.uuid4())


def make_plan(amount: int = 2000, interval: str = "month", interval_count: int = 1, **over: Any) -> dict[str, Any]:
    code = f"plan-{next(_codes)}"
    plan = {
        "id": new_id(),
        "code": code,
        "name": over.pop("name", code.title()),
        "description": None,
        "currency": "USD",
        "amount": amount,
        "interval": interval,
        "intervalCount": interval_count,
        "trialDays": 0,
        "active": True,
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
    }
    plan.update(over)
    return plan


def make_customer(tax_rate_bps: int = 0, credit_balance: int = 0, currency: str = "USD") -> dict[str, Any]:
    return {
        "id": new_id(),
        "name": "Acme",
        "email": "billing@acme.test",
        "currency": currency,
        "country": "US",
        "taxRateBps": tax_rate_bps,
        "creditBalance": credit_balance,
        "createdAt": "2025-01-01T00:00:00Z",
    }


def make_sub(
    plan: dict[str, Any] | None = None,
    customer: dict[str, Any] | None = None,
    quantity: int = 1,
    trial_days: int = 0,
    now: datetime = NOW,
) -> dict[str, Any]:
    plan = plan or make_plan()
    customer = customer or make_customer(currency=plan["currency"])
    return new_subscription(
        sub_id=new_id(), customer=customer, plan=plan, quantity=quantity, trial_days=trial_days, now=now
    )
