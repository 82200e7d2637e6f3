"""Orders through the ASGI app: direct and from a quote, status machine, edits, delete and quote return."""

from __future__ import annotations

from conftest import ACME, BERLIN, Api


def test_direct_order_prices_lines_with_customer_tax(api: Api) -> None:
    order = api.order(customer=BERLIN, lines=[{"description": "Day", "quantity": 3, "unitPrice": 110000}])
    assert order["number"].startswith("SO-") and order["status"] == "draft" and order["quoteId"] is None
    assert order["currency"] == "EUR" and order["lines"][0]["taxRateBps"] == 1900
    assert (order["subtotal"], order["taxTotal"], order["total"]) == (330000, 62700, 392700)


def test_numbers_continue_after_the_fixtures(api: Api) -> None:
    first, second = api.order(), api.order()
    assert int(second["number"][3:]) == int(first["number"][3:]) + 1


def test_order_from_accepted_quote_copies_and_converts(api: Api) -> None:
    quote = api.accepted_quote(lines=[{"description": "A", "quantity": 2, "unitPrice": 333, "discountBps": 150}])
    order = api.ok(api.post("/orders", {"quoteId": quote["id"], "orderDate": "2025-03-02"}), 201)
    assert (order["customerId"], order["currency"], order["quoteId"]) == (quote["customerId"], "USD", quote["id"])
    assert [(x["amount"], x["taxAmount"]) for x in order["lines"]] == [
        (x["amount"], x["taxAmount"]) for x in quote["lines"]
    ]
    assert order["lines"][0]["id"] != quote["lines"][0]["id"]
    assert order["total"] == quote["total"]
    converted = api.ok(api.get(f"/quotes/{quote['id']}"))
    assert converted["status"] == "converted" and converted["orderId"] == order["id"]
    assert api.post("/orders", {"quoteId": quote["id"], "orderDate": "2025-03-02"}).status_code == 409


def test_order_from_quote_not_accepted_is_409_and_unknown_is_422(api: Api) -> None:
    draft = api.quote()
    assert api.post("/orders", {"quoteId": draft["id"], "orderDate": "2025-03-01"}).status_code == 409
    unknown = api.post("/orders", {"quoteId": "00000000-0000-4000-8000-000000000000", "orderDate": "2025-03-01"})
    assert unknown.status_code == 422
    foreign = api.post("/orders", {"quoteId": "ac3b5a7f-9e1d-4f4b-8a6c-8d0e2f4a6b8c", "orderDate": "2025-03-01"})
    assert foreign.status_code == 422


def test_mixed_or_missing_forms_are_400(api: Api) -> None:
    quote = api.accepted_quote()
    mixed = {"quoteId": quote["id"], "customerId": ACME, "orderDate": "2025-03-01"}
    assert api.post("/orders", mixed).status_code == 400
    assert api.post("/orders", {"orderDate": "2025-03-01"}).status_code == 400
    assert api.post("/orders", {"orderDate": "2025-03-01", "customerId": ACME}).status_code == 400
    assert api.ok(api.get(f"/quotes/{quote['id']}"))["status"] == "accepted"


def test_unknown_customer_is_422(api: Api) -> None:
    body = {
        "customerId": "00000000-0000-4000-8000-000000000000",
        "orderDate": "2025-03-01",
        "lines": [{"description": "x", "quantity": 1, "unitPrice": 1}],
    }
    assert api.post("/orders", body).status_code == 422


def test_ids_in_the_body_compare_case_insensitively_as_in_paths(api: Api) -> None:
    direct = api.order(customer=ACME.upper())
    assert direct["customerId"] == ACME
    quote = api.accepted_quote(customer=ACME.upper())
    assert quote["customerId"] == ACME
    converted = api.ok(api.post("/orders", {"orderDate": "2025-03-01", "quoteId": quote["id"].upper()}), 201)
    assert converted["quoteId"] == quote["id"]


def test_status_machine(api: Api) -> None:
    order = api.order()
    path = f"/orders/{order['id']}"
    assert api.patch(path, {"status": "fulfilled"}).status_code == 409
    assert api.ok(api.patch(path, {"status": "confirmed"}))["status"] == "confirmed"
    assert api.ok(api.patch(path, {"status": "confirmed"}))["status"] == "confirmed"  # no-op
    assert api.patch(path, {"notes": "late"}).status_code == 409
    assert api.patch(path, {"status": "draft"}).status_code == 409
    assert api.ok(api.patch(path, {"status": "fulfilled"}))["status"] == "fulfilled"
    assert api.patch(path, {"status": "canceled"}).status_code == 409
    assert api.delete(path).status_code == 409
    other = api.order()
    assert api.ok(api.patch(f"/orders/{other['id']}", {"status": "canceled"}))["status"] == "canceled"


def test_draft_edits(api: Api) -> None:
    order = api.order()
    body = {
        "orderDate": "2025-03-09",
        "notes": "Rush",
        "lines": [{"description": "B", "quantity": 4, "unitPrice": 250}],
    }
    edited = api.ok(api.patch(f"/orders/{order['id']}", body))
    assert (edited["orderDate"], edited["notes"], edited["subtotal"], edited["taxTotal"]) == (
        "2025-03-09",
        "Rush",
        1000,
        83,
    )


def test_delete_draft_returns_its_quote_to_accepted(api: Api) -> None:
    quote = api.accepted_quote()
    order = api.ok(api.post("/orders", {"quoteId": quote["id"], "orderDate": "2025-03-01"}), 201)
    assert api.delete(f"/orders/{order['id']}").status_code == 204
    back = api.ok(api.get(f"/quotes/{quote['id']}"))
    assert back["status"] == "accepted" and back["orderId"] is None
    assert api.get(f"/orders/{order['id']}").status_code == 404
    again = api.ok(api.post("/orders", {"quoteId": quote["id"], "orderDate": "2025-03-01"}), 201)
    assert again["quoteId"] == quote["id"]


def test_list_paging_and_filter(api: Api) -> None:
    made = [api.order()["id"] for _ in range(3)]
    api.ok(api.patch(f"/orders/{made[0]}", {"status": "confirmed"}))
    page = api.ok(api.get("/orders", params={"pageSize": 2}))
    assert [o["id"] for o in page["data"]] == made[::-1][:2]
    confirmed = api.ok(api.get("/orders", params={"status": "confirmed", "pageSize": 100}))
    assert made[0] in [o["id"] for o in confirmed["data"]]
    assert all(o["status"] == "confirmed" for o in confirmed["data"])
    assert confirmed["total"] == len(confirmed["data"])


def test_unknown_order_is_404(api: Api) -> None:
    missing = "/orders/00000000-0000-4000-8000-000000000000"
    assert api.get(missing).status_code == 404
    assert api.patch(missing, {"notes": "x"}).status_code == 404
    assert api.delete(missing).status_code == 404
