"""Layer 4: authentication, scopes and tenancy. Nothing of one entity is visible to another."""

from __future__ import annotations

import pytest

from contract_tests.client import SalesApi
from contract_tests.target import Target

LISTS = ["/customers", "/quotes", "/orders", "/plans", "/subscriptions", "/dashboard"]
WRITES = [("POST", "/quotes"), ("POST", "/plans"), ("POST", "/orders"), ("POST", "/subscriptions")]


def other_identity(target: Target) -> tuple[str, str]:
    if not (target.other_entity_id and target.other_key):
        pytest.skip("no second entity: set SALES_API_OTHER_ENTITY_ID and SALES_API_OTHER_KEY")
    return target.other_entity_id, target.other_key


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


@pytest.mark.sales_ops("createQuote", "createPlan", "listQuotes")
def test_read_only_key_cannot_write(api: SalesApi, sales_target: Target) -> None:
    if not sales_target.readonly_key:
        pytest.skip("no read-only key: set SALES_API_READONLY_KEY")
    api.expect(200, "GET", "/quotes", key=sales_target.readonly_key)
    for method, path in WRITES:
        response = api.call(method, path, json_body={}, key=sales_target.readonly_key)
        if response.status_code != 403:
            raise api.violation(response, "a read-only key writing must be 403")


@pytest.mark.sales_ops("listCustomers", "listQuotes", "getDashboard")
@pytest.mark.parametrize("path", LISTS)
def test_another_entity_id_is_403(api: SalesApi, sales_target: Target, path: str) -> None:
    other_entity, _ = other_identity(sales_target)
    response = api.call("GET", path, entity_id=other_entity)
    if response.status_code != 403:
        raise api.violation(response, "my key with another entity's id must be 403")


@pytest.mark.sales_ops("listCustomers", "listQuotes", "listOrders", "listPlans", "listSubscriptions")
def test_nothing_leaks_across_entities(api: SalesApi, sales_target: Target) -> None:
    other_entity, other_key = other_identity(sales_target)
    for path in LISTS[:-1]:
        mine = {item["id"] for item in api.list_all(path)}
        theirs = {item["id"] for item in api.expect(200, "GET", path, key=other_key, entity_id=other_entity)["data"]}
        assert not mine & theirs, f"{path}: ids visible to both entities: {sorted(mine & theirs)[:3]}"


@pytest.mark.sales_ops("getQuote", "patchQuote", "deleteQuote", "getOrder", "patchPlan", "patchSubscription")
def test_another_entitys_resource_is_404(api: SalesApi, sales_target: Target) -> None:
    other_entity, other_key = other_identity(sales_target)
    probes = []
    for path, item_path in (("/quotes", "/quotes/{}"), ("/orders", "/orders/{}"), ("/plans", "/plans/{}")):
        data = api.expect(200, "GET", path, key=other_key, entity_id=other_entity)["data"]
        probes += [item_path.format(item["id"]) for item in data[:1]]
    subs = api.expect(200, "GET", "/subscriptions", key=other_key, entity_id=other_entity)["data"]
    probes += [f"/subscriptions/{item['id']}" for item in subs[:1]]
    if not probes:
        pytest.skip("the other entity has no quotes, orders, plans or subscriptions to probe")
    for probe in probes:
        if probe.startswith("/quotes") or probe.startswith("/orders"):
            response = api.call("GET", probe)
            if response.status_code != 404:
                raise api.violation(response, "another entity's resource must be 404")
        if sales_target.allow_writes:
            response = api.call("PATCH", probe, json_body={"notes": "x"} if "/quotes" in probe else {"name": "x"})
            if response.status_code not in (404, 400):
                raise api.violation(response, "changing another entity's resource must be 404")
