"""Layer 3 (numbering and order): human numbers are given once and only increase, every list is newest first.

The read-only checks work on any target however full (sampled pages); the others make their own quotes,
orders, plans and subscriptions. Customers cannot be created through the Sales API: the creation order
of their list is checked in a fresh entity of the mock (``test_time.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import oracle
from contract_tests.client import SalesApi
from contract_tests.suite import scenarios

Json = dict[str, Any]
PREFIXES = {"quotes": "Q", "orders": "SO"}
LIST_OPERATIONS = {
    "quotes": "listQuotes",
    "orders": "listOrders",
    "plans": "listPlans",
    "subscriptions": "listSubscriptions",
    "customers": "listCustomers",
}
FILTERED = ("quotes", "orders", "subscriptions")


def by_kind(*kinds: str) -> list[Any]:
    """One parameter per list, each marked with the operation it exercises."""
    return [pytest.param(kind, marks=pytest.mark.sales_ops(LIST_OPERATIONS[kind])) for kind in kinds]


def first_page(api: SalesApi, kind: str, **params: Any) -> list[Json]:
    """The newest items of a list: page 1 of 100 for a paged list, the whole list otherwise."""
    if kind in PREFIXES:
        params["pageSize"] = 100
    data: list[Json] = api.expect(200, "GET", f"/{kind}", params=params)["data"]
    return data


@pytest.mark.parametrize("kind", by_kind(*LIST_OPERATIONS))
def test_every_list_is_newest_first(api: SalesApi, kind: str) -> None:
    """``createdAt`` never increases along a list and quote and order numbers strictly decrease: over sampled
    pages of a paged list, and in every status filter of the statuses the list shows."""
    prefix = PREFIXES.get(kind)
    if prefix:
        _, pages = api.sample_pages(f"/{kind}", size=25, seed=len(kind))
        items = [item for _, body in sorted(pages.items()) for item in body["data"]]
    else:
        items = first_page(api, kind)
    problems = oracle.problems_newest_first(items, prefix)
    for status in sorted(oracle.count_by(items)) if kind in FILTERED else []:
        filtered = first_page(api, kind, status=status)
        problems += [f"status={status}: {problem}" for problem in oracle.problems_newest_first(filtered, prefix)]
        if not prefix:  # the whole list: a filter keeps its order
            kept = [item["id"] for item in items if item["status"] == status]
            if [item["id"] for item in filtered] != kept:
                problems.append(f"status={status} lists {len(filtered)} items in another order than the full list")
    assert not problems, problems[:8]


def make(api: SalesApi, kind: str, customer: Json) -> Json:
    """A new resource of ``kind`` the suite owns (a draft quote or order, a plan, an active subscription)."""
    if kind == "quotes":
        return scenarios.quote(api, customer)
    if kind == "orders":
        lines = [{"description": "numbered", "quantity": 1, "unitPrice": 100}]
        created: Json = api.create("orders", {"customerId": customer["id"], "orderDate": "2025-03-05", "lines": lines})
        return created
    if kind == "plans":  # a new plan each time: scenarios otherwise share one per set of terms
        return scenarios.plan(api, 1000, fresh=True)
    return scenarios.subscription(api, scenarios.plan(api, 1000), customer)


@pytest.mark.usefixtures("writable")
@pytest.mark.parametrize("kind", by_kind("quotes", "orders", "plans", "subscriptions"))
def test_new_items_are_listed_first(api: SalesApi, kind: str) -> None:
    """Two items made one after the other: the later one is listed first, in the whole list and in the
    status filter they are in (creation order, whatever the clock says)."""
    customer = scenarios.customer(api)
    made = [make(api, kind, customer), make(api, kind, customer)]
    ids = [item["id"] for item in made]
    assert ids[0] != ids[1], f"two {kind} made one after the other have the same id {ids[0]}"
    views = {"the list": first_page(api, kind)}
    if kind in FILTERED:
        status = made[-1]["status"]
        views[f"status={status}"] = first_page(api, kind, status=status)
    problems = [
        f"{name}: {problem}"
        for name, listed in views.items()
        for problem in oracle.problems_creation_order(listed, ids)
        + oracle.problems_newest_first(listed, PREFIXES.get(kind))
    ]
    assert not problems, problems


@pytest.mark.usefixtures("writable")
@pytest.mark.parametrize("kind", by_kind("quotes", "orders"))
def test_numbers_increase_and_are_never_reused_after_a_delete(api: SalesApi, kind: str) -> None:
    """A draft made and deleted between two others: its number is never given again, the next one is higher."""
    prefix, customer = PREFIXES[kind], scenarios.customer(api)
    first, doomed = make(api, kind, customer), make(api, kind, customer)
    api.expect(204, "DELETE", f"/{kind}/{doomed['id']}")
    after = make(api, kind, customer)
    problems = oracle.problems_numbers_increase([first["number"], doomed["number"], after["number"]], prefix)
    fetched = api.expect(200, "GET", f"/{kind}/{after['id']}")
    if fetched["number"] != after["number"]:
        problems.append(f"created as {after['number']}, read back as {fetched['number']}")
    listed = first_page(api, kind)
    problems += oracle.problems_creation_order(listed, [first["id"], after["id"]])
    problems += oracle.problems_newest_first(listed, prefix)
    assert not problems, problems


@pytest.mark.usefixtures("writable")
@pytest.mark.sales_ops("generateInvoice", "changePlan")
def test_invoice_numbers_increase(api: SalesApi) -> None:
    """Invoices from generate-invoice and from a plan change are numbered INV-nnnnnn in the order they are made,
    with a draft quote deleted in between."""
    customer = scenarios.customer(api)
    basic, pro = scenarios.plan(api, 2000), scenarios.plan(api, 5000)
    one, two = scenarios.subscription(api, basic, customer), scenarios.subscription(api, basic, customer)
    numbers = [
        api.expect(201, "POST", f"/subscriptions/{sub['id']}/generate-invoice", json_body={})["number"]
        for sub in (one, two)
    ]
    api.expect(204, "DELETE", f"/quotes/{scenarios.quote(api, customer)['id']}")
    body = {"newPlanId": pro["id"], "prorationBehavior": "always_invoice"}
    changed = api.expect(200, "POST", f"/subscriptions/{one['id']}/change-plan", json_body=body)
    numbers.append(changed["invoice"]["number"])
    problems = oracle.problems_numbers_increase(numbers, "INV")
    assert not problems, problems
