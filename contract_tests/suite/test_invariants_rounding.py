"""Layer 3 (minor units and halves): money in 3-decimal currencies is exact to the thousandth, and exact
halves in proration round away from zero.

Both compare the answers with the requests that made them, recomputed by the oracle: a server that keeps
fewer decimals, or rounds halves to even, agrees with itself and still breaks the contract. They make
their own plans, quotes, orders and subscriptions; the first needs a customer in a 3-decimal currency.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest

from contract_tests import oracle
from contract_tests.client import SalesApi
from contract_tests.suite import scenarios

pytestmark = pytest.mark.usefixtures("writable")
Json = dict[str, Any]

# Amounts that are not whole tens of the minor unit, a half, and explicit tax rates (12.345 KWD x 3 = 37.035).
FILS_LINES: list[Json] = [
    {"description": "three at 12.345", "quantity": 3, "unitPrice": 12345},
    {"description": "half a fils", "quantity": 1, "unitPrice": 1001, "discountBps": 5000},
    {"description": "discount and tax", "quantity": 7, "unitPrice": 999, "discountBps": 333, "taxRateBps": 825},
    {"description": "tax on odd fils", "quantity": 2, "unitPrice": 4567, "taxRateBps": 500},
]
# (interval, intervalCount, old amount, new amount, days into the period): D even, R = D / 2 and odd amounts,
# so both the credit and the charge are exact halves whose even neighbour is the lower one.
HALVES = [("day", 2, 2001, 3001, 1), ("week", 2, 3001, 2001, 7)]


def three_decimal_customer(api: SalesApi) -> Json:
    for item in api.list_all("/customers"):
        if item.get("currency") in oracle.THREE_DECIMAL_CURRENCIES:
            return item
    currencies = ", ".join(sorted(oracle.THREE_DECIMAL_CURRENCIES))
    pytest.skip(f"the target entity has no customer in a 3-decimal currency ({currencies}) to price in")


@pytest.mark.sales_ops("createQuote", "getQuote", "createOrder", "createPlan", "createSubscription", "generateInvoice")
def test_three_decimal_currency_is_exact_to_the_minor_unit(api: SalesApi) -> None:
    """Quote and order lines, a plan, its subscription and invoice in a 3-decimal currency: every price as sent
    and every amount recomputed from the request, to the fils (not rounded to tens)."""
    customer = three_decimal_customer(api)
    currency, rate = customer["currency"], int(customer["taxRateBps"])
    expected = [oracle.line_amount(x["quantity"], x["unitPrice"], x.get("discountBps", 0)) for x in FILS_LINES]
    assert any(amount % 10 for amount in expected), "the lines must include amounts that are not whole tens"
    quote = scenarios.quote(api, customer, FILS_LINES)
    order_body = {"customerId": customer["id"], "orderDate": "2025-03-05", "lines": FILS_LINES}
    documents = {
        "created quote": quote,
        "fetched quote": api.expect(200, "GET", f"/quotes/{quote['id']}"),
        "created order": api.create("orders", order_body),
    }
    problems = [
        f"{name}: {problem}"
        for name, document in documents.items()
        for problem in oracle.problems_lines_as_sent(document, FILS_LINES, rate)
        + ([] if document.get("currency") == currency else [f"currency {document.get('currency')}, not {currency}"])
    ]
    plan = scenarios.plan(api, 12345, currency=currency)
    sub = scenarios.subscription(api, plan, customer, quantity=3)
    invoice = api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})
    figures = {"plan amount": plan["amount"], "unitAmount": sub["unitAmount"], "invoice subtotal": invoice["subtotal"]}
    wanted = {"plan amount": 12345, "unitAmount": 12345, "invoice subtotal": 37035}
    problems += [
        f"{key} is {figures[key]!r}, expected {value}" for key, value in wanted.items() if figures[key] != value
    ]
    assert not problems, problems


@pytest.mark.sales_ops("createPlan", "createSubscription", "changePlan")
def test_proration_rounds_exact_halves_away_from_zero(api: SalesApi) -> None:
    """Short even periods (2 days, 2 weeks) changed halfway with odd amounts: credit and charge are exact
    halves, rounded away from zero (-1000.5 -> -1001, 1500.5 -> 1501), never to the even neighbour."""
    customer = scenarios.customer(api)
    for interval, count, old, new, offset in HALVES:
        old_plan, new_plan = scenarios.plan(api, old, interval, count), scenarios.plan(api, new, interval, count)
        sub = scenarios.subscription(api, old_plan, customer)
        when = oracle.parse_date(sub["currentPeriodStart"]) + timedelta(days=offset)
        body = {"newPlanId": new_plan["id"], "prorationBehavior": "create_prorations", "prorationDate": str(when)}
        result = api.expect(200, "POST", f"/subscriptions/{sub['id']}/change-plan", json_body=body)
        expected = oracle.expected_proration(sub, new_plan, when)
        days, left = expected["daysInPeriod"], expected["daysRemaining"]
        assert Fraction(old * left, days).denominator == Fraction(new * left, days).denominator == 2, "not halves"
        problems = oracle.problems_proration(result["proration"], expected)
        pending = sorted(item["amount"] for item in result["subscription"]["pendingInvoiceItems"])
        if pending != sorted([expected["credit"], expected["charge"]]):
            problems.append(
                f"pendingInvoiceItems amounts {pending}, expected {expected['credit']} and {expected['charge']}"
            )
        assert not problems, f"{interval} x {count}, {old} -> {new} on day {offset}: {problems}"
