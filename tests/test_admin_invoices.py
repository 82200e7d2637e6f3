"""Admin invoices: list newest first, and paying drives dunning recovery (past_due -> active)."""

from __future__ import annotations

from typing import Any

import httpx
from control_plane_client import bearer, client, create_plan, make_app, new_entity, sales_get


def _post(http: httpx.Client, entity: dict[str, Any], path: str, body: Any) -> Any:
    params = {"entityId": entity["entityId"]}
    answer = http.post(f"/api/sales{path}", params=params, json=body, headers=bearer(entity["apiKeys"]["readWrite"]))
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_paying_the_overdue_invoice_reactivates_the_subscription() -> None:
    http = client(make_app())
    entity = new_entity(http)
    admin = f"/__admin/entities/{entity['entityId']}"
    customer = http.post(f"{admin}/customers", json={"name": "Acme", "currency": "USD"}).json()
    plan = create_plan(http, entity).json()
    sub = _post(http, entity, "/subscriptions", {"customerId": customer["id"], "planId": plan["id"]})
    first = _post(http, entity, f"/subscriptions/{sub['id']}/generate-invoice", {"dueInDays": 5})
    http.post(f"{admin}/clock/advance", json={"days": 6})
    overdue = _post(http, entity, f"/subscriptions/{sub['id']}/dunning", {"action": "remind"})
    assert overdue["status"] == "past_due"
    http.post(f"{admin}/clock/advance", json={"months": 1})
    second = _post(http, entity, f"/subscriptions/{sub['id']}/generate-invoice", {})
    listed = http.get(f"{admin}/invoices").json()["data"]
    assert [i["id"] for i in listed] == [second["id"], first["id"]]
    paid = http.post(f"{admin}/invoices/{first['id']}/pay")
    assert paid.status_code == 200 and paid.json()["status"] == "paid" and paid.json()["paidAt"]
    assert http.post(f"{admin}/invoices/{first['id']}/pay").status_code == 409
    http.post(f"{admin}/invoices/{second['id']}/pay")
    listed_subs = sales_get(http, entity, "/subscriptions").json()["data"]
    assert [s["status"] for s in listed_subs if s["id"] == sub["id"]] == ["active"]
