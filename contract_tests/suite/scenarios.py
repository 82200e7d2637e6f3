"""Builders for the suite's deterministic scenarios: every resource they make is the suite's own."""

from __future__ import annotations

import json
import uuid
import weakref
from typing import Any

import pytest

from contract_tests import oracle
from contract_tests.client import SalesApi

Json = dict[str, Any]

# Lines whose exact amounts end in .5 or whose float computation drifts: a server that rounds
# with floats or banker's rounding gets at least one of them wrong.
TRICKY_LINES: list[Json] = [
    {"description": "half cent, banker's would round down", "quantity": 1, "unitPrice": 1001, "discountBps": 5000},
    {"description": "float drift", "quantity": 3, "unitPrice": 333, "discountBps": 1500, "taxRateBps": 825},
    {"description": "even half", "quantity": 7, "unitPrice": 1234, "discountBps": 2500, "taxRateBps": 5000},
    {"description": "tax half", "quantity": 1, "unitPrice": 1005, "discountBps": 0, "taxRateBps": 5000},
    {"description": "plain", "quantity": 2, "unitPrice": 1999},
]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def customer(api: SalesApi, currency: str = "USD") -> Json:
    """A customer of the target in ``currency`` (customers are read-only in the Sales API)."""
    for item in api.list_all("/customers"):
        if item.get("currency") == currency:
            return item
    pytest.skip(f"the target entity has no {currency} customer to use")


_PLANS: weakref.WeakKeyDictionary[Any, dict[str, Json]] = weakref.WeakKeyDictionary()
"""Per run (its janitor): the plans already made, by their terms."""


def plan(
    api: SalesApi,
    amount: int,
    interval: str = "month",
    count: int = 1,
    currency: str = "USD",
    *,
    fresh: bool = False,
    **extra: Any,
) -> Json:
    """An active plan of these terms. The API cannot delete a plan (only archive it), so a run makes each set of
    terms once and scenarios share it; ``fresh`` makes a new one for a scenario that changes or archives it."""
    terms = json.dumps([amount, interval, count, currency, extra], sort_keys=True)
    made = _PLANS.setdefault(api.janitor, {}) if api.janitor is not None and not fresh else None
    if made is not None and terms in made:
        return made[terms]
    body = {
        "code": unique("ct"),
        "name": f"contract test {interval} {amount}",
        "currency": currency,
        "amount": amount,
        "interval": interval,
        "intervalCount": count,
        **extra,
    }
    created: Json = api.create("plans", body)
    if made is not None:
        made[terms] = created
    return created


def subscription(api: SalesApi, plan_: Json, customer_: Json, quantity: int = 1, trial_days: int = 0) -> Json:
    body = {"planId": plan_["id"], "customerId": customer_["id"], "quantity": quantity, "trialDays": trial_days}
    created: Json = api.create("subscriptions", body)
    return created


def quote(api: SalesApi, customer_: Json, lines: list[Json] | None = None) -> Json:
    body = {"customerId": customer_["id"], "lines": lines or [{"description": "x", "quantity": 1, "unitPrice": 100}]}
    created: Json = api.create("quotes", body)
    return created


def patch_status(api: SalesApi, kind: str, resource_id: str, status: str, expected: int = 200) -> Any:
    return api.expect(expected, "PATCH", f"/{kind}/{resource_id}", json_body={"status": status})


def fetch_customer(api: SalesApi, customer_id: str) -> Json:
    for item in api.list_all("/customers"):
        if item["id"] == customer_id:
            return item
    raise AssertionError(f"customer {customer_id} vanished from GET /customers")


def dashboard_problems(api: SalesApi) -> list[str]:
    """The dashboard against a recomputation from the list endpoints, read just before."""
    subscriptions = api.list_all("/subscriptions")
    quotes, orders, customers = api.list_all("/quotes"), api.list_all("/orders"), api.list_all("/customers")
    dashboard = api.expect(200, "GET", "/dashboard")
    expected = oracle.expected_dashboard(subscriptions, quotes, orders, customers)
    expected["churn"] = oracle.expected_churn(subscriptions, dashboard["asOf"])
    return oracle.problems_dashboard(dashboard, expected)
