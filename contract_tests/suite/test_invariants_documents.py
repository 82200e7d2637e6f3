"""Layer 3 (quotes and orders): arithmetic, status transitions, paging and filters, recomputed by the oracle."""

from __future__ import annotations

import pytest

from contract_tests import oracle
from contract_tests.client import SalesApi
from contract_tests.suite import scenarios

pytestmark = pytest.mark.usefixtures("writable")


@pytest.mark.sales_ops("createQuote", "getQuote")
def test_quote_line_arithmetic_rounds_half_away_from_zero(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    created = scenarios.quote(api, customer, scenarios.TRICKY_LINES)
    fetched = api.expect(200, "GET", f"/quotes/{created['id']}")
    for document in (created, fetched):
        problems = oracle.problems_sales_document(document)
        expected_rates = [line.get("taxRateBps", customer["taxRateBps"]) for line in scenarios.TRICKY_LINES]
        rates = [line.get("taxRateBps") for line in document["lines"]]
        if rates != expected_rates:
            problems.append(f"line taxRateBps {rates}, expected {expected_rates} (default: the customer's)")
        if document["currency"] != customer["currency"] or document["status"] != "draft":
            problems.append("a new quote is a draft in the customer's currency")
        assert not problems, f"{problems} in {document}"


@pytest.mark.sales_ops("createOrder", "getOrder")
def test_order_line_arithmetic(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    body = {"customerId": customer["id"], "orderDate": "2025-03-05", "lines": scenarios.TRICKY_LINES}
    created = api.create("orders", body)
    fetched = api.expect(200, "GET", f"/orders/{created['id']}")
    for document in (created, fetched):
        assert not oracle.problems_sales_document(document), oracle.problems_sales_document(document)
        assert document["status"] == "draft" and document["quoteId"] is None


@pytest.mark.sales_ops("patchQuote", "deleteQuote")
def test_quote_status_transitions(api: SalesApi) -> None:
    customer = scenarios.customer(api)
    quote = scenarios.quote(api, customer)
    path = f"/quotes/{quote['id']}"
    for illegal in ("accepted", "expired", "converted"):
        api.expect(409, "PATCH", path, json_body={"status": illegal})
    assert scenarios.patch_status(api, "quotes", quote["id"], "sent")["status"] == "sent"
    api.expect(409, "PATCH", path, json_body={"notes": "editable only in draft"})
    api.expect(409, "DELETE", path)
    assert api.expect(200, "GET", path)["status"] == "sent", "a refused delete must change nothing"
    scenarios.patch_status(api, "quotes", quote["id"], "declined")
    for illegal in ("draft", "sent", "accepted"):
        api.expect(409, "PATCH", path, json_body={"status": illegal})
    draft = scenarios.quote(api, customer)
    api.expect(204, "DELETE", f"/quotes/{draft['id']}")
    api.expect(404, "GET", f"/quotes/{draft['id']}")


@pytest.mark.sales_ops("createOrder", "deleteOrder", "patchQuote")
def test_order_from_accepted_quote_converts_it(api: SalesApi) -> None:
    quote = scenarios.quote(api, scenarios.customer(api), scenarios.TRICKY_LINES[:2])
    api.expect(409, "POST", "/orders", json_body={"quoteId": quote["id"], "orderDate": "2025-03-02"})
    scenarios.patch_status(api, "quotes", quote["id"], "sent")
    scenarios.patch_status(api, "quotes", quote["id"], "accepted")
    order = api.create("orders", {"quoteId": quote["id"], "orderDate": "2025-03-02"})
    copied = [{k: line[k] for k in ("quantity", "unitPrice", "amount", "taxAmount")} for line in order["lines"]]
    original = [{k: line[k] for k in ("quantity", "unitPrice", "amount", "taxAmount")} for line in quote["lines"]]
    assert copied == original and order["total"] == quote["total"] and order["quoteId"] == quote["id"]
    converted = api.expect(200, "GET", f"/quotes/{quote['id']}")
    assert (converted["status"], converted["orderId"]) == ("converted", order["id"])
    api.expect(204, "DELETE", f"/orders/{order['id']}")
    back = api.expect(200, "GET", f"/quotes/{quote['id']}")
    assert (back["status"], back["orderId"]) == ("accepted", None), "deleting the order returns the quote"


@pytest.mark.sales_ops("patchOrder", "deleteOrder")
def test_order_status_transitions(api: SalesApi) -> None:
    body = {"customerId": scenarios.customer(api)["id"], "orderDate": "2025-03-05", "lines": scenarios.TRICKY_LINES}
    order = api.create("orders", body)
    path = f"/orders/{order['id']}"
    api.expect(409, "PATCH", path, json_body={"status": "fulfilled"})
    scenarios.patch_status(api, "orders", order["id"], "confirmed")
    api.expect(409, "DELETE", path)
    api.expect(409, "PATCH", path, json_body={"orderDate": "2025-03-06"})
    scenarios.patch_status(api, "orders", order["id"], "fulfilled")
    api.expect(409, "PATCH", path, json_body={"status": "canceled"})
