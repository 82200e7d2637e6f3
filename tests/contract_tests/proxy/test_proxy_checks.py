"""The proxy's checks without a network: status changes, paging walks, tenancy, redaction, the contract matcher."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.proxy import redact
from contract_tests.proxy.exchange import Exchange
from contract_tests.proxy.invariants import Observer
from contract_tests.proxy.spec import Contract
from mock_server.resources import spec_path

A, B = "497f6eca-6276-4993-bfeb-53cbbbba6f08", "f1f5c646-a768-4f15-ab7e-5e3088389de0"


def exchange(
    method: str, path: str, status: int, body: Any, query: str = f"entityId={A}", request: Any = None
) -> Exchange:
    ex = Exchange(0, method, path, path.encode(), query.encode(), [], request_body=request)
    ex.status, ex.response_body = status, body
    return ex


def order(order_id: str, status: str) -> dict[str, Any]:
    return {"id": order_id, "status": status, "lines": [], "customerId": "c1"}


def test_a_patch_must_be_one_legal_step_and_ask_for_what_it_got() -> None:
    observer = Observer()
    assert observer.problems(exchange("POST", "/api/sales/orders", 201, order("o1", "draft")), "createOrder") == []
    jump = exchange("PATCH", "/api/sales/orders/o1", 200, order("o1", "fulfilled"), request={"status": "fulfilled"})
    assert any(
        "illegal status change of order o1: draft -> fulfilled" in p for p in observer.problems(jump, "patchOrder")
    )
    wrong = exchange("PATCH", "/api/sales/orders/o1", 200, order("o1", "confirmed"), request={"status": "canceled"})
    assert any("asked for status canceled" in p for p in observer.problems(wrong, "patchOrder"))


def test_observations_must_be_reachable_and_only_drafts_are_deleted() -> None:
    observer = Observer()
    observer.problems(exchange("GET", "/api/sales/orders/o2", 200, order("o2", "canceled")), "getOrder")
    back = observer.problems(exchange("GET", "/api/sales/orders/o2", 200, order("o2", "confirmed")), "getOrder")
    assert any("canceled -> confirmed" in p for p in back)
    observer.problems(exchange("GET", "/api/sales/quotes/q1", 200, {"id": "q1", "status": "sent"}), "getQuote")
    later = exchange("GET", "/api/sales/quotes/q1", 200, {"id": "q1", "status": "expired"})
    assert observer.problems(later, "getQuote") == [], "sent -> expired happens by time"
    deleted = observer.problems(exchange("DELETE", "/api/sales/quotes/q1", 204, None), "deleteQuote")
    assert any("only a draft may be deleted" in p for p in deleted)


def page(ids: list[str], page_no: int, total: int) -> dict[str, Any]:
    return {"data": [{"id": i, "status": "draft"} for i in ids], "page": page_no, "pageSize": 2, "total": total}


def test_a_paging_walk_has_no_item_twice_and_a_stable_total() -> None:
    observer = Observer()
    first = exchange("GET", "/api/sales/quotes", 200, page(["a", "b"], 1, 4), f"entityId={A}&pageSize=2&page=1")
    assert observer.problems(first, "listQuotes") == []
    second = exchange("GET", "/api/sales/quotes", 200, page(["b", "c"], 2, 5), f"entityId={A}&pageSize=2&page=2")
    found = observer.problems(second, "listQuotes")
    assert any("item b is on page 1 and on page 2" in p for p in found)
    assert any("total changed from 4 to 5" in p for p in found)


def test_an_item_of_another_entity_in_a_list_is_a_leak() -> None:
    observer = Observer()
    theirs = {"data": [{"id": "cust-b", "name": "B's"}]}
    assert (
        observer.problems(exchange("GET", "/api/sales/customers", 200, theirs, f"entityId={B}"), "listCustomers") == []
    )
    mine = {"data": [{"id": "cust-a"}, {"id": "cust-b"}]}
    found = observer.problems(exchange("GET", "/api/sales/customers", 200, mine), "listCustomers")
    assert found == [f"customers cust-b belongs to entity {B} but is in an answer for entity {A}"]


def test_redaction_of_headers_bodies_and_curl_lines() -> None:
    assert redact.header_value("Authorization", "Bearer ak_live_x1") == "Bearer [REDACTED]"
    assert redact.header_value("Cookie", "axiomatic_session=sess_1") == "[REDACTED]"
    assert redact.header_value("Idempotency-Key", "k-1") == "[REDACTED]"
    body = redact.body({"apiKeys": {"readWrite": "ak_1", "readOnly": "ak_2"}, "note": "use ak_live_abc please", "n": 1})
    assert body == {
        "apiKeys": {"readWrite": "[REDACTED]", "readOnly": "[REDACTED]"},
        "note": "use [REDACTED] please",
        "n": 1,
    }
    line = redact.curl(
        "POST",
        "http://x/api?token=t",
        [("authorization", "Bearer ak_z"), ("cookie", "s=1"), ("idempotency-key", "idem-val-9"), ("x-y", "z")],
        '{"a": 1}',
    )
    assert "ak_z" not in line and "s=1" not in line and "idem-val-9" not in line and "$SALES_API_KEY" in line
    assert redact.query("entityId=1&token=abc") == "entityId=1&token=%5BREDACTED%5D"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/sales/quotes/abc", "getQuote"),
        ("PATCH", "/api/sales/subscriptions/s/change-plan", None),
        ("GET", "/api/sales/nothing", None),
    ],
)
def test_the_contract_matches_operations_and_knows_allowed_methods(
    method: str, path: str, expected: str | None
) -> None:
    contract = Contract(spec_path())
    match = contract.match(method, path)
    assert (match.operation.operation_id if match.operation else None) == expected
    if path.endswith("change-plan"):
        assert match.allowed == ("POST",)
        problems = contract.response_problems(match, method, 405, {}, {"error": "no"}, 10)
        assert problems == ["the 405 answer lacks the required header Allow"]
