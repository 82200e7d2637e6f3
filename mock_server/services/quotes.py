"""Quote use cases: list, create, get, patch, delete, and lazy expiry.

Every function validates everything before it changes anything: a failed call changes nothing.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Any

from mock_server.domain import quotes as rules
from mock_server.domain.errors import Conflict, FieldProblem, Unprocessable
from mock_server.domain.lines import price_lines, totals
from mock_server.domain.periods import format_instant, parse_date, start_of_day
from mock_server.services.common import commit_draft_patch, date_field, find, instant, new_id, page_envelope, referenced
from mock_server.store import EntityState, Resource


def list_quotes(entity: EntityState, query: dict[str, Any]) -> bytes:
    """A page of quotes, newest first, optionally of one ``status``."""
    return page_envelope(entity, "quotes", query)


def get_quote(entity: EntityState, quote_id: str) -> Resource:
    """The quote, or 404."""
    return find(entity, "quotes", quote_id, "quote")


def _customer_for(entity: EntityState, customer_id: str, currency: str | None) -> Resource:
    customer = referenced(entity, "customers", customer_id, "customerId", "customer")
    if currency is not None and customer["currency"] != currency:
        message = f"the customer's currency is {customer['currency']}, not {currency}"
        raise Unprocessable(message, [FieldProblem("currency", message)])
    return customer


def create_quote(entity: EntityState, body: dict[str, Any], now: datetime, *, quote_id: str | None = None) -> Resource:
    """A new ``draft`` quote numbered ``Q-nnnnnn``; 422 for an unknown customer or another currency."""
    customer = _customer_for(entity, body["customerId"], body.get("currency"))
    issue = date_field(body, "issueDate", now.date())
    valid_until = date_field(body, "validUntil", issue) if "validUntil" in body else rules.default_valid_until(issue)
    rules.check_validity(issue, valid_until)
    lines = price_lines(body["lines"], customer["taxRateBps"], new_id)
    stamp = instant(now)
    quote: Resource = {
        "id": quote_id or new_id(),
        "number": entity.next_number("quotes"),
        "customerId": customer["id"],
        "status": "draft",
        "currency": customer["currency"],
        "issueDate": issue.isoformat(),
        "validUntil": valid_until.isoformat(),
        "lines": lines,
        **totals(lines),
        "notes": body.get("notes"),
        "orderId": None,
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    return entity.add("quotes", quote)


def patch_quote(entity: EntityState, quote_id: str, body: dict[str, Any], now: datetime) -> Resource:
    """Edit a draft (``customerId``, ``lines``, ``validUntil``, ``notes``) and/or perform one status
    transition (edits first). Sending a quote whose ``validUntil`` has passed is a 409."""
    quote = get_quote(entity, quote_id)
    edits = [name for name in rules.EDITABLE_IN_DRAFT if name in body]
    rules.check_editable(quote["status"], edits)
    target = str(body.get("status", quote["status"]))
    transition = rules.check_patch_transition(quote["status"], target)
    customer = _customer_for(entity, str(body.get("customerId", quote["customerId"])), quote["currency"])
    valid_until = date_field(body, "validUntil", parse_date(quote["validUntil"]))
    rules.check_validity(parse_date(quote["issueDate"]), valid_until)
    if target == "sent" and transition and valid_until < now.date():
        raise Conflict(f"the quote's validUntil {valid_until.isoformat()} has passed; extend it before sending")
    lines = price_lines(body["lines"], customer["taxRateBps"], new_id) if "lines" in body else None
    quote["customerId"] = customer["id"]
    quote["validUntil"] = valid_until.isoformat()
    return commit_draft_patch(entity, "quotes", quote, body, lines, target if transition else None, now)


def delete_quote(entity: EntityState, quote_id: str) -> None:
    """Delete a draft quote; 409 in any other status."""
    quote = get_quote(entity, quote_id)
    rules.check_deletable(quote["status"])
    entity.remove("quotes", quote_id)


def expire_quotes(entity: EntityState, now: datetime) -> None:
    """Apply ``sent -> expired`` to every sent quote whose ``validUntil`` is before ``now``'s date,
    oldest first. ``updatedAt`` is the instant the quote expired, 00:00Z the day after validUntil
    (or its last update, if that is later: a quote sent with a past validUntil by fixtures)."""
    today = now.date().isoformat()
    heap = entity.quote_expiry
    while heap and heap[0][0] < today:
        valid_until, quote_id = heapq.heappop(heap)
        quote = entity.get("quotes", quote_id)
        if quote is None or quote["status"] != "sent" or quote["validUntil"] != valid_until:
            continue
        entity.set_status("quotes", quote_id, "expired")
        expired_at = format_instant(start_of_day(parse_date(valid_until) + timedelta(days=1)))
        quote["updatedAt"] = max(expired_at, quote["updatedAt"])
