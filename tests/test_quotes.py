"""Quotes through the ASGI app: arithmetic, numbering, defaults, paging, filters, status machine, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ACME, BERLIN, DEMO, NORTHWIND, OTHER, OTHER_RW, TOKYO, Api, AppFactory

from mock_server.services.customers import create_customer


def test_create_computes_lines_and_totals(api: Api) -> None:
    lines = [
        {"description": "Workshop", "quantity": 2, "unitPrice": 150000, "discountBps": 1000},
        {"description": "Onboarding", "quantity": 1, "unitPrice": 49900},
    ]
    quote = api.quote(lines=lines, notes="Held 30 days")
    first, second = quote["lines"]
    assert (first["amount"], first["taxAmount"], first["taxRateBps"]) == (270000, 22275, 825)
    assert (second["amount"], second["taxAmount"], second["discountBps"]) == (49900, 4117, 0)
    assert (quote["subtotal"], quote["taxTotal"], quote["total"]) == (319900, 26392, 346292)
    assert quote["status"] == "draft" and quote["currency"] == "USD" and quote["orderId"] is None
    assert quote["issueDate"] == "2025-03-01" and quote["validUntil"] == "2025-03-31"
    assert quote["createdAt"] == quote["updatedAt"] == "2025-03-01T00:00:00Z"
    assert api.ok(api.get(f"/quotes/{quote['id']}")) == quote


def test_rounding_is_half_away_from_zero(api: Api) -> None:
    # 1 x 5 at 5000 bps discount = 2.5 -> 3; tax 3 x 5000 bps = 1.5 -> 2
    lines = [{"description": "Half", "quantity": 1, "unitPrice": 5, "discountBps": 5000, "taxRateBps": 5000}]
    line = api.quote(lines=lines)["lines"][0]
    assert (line["amount"], line["taxAmount"]) == (3, 2)


def test_numbers_are_sequential_per_entity(make_api: AppFactory) -> None:
    api = make_api(fixtures="empty")
    for entity in api.runtime.store.entities.values():
        create_customer(entity, {"name": "C", "currency": "USD"}, entity.clock.now(), customer_id=ACME)
    numbers = [api.quote()["number"] for _ in range(3)]
    assert numbers == ["Q-000001", "Q-000002", "Q-000003"]
    other = api.post(
        "/quotes",
        {"customerId": ACME, "lines": [{"description": "x", "quantity": 1, "unitPrice": 1}]},
        key=OTHER_RW,
        entity=OTHER,
    )
    assert api.ok(other, 201)["number"] == "Q-000001"


def test_currency_defaults_and_must_match_customer(api: Api) -> None:
    assert api.quote(customer=TOKYO)["currency"] == "JPY"
    response = api.post("/quotes", {"customerId": BERLIN, "currency": "USD", "lines": [_line()]})
    assert response.status_code == 422 and "currency" in response.json()["error"]


@pytest.mark.parametrize("customer", ["00000000-0000-4000-8000-000000000000", "7f0e2d4c-6b8a-4c1e-9d3f-5a7b9c1d3e5f"])
def test_unknown_or_foreign_customer_is_422(api: Api, customer: str) -> None:
    response = api.post("/quotes", {"customerId": customer, "lines": [_line()]})
    assert response.status_code == 422


def test_valid_until_before_issue_date_is_422(api: Api) -> None:
    response = api.post(
        "/quotes", {"customerId": ACME, "lines": [_line()], "issueDate": "2025-03-10", "validUntil": "2025-03-09"}
    )
    assert response.status_code == 422 and response.json()["details"][0]["path"] == "validUntil"


def test_default_valid_until_past_the_last_date_is_422_not_500(api: Api) -> None:
    body = {"customerId": ACME, "lines": [_line()], "issueDate": "9999-12-31"}
    response = api.post("/quotes", body)
    assert response.status_code == 422 and response.json()["details"][0]["path"] == "validUntil"
    quote = api.ok(api.post("/quotes", {**body, "validUntil": "9999-12-31"}), 201)
    assert quote["validUntil"] == "9999-12-31"


def test_a_new_customer_keeps_the_lines_unless_they_are_sent_again(api: Api) -> None:
    quote = api.quote(customer=ACME)  # 825 bps
    moved = api.ok(api.patch(f"/quotes/{quote['id']}", {"customerId": NORTHWIND}))  # 0 bps
    assert moved["customerId"] == NORTHWIND and moved["lines"] == quote["lines"] and moved["taxTotal"] == 165
    repriced = api.ok(api.patch(f"/quotes/{quote['id']}", {"customerId": NORTHWIND, "lines": [_line()]}))
    assert repriced["lines"][0]["taxRateBps"] == 0 and repriced["taxTotal"] == 0


def test_list_is_paged_newest_first_with_true_total(api: Api) -> None:
    before = api.ok(api.get("/quotes"))["total"]
    made = [api.quote()["number"] for _ in range(5)]
    page = api.ok(api.get("/quotes", params={"page": 1, "pageSize": 2}))
    assert [q["number"] for q in page["data"]] == made[::-1][:2]
    assert (page["page"], page["pageSize"], page["total"]) == (1, 2, before + 5)
    second = api.ok(api.get("/quotes", params={"page": 2, "pageSize": 2}))
    assert [q["number"] for q in second["data"]] == made[::-1][2:4]
    past = api.ok(api.get("/quotes", params={"page": 999, "pageSize": 100}))
    assert past["data"] == [] and past["total"] == before + 5
    assert api.ok(api.get("/quotes"))["pageSize"] == 20


def test_status_filter_keeps_creation_order(api: Api) -> None:
    a, b = api.quote(), api.quote()
    api.ok(api.patch(f"/quotes/{b['id']}", {"status": "sent"}))
    api.ok(api.patch(f"/quotes/{a['id']}", {"status": "sent"}))
    sent = api.ok(api.get("/quotes", params={"status": "sent", "pageSize": 100}))["data"]
    ids = [q["id"] for q in sent]
    assert ids.index(b["id"]) < ids.index(a["id"])  # newest first by creation, not by change
    assert all(q["status"] == "sent" for q in sent)
    assert api.get("/quotes", params={"status": "bogus"}).status_code == 400


def test_status_machine(api: Api) -> None:
    quote = api.quote()
    path = f"/quotes/{quote['id']}"
    assert api.patch(path, {"status": "accepted"}).status_code == 409
    assert api.ok(api.patch(path, {"status": "draft"}))["updatedAt"] == quote["updatedAt"]  # no-op
    assert api.ok(api.patch(path, {"status": "sent"}))["status"] == "sent"
    assert api.patch(path, {"notes": "late"}).status_code == 409
    assert api.patch(path, {"status": "expired"}).status_code == 409
    assert api.patch(path, {"status": "converted"}).status_code == 409
    assert api.ok(api.patch(path, {"status": "declined"}))["status"] == "declined"
    assert api.patch(path, {"status": "accepted"}).status_code == 409
    assert api.delete(path).status_code == 409


def test_draft_edits_replace_lines_and_recompute(api: Api) -> None:
    quote = api.quote()
    body = {
        "lines": [{"description": "New", "quantity": 3, "unitPrice": 100}],
        "notes": None,
        "customerId": NORTHWIND,
        "validUntil": "2025-04-30",
        "status": "sent",
    }
    edited = api.ok(api.patch(f"/quotes/{quote['id']}", body))
    assert edited["customerId"] == NORTHWIND and edited["status"] == "sent"
    assert (edited["subtotal"], edited["taxTotal"], edited["total"]) == (300, 0, 300)  # Northwind: 0 bps
    assert edited["validUntil"] == "2025-04-30" and edited["notes"] is None


def test_edit_to_customer_in_another_currency_is_422_and_changes_nothing(api: Api) -> None:
    quote = api.quote()
    response = api.patch(f"/quotes/{quote['id']}", {"customerId": TOKYO, "notes": "x"})
    assert response.status_code == 422
    assert api.ok(api.get(f"/quotes/{quote['id']}")) == quote


def test_delete_draft_only(api: Api) -> None:
    quote = api.quote()
    assert api.delete(f"/quotes/{quote['id']}").status_code == 204
    assert api.get(f"/quotes/{quote['id']}").status_code == 404
    assert api.delete(f"/quotes/{quote['id']}").status_code == 404


def test_sent_quote_expires_the_day_after_valid_until(api: Api) -> None:
    quote = api.quote(validUntil="2025-03-05")
    api.ok(api.patch(f"/quotes/{quote['id']}", {"status": "sent"}))
    entity = api.runtime.store.entities[DEMO]
    entity.clock.advance(days=4)  # 2025-03-05: still valid
    assert api.ok(api.get(f"/quotes/{quote['id']}"))["status"] == "sent"
    entity.clock.advance_to(entity.clock.now() + timedelta(days=3))
    expired = api.ok(api.get(f"/quotes/{quote['id']}"))
    assert expired["status"] == "expired" and expired["updatedAt"] == "2025-03-06T00:00:00Z"
    assert api.patch(f"/quotes/{quote['id']}", {"status": "accepted"}).status_code == 409


def test_sending_a_quote_past_its_validity_is_409(api: Api) -> None:
    quote = api.quote(issueDate="2025-01-01", validUntil="2025-01-31")
    assert api.patch(f"/quotes/{quote['id']}", {"status": "sent"}).status_code == 409
    sent = api.patch(f"/quotes/{quote['id']}", {"status": "sent", "validUntil": "2025-03-31"})
    assert api.ok(sent)["status"] == "sent"


def test_unknown_quote_is_404_and_foreign_quote_too(api: Api) -> None:
    assert api.get("/quotes/00000000-0000-4000-8000-000000000000").status_code == 404
    foreign = "ac3b5a7f-9e1d-4f4b-8a6c-8d0e2f4a6b8c"  # Other Co's quote
    assert api.get(f"/quotes/{foreign}").status_code == 404
    assert api.patch(f"/quotes/{foreign}", {"notes": "x"}).status_code == 404
    assert api.delete(f"/quotes/{foreign}").status_code == 404


def _line() -> dict[str, object]:
    return {"description": "Item", "quantity": 1, "unitPrice": 100}
