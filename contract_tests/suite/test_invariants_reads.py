"""Layer 3, read-only part: paging and filters against the full list, the dashboard recomputed
from the list endpoints. Safe against any target."""

from __future__ import annotations

import pytest

from contract_tests import oracle
from contract_tests.client import SalesApi
from contract_tests.suite import scenarios


@pytest.mark.sales_ops("listQuotes", "listOrders")
@pytest.mark.parametrize("kind", ["quotes", "orders"])
def test_sampled_pages_agree_with_each_other(api: SalesApi, kind: str) -> None:
    """However full the target: a few pages (first, last, some between) tile the list without overlap."""
    total, pages = api.sample_pages(f"/{kind}", size=25, seed=len(kind))
    seen: set[str] = set()
    for page, body in sorted(pages.items()):
        assert body["total"] == total, f"page {page}: total {body['total']}, page 1 said {total}"
        expected = max(0, min(25, total - (page - 1) * 25))
        assert len(body["data"]) == expected, f"page {page} of {total} items holds {len(body['data'])}"
        ids = {item["id"] for item in body["data"]}
        assert not ids & seen, f"page {page} repeats items of other pages: {sorted(ids & seen)[:3]}"
        seen |= ids


@pytest.mark.sales_ops("listQuotes", "listOrders")
@pytest.mark.parametrize("kind", ["quotes", "orders"])
def test_pages_and_filters_agree_with_the_full_list(api: SalesApi, kind: str) -> None:
    full = api.list_all(f"/{kind}")  # skipped on a target too full to walk
    for page, size in ((1, 1), (2, 2), (1, 3), (len(full) + 5, 4)):
        body = api.expect(200, "GET", f"/{kind}", params={"page": page, "pageSize": size})
        assert body["total"] == len(full), f"total {body['total']} but the full list has {len(full)} items"
        ids = [item["id"] for item in body["data"]]
        assert ids == [item["id"] for item in oracle.expected_page(full, page, size)], f"page {page}/{size}"
    for status, count in oracle.count_by(full).items():
        body = api.expect(200, "GET", f"/{kind}", params={"status": status, "pageSize": 100})
        assert body["total"] == count, f"status={status}: total {body['total']}, the full list has {count}"
        assert {item["status"] for item in body["data"]} <= {status}


@pytest.mark.sales_ops("listQuotes")
def test_bad_status_filter_is_400(api: SalesApi) -> None:
    api.expect(400, "GET", "/quotes", params={"status": "not-a-status"})


@pytest.mark.sales_ops("getDashboard", "listSubscriptions", "listQuotes", "listOrders", "listCustomers")
def test_dashboard_recomputed_from_lists(api: SalesApi) -> None:
    problems = scenarios.dashboard_problems(api)
    assert not problems, problems
