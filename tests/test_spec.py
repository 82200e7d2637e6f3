"""Checks of the hand-written contract `openapi/sales.yaml`: validity, coverage and examples."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "openapi" / "sales.yaml"
REFERENCE_PATH = ROOT.parent / "shared" / "seed" / "sales-api-reference.txt"
SPEC_URI = "urn:axiomatic:sales-openapi"
UUID = "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10"
LINE = {"description": "Workshop", "quantity": 1, "unitPrice": 100}

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

OPERATION_IDS = {
    ("GET", "/api/sales/dashboard"): "getDashboard",
    ("GET", "/api/sales/customers"): "listCustomers",
    ("GET", "/api/sales/quotes"): "listQuotes",
    ("POST", "/api/sales/quotes"): "createQuote",
    ("GET", "/api/sales/quotes/{quoteId}"): "getQuote",
    ("PATCH", "/api/sales/quotes/{quoteId}"): "patchQuote",
    ("DELETE", "/api/sales/quotes/{quoteId}"): "deleteQuote",
    ("GET", "/api/sales/orders"): "listOrders",
    ("POST", "/api/sales/orders"): "createOrder",
    ("GET", "/api/sales/orders/{orderId}"): "getOrder",
    ("PATCH", "/api/sales/orders/{orderId}"): "patchOrder",
    ("DELETE", "/api/sales/orders/{orderId}"): "deleteOrder",
    ("GET", "/api/sales/plans"): "listPlans",
    ("POST", "/api/sales/plans"): "createPlan",
    ("PATCH", "/api/sales/plans/{planId}"): "patchPlan",
    ("GET", "/api/sales/subscriptions"): "listSubscriptions",
    ("POST", "/api/sales/subscriptions"): "createSubscription",
    ("PATCH", "/api/sales/subscriptions/{subscriptionId}"): "patchSubscription",
    ("POST", "/api/sales/subscriptions/{subscriptionId}/generate-invoice"): "generateInvoice",
    ("POST", "/api/sales/subscriptions/{subscriptionId}/dunning"): "runDunning",
    ("POST", "/api/sales/subscriptions/{subscriptionId}/change-plan"): "changePlan",
}


@cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def reference_operations() -> set[tuple[str, str]]:
    """(METHOD, path) pairs of the vendor reference: a line that is only a method, then the path line."""
    lines = [line.strip() for line in REFERENCE_PATH.read_text(encoding="utf-8").splitlines()]
    found = set()
    for method, path in itertools.pairwise(lines):
        if method in {"GET", "POST", "PATCH", "DELETE", "PUT"} and path.startswith("/"):
            found.add((method, path))
    return found


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in load_spec()["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def resolve(node: Any) -> Any:
    """Follow local `$ref`s (`#/...`) until a non-reference node."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        assert pointer.startswith("#/"), f"only local references are used: {pointer}"
        node = load_spec()
        for part in pointer[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
        assert seen < 20, f"reference loop at {pointer}"
    return node


@cache
def registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    found: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return found


def anchored(node: Any) -> Any:
    """A copy of a schema fragment whose local `$ref`s point into the spec resource."""
    if isinstance(node, dict):
        return {
            key: SPEC_URI + value if key == "$ref" and value.startswith("#") else anchored(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [anchored(value) for value in node]
    return node


def validator_for(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A Draft 2020-12 validator whose `#/components/...` references resolve into the spec."""
    return jsonschema.Draft202012Validator(
        anchored(schema), registry=registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def media_examples(media: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, example in media.get("examples", {}).items():
        yield name, resolve(example)["value"]


def all_examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, value) for every example attached to a schema-bearing object."""
    spec = load_spec()
    for method, path, op in operations():
        label = f"{method} {path}"
        body = resolve(op.get("requestBody", {}))
        for mime, media in body.get("content", {}).items():
            for name, value in media_examples(media):
                yield f"{label} request {mime} {name}", media["schema"], value
        for status, response in op["responses"].items():
            for mime, media in resolve(response).get("content", {}).items():
                for name, value in media_examples(media):
                    yield f"{label} {status} {mime} {name}", media["schema"], value
    components = spec["components"]
    for name, param in components.get("parameters", {}).items():
        if "example" in param:
            yield f"parameter {name}", param["schema"], param["example"]
    for name, header in components.get("headers", {}).items():
        if "example" in header:
            yield f"header {name}", header["schema"], header["example"]
    for name, schema in components["schemas"].items():
        if "example" in schema:
            yield f"schema {name}", {"$ref": f"#/components/schemas/{name}"}, schema["example"]


def test_spec_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_operations_equal_the_reference_exactly() -> None:
    expected = reference_operations()
    assert len(expected) == 21
    assert {(method, path) for method, path, _ in operations()} == expected


def test_operation_ids_and_metadata() -> None:
    found = {(method, path): op["operationId"] for method, path, op in operations()}
    assert found == OPERATION_IDS
    for method, path, op in operations():
        assert op.get("tags"), f"{method} {path} has no tag"
        assert op.get("summary"), f"{method} {path} has no summary"
        assert len(op.get("description", "")) > 40, f"{method} {path} needs a description of its rules"


def test_every_operation_takes_entity_id_and_typed_path_ids() -> None:
    for method, path, op in operations():
        item = load_spec()["paths"][path]
        params = [resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        by_name = {(p["in"], p["name"]): p for p in params}
        entity = by_name[("query", "entityId")]
        # optional in the spec because a browser session may name the entity in x-entity-id instead
        assert entity["required"] is False and entity["schema"]["format"] == "uuid", f"{method} {path}"
        assert "x-entity-id" in entity["description"] and "neither" in entity["description"]
        for name in re.findall(r"{(\w+)}", path):
            assert by_name[("path", name)]["schema"]["format"] == "uuid", f"{method} {path} {name}"


def test_paging_parameters() -> None:
    params = load_spec()["components"]["parameters"]
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 1}
    assert params["pageSize"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}


@pytest.mark.parametrize(("method", "path"), sorted(OPERATION_IDS))
def test_error_responses_are_documented(method: str, path: str) -> None:
    op = load_spec()["paths"][path][method.lower()]
    responses = {status: resolve(response) for status, response in op["responses"].items()}
    required = {"400", "401", "403", "405"}
    if "requestBody" in op:
        required |= {"413", "415"}
    if "{" in path:
        required.add("404")
    assert required <= responses.keys()
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "Allow" in responses["405"]["headers"]
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"


@pytest.mark.parametrize(("method", "path"), sorted(OPERATION_IDS))
def test_success_responses_have_examples(method: str, path: str) -> None:
    op = load_spec()["paths"][path][method.lower()]
    successes = {status: resolve(r) for status, r in op["responses"].items() if status.startswith("2")}
    assert successes, f"{method} {path} has no 2xx response"
    for status, response in successes.items():
        if status == "204":
            assert "content" not in response
            continue
        media = response["content"]["application/json"]
        assert list(media_examples(media)), f"{method} {path} {status} has no example"
    body = resolve(op.get("requestBody", {}))
    for media in body.get("content", {}).values():
        assert list(media_examples(media)), f"{method} {path} request body has no example"


def test_expected_success_codes() -> None:
    codes = {op["operationId"]: sorted(s for s in op["responses"] if s.startswith("2")) for _, _, op in operations()}
    for op_id, found in codes.items():
        if op_id.startswith(("list", "get", "patch")) or op_id in {"runDunning", "changePlan"}:
            assert found == ["200"], op_id
        elif op_id.startswith("create"):
            assert found == ["201"], op_id
        elif op_id.startswith("delete"):
            assert found == ["204"], op_id
    assert codes["generateInvoice"] == ["200", "201"]


def test_request_bodies_reject_unknown_properties() -> None:
    for method, path, op in operations():
        if "requestBody" not in op:
            continue
        schema = resolve(resolve(op["requestBody"])["content"]["application/json"]["schema"])
        # a body of several forms (createOrder, runDunning) is a oneOf of closed objects
        forms = [resolve(form) for form in schema["oneOf"]] if "oneOf" in schema else [schema]
        assert len(forms) in (1, 2) and "anyOf" not in schema, f"{method} {path}"
        for form in forms:
            assert form["type"] == "object", f"{method} {path}"
            assert form["additionalProperties"] is False, f"{method} {path}"
            if method == "PATCH":
                assert form["minProperties"] == 1, f"{method} {path}"


def test_response_objects_are_closed() -> None:
    """Every object schema in components closes itself, so drift in the mock is caught."""

    def walk(node: Any, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "object" and node.get("additionalProperties") is not False:
                yield where
            for key, value in node.items():
                yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{where}/{index}")

    assert list(walk(load_spec()["components"]["schemas"], "#/components/schemas")) == []


EXAMPLES = list(all_examples())


@pytest.mark.parametrize(("where", "schema", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_validates_against_its_schema(where: str, schema: dict[str, Any], value: Any) -> None:
    errors = sorted(validator_for(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not errors, f"{where}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_examples_are_many() -> None:
    assert len(EXAMPLES) > 60


def test_security_schemes_and_global_security() -> None:
    spec = load_spec()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == schemes["bearerAuth"] | {"type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"] | {"in": "cookie", "name": "axiomatic_session"} == schemes["sessionCookie"]
    assert schemes["entityHeader"] | {"in": "header", "name": "x-entity-id"} == schemes["entityHeader"]
    assert spec["security"] == [{"bearerAuth": []}, {"sessionCookie": [], "entityHeader": []}]


def test_links_chain_the_stateful_flows() -> None:
    expected = {
        "createQuote": {"getQuote", "patchQuote", "deleteQuote", "createOrder"},
        "createOrder": {"getOrder", "patchOrder", "deleteOrder"},
        "createPlan": {"patchPlan", "createSubscription"},
        "createSubscription": {"patchSubscription", "generateInvoice", "runDunning", "changePlan"},
    }
    by_id = {op["operationId"]: op for _, _, op in operations()}
    for source, targets in expected.items():
        links = by_id[source]["responses"]["201"]["links"]
        assert {link["operationId"] for link in links.values()} >= targets, source
        for link in links.values():
            assert link["operationId"] in by_id
            assert "entityId" not in str(link.get("parameters", {})), "links must not map entityId"


def test_change_plan_worked_examples_are_exact() -> None:
    """SALES_DOMAIN.md section 4, examples 1-4, as shown on changePlan's 200 response."""
    examples = load_spec()["components"]["examples"]
    one = examples["ChangePlanUpgrade"]["value"]["proration"]
    assert (one["credit"], one["charge"], one["net"]) == (-1355, 3387, 2032)
    invoiced = examples["ChangePlanUpgradeAlwaysInvoice"]["value"]["invoice"]
    assert [line["taxAmount"] for line in invoiced["lines"]] == [-112, 279]
    assert (invoiced["taxTotal"], invoiced["total"]) == (167, 2199)
    two = examples["ChangePlanDowngradeAlwaysInvoice"]["value"]
    assert (two["proration"]["credit"], two["proration"]["charge"], two["proration"]["net"]) == (-1774, 710, -1064)
    assert (two["invoice"]["total"], two["invoice"]["amountDue"], two["invoice"]["status"]) == (-1064, 0, "paid")
    three = examples["ChangePlanMonthlyToYearly"]["value"]
    assert three["invoice"]["subtotal"] == 46613
    assert (three["subscription"]["currentPeriodStart"], three["subscription"]["currentPeriodEnd"]) == (
        "2025-03-11",
        "2026-03-11",
    )
    four = examples["ChangePlanYen"]["value"]["proration"]
    assert (four["credit"], four["charge"], four["net"]) == (-490, 990, 500)


def test_money_sums_in_examples_add_up() -> None:
    """Every example invoice, quote and order: totals are the sums of their lines."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if {"lines", "subtotal", "taxTotal", "total"} <= node.keys():
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    documents = list(walk(load_spec()["components"]["examples"]))
    assert len(documents) >= 10
    for doc in documents:
        assert doc["subtotal"] == sum(line["amount"] for line in doc["lines"]), doc.get("number")
        assert doc["taxTotal"] == sum(line["taxAmount"] for line in doc["lines"]), doc.get("number")
        assert doc["total"] == doc["subtotal"] + doc["taxTotal"], doc.get("number")


def round_half_away(value: Fraction) -> int:
    """Round an exact fraction to an integer, half away from zero (the domain's only rounding)."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude


def objects_with(node: Any, keys: set[str]) -> Iterator[dict[str, Any]]:
    """Every object nested in ``node`` that has all of ``keys``."""
    if isinstance(node, dict):
        if keys <= node.keys():
            yield node
        for value in node.values():
            yield from objects_with(value, keys)
    elif isinstance(node, list):
        for value in node:
            yield from objects_with(value, keys)


def test_line_arithmetic_in_examples() -> None:
    """Quote/order lines and invoice lines in the examples follow the domain's formulas exactly."""
    lines = list(objects_with(load_spec()["components"]["examples"], {"amount", "taxAmount", "taxRateBps"}))
    assert len(lines) > 20
    for line in lines:
        if "unitPrice" in line:
            gross = Fraction(line["quantity"] * line["unitPrice"] * (10000 - line["discountBps"]), 10000)
            assert line["amount"] == round_half_away(gross), line["id"]
        assert line["taxAmount"] == round_half_away(Fraction(line["amount"] * line["taxRateBps"], 10000)), line["id"]


def test_invoice_credit_rules_in_examples() -> None:
    invoices = list(objects_with(load_spec()["components"]["examples"], {"creditApplied", "amountDue", "total"}))
    assert len(invoices) >= 4
    for invoice in invoices:
        expected_due = invoice["total"] - invoice["creditApplied"] if invoice["total"] > 0 else 0
        assert invoice["amountDue"] == expected_due, invoice["number"]
        assert (invoice["status"] == "paid") == (invoice["amountDue"] == 0), invoice["number"]
        assert (invoice["paidAt"] is not None) == (invoice["status"] == "paid"), invoice["number"]


def test_named_component_schemas_exist() -> None:
    names = set(load_spec()["components"]["schemas"])
    expected = {
        "Customer", "Quote", "QuoteLine", "QuoteLineInput", "Order", "OrderLine", "Plan", "Subscription", "Dunning",
        "Invoice", "InvoiceLine", "Dashboard", "ChangePlanResult", "Proration", "QuotePage", "OrderPage",
        "CustomerList", "PlanList", "SubscriptionList", "Error", "Currency", "CreateQuoteRequest",
        "PatchQuoteRequest", "CreateOrderRequest", "PatchOrderRequest", "CreatePlanRequest", "PatchPlanRequest",
        "CreateSubscriptionRequest", "PatchSubscriptionRequest", "GenerateInvoiceRequest", "DunningRequest",
        "ChangePlanRequest",
    }  # fmt: skip
    assert expected <= names


@pytest.mark.parametrize(
    ("schema_name", "body", "valid"),
    [
        ("CreateOrderRequest", {"orderDate": "2025-03-12", "quoteId": UUID}, True),
        ("CreateOrderRequest", {"orderDate": "2025-03-12", "customerId": UUID, "lines": [LINE]}, True),
        ("CreateOrderRequest", {"orderDate": "2025-03-12"}, False),
        ("CreateOrderRequest", {"orderDate": "2025-03-12", "customerId": UUID}, False),
        ("CreateOrderRequest", {"orderDate": "2025-03-12", "quoteId": UUID, "customerId": UUID}, False),
        ("CreateOrderRequest", {"orderDate": "2025-03-12", "quoteId": UUID, "lines": [LINE]}, False),
        ("DunningRequest", {"action": "remind"}, True),
        ("DunningRequest", {"action": "grace_period"}, True),
        ("DunningRequest", {"action": "grace_period", "graceDays": 90}, True),
        ("DunningRequest", {"action": "grace_period", "graceDays": 91}, False),
        ("DunningRequest", {"action": "remind", "graceDays": 7}, False),
        ("DunningRequest", {"action": "suspend", "graceDays": 7}, False),
        ("PatchQuoteRequest", {}, False),
        ("PatchSubscriptionRequest", {"quantity": 2}, False),
        ("CreatePlanRequest", {"code": "-x", "name": "X", "currency": "USD", "amount": 1, "interval": "month"}, False),
        ("CreateQuoteRequest", {"customerId": UUID, "lines": [LINE], "total": 5}, False),
        ("GenerateInvoiceRequest", {}, True),
    ],
)
def test_request_schema_rules(schema_name: str, body: dict[str, Any], valid: bool) -> None:
    validator = validator_for({"$ref": f"#/components/schemas/{schema_name}"})
    assert validator.is_valid(body) is valid
