"""Layer 4: authentication, scopes and tenancy. Nothing of one entity is visible to another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from contract_tests import oracle
from contract_tests.cleanup import OTHER, Janitor
from contract_tests.client import SalesApi
from contract_tests.report import get_recorder
from contract_tests.target import Target

Json = dict[str, Any]

LISTS = ["/customers", "/quotes", "/orders", "/plans", "/subscriptions", "/dashboard"]
WRITES = [("POST", "/quotes"), ("POST", "/plans"), ("POST", "/orders"), ("POST", "/subscriptions")]


class Theirs:
    """The second entity, seen with its own key: what it holds, and (on a run that may write) what the suite
    adds there so that a cross-entity rule has something to bite on: a draft quote and a draft order, which
    the API lets it delete again (never a plan or a subscription, which would stay behind)."""

    def __init__(self, api: SalesApi, writes: bool) -> None:
        self.api, self.writes = api, writes

    def items(self, path: str) -> list[Json]:
        return self.api.list_all(path)

    def ensure(self, kind: str) -> list[Json]:
        """Their ``kind`` (``quotes`` or ``orders``); with writes and none there, one draft the suite creates
        for their first customer."""
        found = self.items(f"/{kind}")
        customers = [] if found or not self.writes else self.items("/customers")
        if not customers:
            return found
        lines = [{"description": "contract suite cross-entity probe", "quantity": 1, "unitPrice": 100}]
        body: Json = {"customerId": customers[0]["id"], "lines": lines}
        if kind == "orders":
            body["orderDate"] = "2025-03-05"
        return [self.api.create(kind, body)]

    def why_nothing(self, what: str) -> str:
        """Why a rule found nothing of theirs to check: the data they lack, and what would let the run add it."""
        if self.writes:
            return (
                f"the second entity holds no {what}, and no customer to create one for (the Sales API cannot "
                "create customers)"
            )
        return f"the second entity holds no {what}, and a read-only run creates none there (pass --allow-writes)"


@pytest.fixture
def theirs(
    sales_target: Target, http_client: httpx.Client, janitor: Janitor, request: pytest.FixtureRequest
) -> Iterator[Theirs]:
    """The second entity with its key; what the suite creates there is deleted when the test ends."""
    assert sales_target.other_entity_id and sales_target.other_key  # the rule is marked sales_needs("second_entity")
    them = replace(sales_target, entity_id=sales_target.other_entity_id, api_key=sales_target.other_key)
    api = SalesApi(them, http_client)
    api.janitor = Janitor(api, janitor.ledger, identity=OTHER)
    api.budget = get_recorder(request.config)
    try:
        yield Theirs(api, sales_target.allow_writes)
    finally:
        api.janitor.clean()
        recorder = get_recorder(request.config)
        recorder.created += api.janitor.total
        recorder.leftovers.extend(api.janitor.leftovers)


@pytest.mark.sales_ops("listCustomers", "listQuotes", "listOrders", "listPlans", "listSubscriptions", "getDashboard")
@pytest.mark.parametrize("path", LISTS)
def test_missing_or_unknown_key_is_401(api: SalesApi, path: str) -> None:
    for key in (None, "ak_this_key_does_not_exist", "not-a-bearer-token"):
        response = api.call("GET", path, key=key)
        if response.status_code != 401:
            raise api.violation(response, f"key {key!r} must be refused with 401")
        if "bearer" not in response.headers.get("www-authenticate", "").lower():
            raise api.violation(response, "a 401 must carry WWW-Authenticate: Bearer")


@pytest.mark.sales_ops("createQuote", "createPlan", "createOrder", "createSubscription")
@pytest.mark.parametrize(("method", "path"), WRITES)
def test_writes_without_a_key_are_401(api: SalesApi, method: str, path: str) -> None:
    response = api.call(method, path, json_body={}, key=None)
    if response.status_code != 401:
        raise api.violation(response, "a write without credentials must be 401")


@pytest.mark.sales_needs("readonly_key")
@pytest.mark.sales_ops("createQuote", "createPlan", "listQuotes")
def test_read_only_key_cannot_write(api: SalesApi, sales_target: Target) -> None:
    assert sales_target.readonly_key
    api.expect(200, "GET", "/quotes", key=sales_target.readonly_key)
    for method, path in WRITES:
        response = api.call(method, path, json_body={}, key=sales_target.readonly_key)
        if response.status_code != 403:
            raise api.violation(response, "a read-only key writing must be 403")


@pytest.mark.sales_needs("second_entity")
@pytest.mark.sales_ops("listCustomers", "listQuotes", "getDashboard")
@pytest.mark.parametrize("path", LISTS)
def test_another_entity_id_is_403(api: SalesApi, sales_target: Target, path: str) -> None:
    response = api.call("GET", path, entity_id=sales_target.other_entity_id)
    if response.status_code != 403:
        raise api.violation(response, "my key with another entity's id must be 403")


@pytest.mark.sales_needs("second_entity")
@pytest.mark.sales_ops("listCustomers", "listQuotes", "listOrders", "listPlans", "listSubscriptions")
def test_nothing_leaks_across_entities(api: SalesApi, theirs: Theirs) -> None:
    compared = 0
    for path in LISTS[:-1]:
        their_items = theirs.ensure(path[1:]) if path in ("/quotes", "/orders") else theirs.items(path)
        mine = {item["id"] for item in api.list_all(path)}
        their_ids = {item["id"] for item in their_items}
        compared += len(their_ids)
        assert not mine & their_ids, f"{path}: ids visible to both entities: {sorted(mine & their_ids)[:3]}"
    if not compared:
        pytest.skip(theirs.why_nothing("customers, quotes, orders, plans or subscriptions to compare with"))


@pytest.mark.sales_needs("second_entity")
@pytest.mark.sales_ops("getQuote", "patchQuote", "deleteQuote", "getOrder", "patchPlan", "patchSubscription")
def test_another_entitys_resource_is_404(api: SalesApi, sales_target: Target, theirs: Theirs) -> None:
    probes = [f"/quotes/{item['id']}" for item in theirs.ensure("quotes")[:1]]
    probes += [f"/orders/{item['id']}" for item in theirs.ensure("orders")[:1]]
    probes += [f"/plans/{item['id']}" for item in theirs.items("/plans")[:1]]
    probes += [f"/subscriptions/{item['id']}" for item in theirs.items("/subscriptions")[:1]]
    checked = 0
    for probe in probes:
        if probe.startswith(("/quotes", "/orders")):
            response = api.call("GET", probe)
            if response.status_code != 404:
                raise api.violation(response, "another entity's resource must be 404")
            checked += 1
        if sales_target.allow_writes:
            response = api.call("PATCH", probe, json_body={"notes": "x"} if "/quotes" in probe else {"name": "x"})
            if response.status_code not in (404, 400):
                raise api.violation(response, "changing another entity's resource must be 404")
            checked += 1
        if (
            sales_target.allow_writes
            and probe.startswith("/quotes")
            and probe[len("/quotes/") :] in theirs.api.janitor.own_ids
        ):
            response = api.call("DELETE", probe)  # only a draft the suite made there: a broken server may delete it
            if response.status_code != 404:
                raise api.violation(response, "deleting another entity's resource must be 404")
    if not checked:
        what = (
            "quotes or orders to read"
            if not sales_target.allow_writes and probes
            else "quotes, orders, plans or subscriptions"
        )
        pytest.skip(theirs.why_nothing(what))


def _figures(node: Any, prefix: str = "") -> dict[str, Any]:
    """The dashboard's figures by dotted name (``quotes.draft``), numbers only."""
    found: dict[str, Any] = {}
    for key, value in node.items() if isinstance(node, dict) else []:
        if isinstance(value, dict):
            found |= _figures(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[f"{prefix}{key}"] = value
    return found


@pytest.mark.sales_needs("second_entity")
@pytest.mark.sales_ops("getDashboard")
def test_dashboard_counts_only_this_entity(api: SalesApi, theirs: Theirs) -> None:
    """Every figure the second entity's data would change (were it counted too) has this entity's value."""
    kinds = ("subscriptions", "quotes", "orders", "customers")
    their_lists = {
        kind: theirs.ensure(kind) if kind in ("quotes", "orders") else theirs.items(f"/{kind}") for kind in kinds
    }
    my_lists = {kind: api.list_all(f"/{kind}") for kind in kinds}
    alone = _figures(oracle.expected_dashboard(*(my_lists[kind] for kind in kinds)))
    both = _figures(oracle.expected_dashboard(*(my_lists[kind] + their_lists[kind] for kind in kinds)))
    telling = sorted(name for name in alone if alone[name] != both.get(name))
    if not telling:
        pytest.skip(theirs.why_nothing("data the dashboard counts"))
    dashboard = api.expect(200, "GET", "/dashboard")
    revenue = {str(row.get("currency")): row for row in dashboard.get("revenue") or []}
    shown = _figures({**dashboard, "revenue": revenue})
    wrong = [
        f"{name} is {shown.get(name)!r}: this entity alone gives {alone[name]!r}, with the second one {both[name]!r}"
        for name in telling
        if shown.get(name, 0 if name.startswith("revenue.") else None) != alone[name]  # no revenue row: zeros
    ]
    assert not wrong, "the dashboard counts another entity's data: " + "; ".join(wrong[:5])
