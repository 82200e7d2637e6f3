"""Order use cases: list, create (direct or from an accepted quote), get, patch, delete.

Every function validates everything before it changes anything: a failed call changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mock_server.domain import orders as rules
from mock_server.domain.errors import FieldProblem, Unprocessable
from mock_server.domain.lines import copy_lines, price_lines, totals
from mock_server.services.common import commit_draft_patch, date_field, find, instant, new_id, page_envelope, referenced
from mock_server.store import EntityState, Resource


def list_orders(entity: EntityState, query: dict[str, Any]) -> bytes:
    """A page of orders, newest first, optionally of one ``status``."""
    return page_envelope(entity, "orders", query)


def get_order(entity: EntityState, order_id: str) -> Resource:
    """The order, or 404."""
    return find(entity, "orders", order_id, "order")


def _source_quote(entity: EntityState, quote_id: str) -> Resource:
    quote = entity.get("quotes", quote_id.lower())
    if quote is None:
        raise Unprocessable("quoteId refers to no quote of this entity", [FieldProblem("quoteId", "unknown quote")])
    rules.check_convertible(quote["status"])
    return quote


def create_order(entity: EntityState, body: dict[str, Any], now: datetime, *, order_id: str | None = None) -> Resource:
    """A new ``draft`` order numbered ``SO-nnnnnn``. From a quote (``quoteId``): the quote must be
    accepted (409), its customer, currency and lines are copied and it becomes ``converted``.
    Direct (``customerId`` + ``lines``): the currency is the customer's; 422 for an unknown customer."""
    form = rules.check_create_form(body)
    order_date = date_field(body, "orderDate", now.date())
    quote = _source_quote(entity, body["quoteId"]) if form == "quote" else None
    if quote is not None:
        customer = referenced(entity, "customers", quote["customerId"], "quoteId", "customer")
        lines = copy_lines(quote["lines"], new_id)
    else:
        customer = referenced(entity, "customers", body["customerId"], "customerId", "customer")
        lines = price_lines(body["lines"], customer["taxRateBps"], new_id)
    stamp = instant(now)
    order: Resource = {
        "id": order_id or new_id(),
        "number": entity.next_number("orders"),
        "customerId": customer["id"],
        "quoteId": quote["id"] if quote is not None else None,
        "status": "draft",
        "orderDate": order_date.isoformat(),
        "currency": quote["currency"] if quote is not None else customer["currency"],
        "lines": lines,
        **totals(lines),
        "notes": body.get("notes"),
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    entity.add("orders", order)
    if quote is not None:
        entity.set_status("quotes", quote["id"], "converted")
        quote["orderId"] = order["id"]
        quote["updatedAt"] = stamp
    return order


def patch_order(entity: EntityState, order_id: str, body: dict[str, Any], now: datetime) -> Resource:
    """Edit a draft (``orderDate``, ``lines``, ``notes``) and/or perform one status transition (edits first)."""
    order = get_order(entity, order_id)
    edits = [name for name in rules.EDITABLE_IN_DRAFT if name in body]
    rules.check_editable(order["status"], edits)
    target = str(body.get("status", order["status"]))
    transition = rules.check_patch_transition(order["status"], target)
    order_date = date_field(body, "orderDate", date_field(order, "orderDate", now.date()))
    lines = None
    if "lines" in body:
        customer = entity.get("customers", order["customerId"])
        default_tax = customer["taxRateBps"] if customer is not None else 0
        lines = price_lines(body["lines"], default_tax, new_id)
    order["orderDate"] = order_date.isoformat()
    return commit_draft_patch(entity, "orders", order, body, lines, target if transition else None, now)


def delete_order(entity: EntityState, order_id: str, now: datetime) -> None:
    """Delete a draft order (409 otherwise); a quote it was made from returns to ``accepted``."""
    order = get_order(entity, order_id)
    rules.check_deletable(order["status"])
    entity.remove("orders", order_id)
    quote = entity.get("quotes", order["quoteId"]) if order["quoteId"] else None
    if quote is not None and quote["status"] == "converted" and quote["orderId"] == order_id:
        entity.set_status("quotes", quote["id"], "accepted")
        quote["orderId"] = None
        quote["updatedAt"] = instant(now)
