"""The defects: each function is one realistic way a live Sales API server goes wrong."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import variants
from catalog import DEMO_ENTITY, KEYS_BY_ENTITY, OTHER_ENTITY, Exchange, Mutant, new_id


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _ok(ex: Exchange) -> bool:
    return 200 <= ex.status < 300 and ex.body is not None


def drop_quote_number(ex: Exchange) -> None:
    """A serializer refactor forgot the required ``number`` of quotes."""
    if _ok(ex) and "/quotes" in ex.path:
        for node in _walk(ex.body):
            if "validUntil" in node:
                node.pop("number", None)


def order_total_as_string(ex: Exchange) -> None:
    """A Decimal serialised as a string: ``"total": "1234"``."""
    if _ok(ex) and "/orders" in ex.path:
        for node in _walk(ex.body):
            if "orderDate" in node and "total" in node:
                node["total"] = str(node["total"])


def create_plan_200(ex: Exchange) -> None:
    """Create plan answers 200 instead of 201."""
    if ex.is_op("POST", "/plans") and ex.status == 201:
        ex.status = 200


def not_found_is_410(ex: Exchange) -> None:
    """A new gateway maps 404 to an undocumented 410 Gone."""
    if ex.status == 404:
        ex.status = 410


def auth_ignored(ex: Exchange) -> None:
    """A debugging bypass left on: no credentials means the demo key."""
    auth = ex.headers.get("authorization", "")
    if not auth.startswith("Bearer ak_") or auth in ("Bearer ak_this_key_does_not_exist",):
        ex.headers["authorization"] = "Bearer ak_demo_readwrite"


def entity_from_query(ex: Exchange) -> None:
    """Tenancy taken from ``entityId`` instead of the key: any valid key reads any entity."""
    key = KEYS_BY_ENTITY.get(ex.query.get("entityId", ""))
    if key and ex.headers.get("authorization", "").startswith("Bearer ak_"):
        ex.headers["authorization"] = f"Bearer {key}"


def readonly_key_writes(ex: Exchange) -> None:
    """Scopes not enforced: the read-only key may write."""
    if ex.headers.get("authorization") == "Bearer ak_demo_readonly":
        ex.headers["authorization"] = "Bearer ak_demo_readwrite"


def total_off_by_one(ex: Exchange) -> None:
    """A COUNT(*) that also counts a deleted row: page ``total`` one too high."""
    if _ok(ex) and isinstance(ex.body, dict) and "total" in ex.body and "pageSize" in ex.body:
        ex.body["total"] += 1


def status_filter_ignored(ex: Exchange) -> None:
    """The list endpoints drop the ``status`` filter."""
    if ex.method == "GET" and ex.path.rstrip("/").endswith(("/quotes", "/orders", "/subscriptions")):
        ex.query.pop("status", None)


def delete_sent_quote(ex: Exchange) -> None:
    """DELETE of a non-draft quote claims success."""
    if ex.is_op("DELETE", "/quotes/*") and ex.status == 409:
        ex.status, ex.body = 204, None
        ex.response_headers = [(k, v) for k, v in ex.response_headers if k.lower() != b"content-type"]


def float_rounding(ex: Exchange) -> None:
    """Line amounts computed with floats and Python's banker's ``round``."""
    if not _ok(ex) or not ("/quotes" in ex.path or "/orders" in ex.path):
        return
    for node in _walk(ex.body):
        lines = node.get("lines")
        if isinstance(lines, list) and lines and isinstance(lines[0], dict) and "unitPrice" in lines[0]:
            for line in lines:
                line["amount"] = round(line["quantity"] * line["unitPrice"] * (1 - line.get("discountBps", 0) / 10000))
                line["taxAmount"] = round(line["amount"] * line.get("taxRateBps", 0) / 10000)
            node["subtotal"] = sum(line["amount"] for line in lines)
            node["taxTotal"] = sum(line["taxAmount"] for line in lines)
            node["total"] = node["subtotal"] + node["taxTotal"]


def proration_off_by_one(ex: Exchange) -> None:
    """The charge uses ``R + 1`` days' worth, rounded: one minor unit too much."""
    if _ok(ex) and ex.is_op("POST", "/subscriptions/*/change-plan"):
        proration = ex.body.get("proration") or {}
        if proration.get("charge"):
            proration["charge"] += 1
            proration["net"] += 1
            for line in proration.get("lines") or []:
                if line["amount"] > 0:
                    line["amount"] += 1


async def mrr_counts_canceled(ex: Exchange) -> None:
    """MRR includes canceled subscriptions (a status filter lost in a query)."""
    if not (_ok(ex) and ex.is_op("GET", "/dashboard")):
        return
    subscriptions = (await ex.inner_get("/subscriptions"))["data"]
    rows = {row["currency"]: row for row in ex.body.get("revenue", [])}
    per_month = {"month": (1, 1), "year": (1, 12), "week": (52, 12), "day": (365, 12)}
    for sub in subscriptions:
        if sub["status"] == "canceled" and sub["currency"] in rows:
            times, per = per_month[sub["interval"]]
            amount = sub["unitAmount"] * sub["quantity"] * times // (per * sub.get("intervalCount", 1))
            rows[sub["currency"]]["mrr"] += amount


def invoice_not_idempotent(ex: Exchange) -> None:
    """generate-invoice bills again instead of returning the period's invoice."""
    if _ok(ex) and ex.is_op("POST", "/subscriptions/*/generate-invoice") and ex.status == 200:
        ex.status = 201
        ex.body["id"] = new_id()


def error_leaks_trace(ex: Exchange) -> None:
    """Validation errors carry the server's traceback."""
    if ex.status == 400 and isinstance(ex.body, dict):
        ex.body["trace"] = 'Traceback (most recent call last):\n  File "/srv/app/handlers.py", line 12'


def no_www_authenticate(ex: Exchange) -> None:
    """The 401 lost its ``WWW-Authenticate`` header."""
    if ex.status == 401:
        ex.response_headers = [(k, v) for k, v in ex.response_headers if k.lower() != b"www-authenticate"]


def credit_not_applied(ex: Exchange) -> None:
    """Invoices ignore the customer's credit balance: the whole total is due."""
    if _ok(ex) and ex.is_op("POST", "/subscriptions/*/generate-invoice"):
        invoice = ex.body
        if invoice.get("creditApplied", 0) > 0:
            invoice["creditApplied"], invoice["amountDue"], invoice["status"] = 0, invoice["total"], "open"


def expiry_ignored(ex: Exchange) -> None:
    """The expiry job stopped: a sent quote past its validUntil still reads as sent."""
    if _ok(ex) and ex.method == "GET" and "/quotes" in ex.path:
        for node in _walk(ex.body):
            if node.get("status") == "expired" and "validUntil" in node:
                node["status"] = "sent"


async def dunning_skips_steps(ex: Exchange) -> None:
    """Dunning is not escalating: an out-of-order step (grace period from active, ...) is applied anyway."""
    if not (ex.is_op("POST", "/subscriptions/*/dunning") and ex.status == 409):
        return
    subscription_id = ex.path.rstrip("/").split("/")[-2]
    listed = (await ex.inner_get("/subscriptions"))["data"]
    found = next((sub for sub in listed if sub["id"] == subscription_id), None)
    if found is not None and found["status"] != "canceled":
        ex.status, ex.body = 200, {**found, "status": "grace_period"}


def _drop_unknown(node: Any, allowed: dict[str, set[str]], where: str) -> Any:
    if isinstance(node, dict):
        keep = allowed.get(where)
        return {k: _drop_unknown(v, allowed, f"{where}.{k}") for k, v in node.items() if keep is None or k in keep}
    if isinstance(node, list):
        return [_drop_unknown(v, allowed, f"{where}[]") for v in node]
    return node


QUOTE_FIELDS = {"customerId", "lines", "currency", "issueDate", "validUntil", "notes", "status"}
LINE_FIELDS = {"description", "quantity", "unitPrice", "discountBps", "taxRateBps"}
PLAN_FIELDS = {"code", "name", "description", "currency", "amount", "interval", "intervalCount", "trialDays", "active"}


def unknown_fields_dropped(ex: Exchange, body: bytes) -> bytes:
    """A lenient JSON binding: unknown fields of quotes, lines and plans are silently dropped instead of a 400."""
    if ex.method not in ("POST", "PATCH") or not ("/quotes" in ex.path or "/plans" in ex.path):
        return body
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    fields = PLAN_FIELDS if "/plans" in ex.path else QUOTE_FIELDS
    return json.dumps(_drop_unknown(parsed, {"": fields, ".lines[]": LINE_FIELDS}, "")).encode()


def _shift(text: str, days: int) -> str:
    return (date.fromisoformat(text) + timedelta(days=days)).isoformat()


def trial_end_off_by_one(ex: Exchange) -> None:
    """A new subscription's trial ends one day late (``<=`` instead of ``<`` in a date loop)."""
    if _ok(ex) and ex.is_op("POST", "/subscriptions") and ex.body.get("trialEnd"):
        ex.body["trialEnd"] = _shift(ex.body["trialEnd"], 1)
        ex.body["currentPeriodEnd"] = ex.body["trialEnd"]


def due_date_off_by_one(ex: Exchange) -> None:
    """Invoices fall due a day late: the due date counts from the day after issue."""
    if _ok(ex) and ex.is_op("POST", "/subscriptions/*/generate-invoice") and ex.status == 201:
        ex.body["dueDate"] = _shift(ex.body["dueDate"], 1)


def _add_months_clamped(day: date, months: int) -> date:
    import calendar

    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_drift(ex: Exchange) -> None:
    """Monthly periods counted from the previous period's end instead of the anchor: after a short
    month (Feb 28/29) a subscription anchored on the 31st drifts to the 28th/29th for good."""
    if not (_ok(ex) and "/subscriptions" in ex.path):
        return
    for node in _walk(ex.body):
        if node.get("interval") == "month" and node.get("currentPeriodStart") and node.get("status") != "trialing":
            start = date.fromisoformat(node["currentPeriodStart"])
            node["currentPeriodEnd"] = _add_months_clamped(start, int(node.get("intervalCount") or 1)).isoformat()


async def list_leaks_other_entity(ex: Exchange) -> None:
    """A tenancy filter lost in one list query: Demo Co's customers include one of Other Co's."""
    if not (_ok(ex) and ex.is_op("GET", "/customers") and ex.query.get("entityId") == DEMO_ENTITY):
        return
    theirs = (await ex.inner_get("/customers", entity_id=OTHER_ENTITY))["data"]
    if theirs:
        ex.body["data"].append(theirs[0])


async def order_status_jump(ex: Exchange) -> None:
    """The order state machine lost its guard: a draft order PATCHed straight to fulfilled is accepted."""
    if not (ex.is_op("PATCH", "/orders/*") and ex.status == 409):
        return
    order = await ex.inner_get("/orders/" + ex.path.rstrip("/").split("/")[-1])
    if isinstance(order, dict) and order.get("status") == "draft":
        ex.status, ex.body = 200, {**order, "status": "fulfilled"}


_ORDER_NUMBERS: dict[str, str] = {}


async def order_number_from_count(ex: Exchange) -> None:
    """Order numbers counted from how many orders there are: after a draft is deleted, the next order
    is given the number of the newest one again."""
    if not (_ok(ex) and "/orders" in ex.path):
        return
    if ex.is_op("POST", "/orders") and ex.status == 201:
        total = (await ex.inner_get("/orders"))["total"]
        _ORDER_NUMBERS[ex.body["id"]] = f"SO-{total:06d}"
    for node in _walk(ex.body):
        if "orderDate" in node and node.get("id") in _ORDER_NUMBERS:
            node["number"] = _ORDER_NUMBERS[node["id"]]


def plans_oldest_first(ex: Exchange) -> None:
    """One list query lost its ``DESC``: plans are listed oldest first."""
    if _ok(ex) and ex.is_op("GET", "/plans"):
        ex.body["data"].reverse()


async def churn_counts_every_cancellation(ex: Exchange) -> None:
    """The churn query lost the window's lower bound: every cancellation ever counts."""
    if _ok(ex) and ex.is_op("GET", "/dashboard"):
        listed = (await ex.inner_get("/subscriptions"))["data"]
        ex.body["churn"]["canceledSubscriptions"] = sum(1 for sub in listed if sub.get("canceledAt"))


_DEMOTED: set[str] = set()


def keep_dunning_action(ex: Exchange, body: bytes) -> bytes:
    """Read (not change) the body of a dunning request: the response hook needs its ``action``."""
    if ex.is_op("POST", "/subscriptions/*/dunning"):
        try:
            ex.sent = json.loads(body)
        except ValueError:
            pass
    return body


def remind_restarts_dunning(ex: Exchange) -> None:
    """A reminder restarts dunning: a subscription in its grace period goes back to past_due and loses
    ``gracePeriodEndsAt``, so the suspend that should follow is refused."""
    if not _ok(ex):
        return
    action = ex.sent.get("action") if isinstance(ex.sent, dict) else None
    if ex.is_op("POST", "/subscriptions/*/dunning"):
        subscription_id = ex.path.rstrip("/").split("/")[-2]
        if action == "remind" and ex.body.get("status") == "grace_period":
            _DEMOTED.add(subscription_id)
        elif action == "suspend" and subscription_id in _DEMOTED:
            ex.status, ex.body = 409, {"error": "suspend is allowed in grace_period only"}
            return
    if "/subscriptions" in ex.path:
        for node in _walk(ex.body):
            if node.get("id") in _DEMOTED and node.get("status") == "grace_period":
                node["status"] = "past_due"
                node["dunning"]["gracePeriodEndsAt"] = None


def _half_away(numerator: int, denominator: int) -> int:
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def _retotal(document: dict[str, Any]) -> None:
    """Subtotal, tax and total of a quote or order from its lines (correctly rounded, as the rest of the server)."""
    for line in document["lines"]:
        line["amount"] = _half_away(line["quantity"] * line["unitPrice"] * (10000 - line.get("discountBps", 0)), 10000)
        line["taxAmount"] = _half_away(line["amount"] * line.get("taxRateBps", 0), 10000)
    document["subtotal"] = sum(line["amount"] for line in document["lines"])
    document["taxTotal"] = sum(line["taxAmount"] for line in document["lines"])
    document["total"] = document["subtotal"] + document["taxTotal"]


THREE_DECIMALS = {"BHD", "JOD", "KWD", "OMR", "TND"}


def fils_to_tens(ex: Exchange) -> None:
    """Prices stored with two decimals: in a 3-decimal currency every unit price, plan amount and
    subscription ``unitAmount`` loses its last digit (rounded to 10 fils), and documents are computed from that."""
    if not _ok(ex):
        return
    for node in _walk(ex.body):
        if node.get("currency") not in THREE_DECIMALS:
            continue
        lines = node.get("lines")
        if isinstance(lines, list) and lines and isinstance(lines[0], dict) and "unitPrice" in lines[0]:
            for line in lines:
                line["unitPrice"] = _half_away(line["unitPrice"], 10) * 10
            _retotal(node)
        for key in ("amount", "unitAmount"):
            if ("code" in node or "planId" in node) and isinstance(node.get(key), int):
                node[key] = _half_away(node[key], 10) * 10


def proration_half_to_even(ex: Exchange) -> None:
    """Proration with Python's ``round``: an exact half goes to the even neighbour (1000.5 -> 1000)."""
    if not (_ok(ex) and ex.is_op("POST", "/subscriptions/*/change-plan") and ex.body.get("invoice") is None):
        return
    proration = ex.body["proration"]
    amounts: dict[str, int] = {}
    for line in proration["lines"]:
        if line["periodEnd"] == proration["periodEnd"]:  # a part of the current period, not a whole new one
            exact = Fraction(line["quantity"] * line["unitAmount"] * proration["daysRemaining"])
            rounded = round(exact / proration["daysInPeriod"])
            amounts[line["id"]] = rounded if line["amount"] >= 0 else -rounded
    for node in _walk(ex.body):
        if node.get("id") in amounts:
            node["amount"] = amounts[node["id"]]
            node["taxAmount"] = _half_away(node["amount"] * node["taxRateBps"], 10000)
    proration["credit"] = sum(line["amount"] for line in proration["lines"] if line["amount"] < 0)
    proration["charge"] = sum(line["amount"] for line in proration["lines"] if line["amount"] > 0)
    proration["net"] = proration["credit"] + proration["charge"]


MUTANTS = {
    m.name: m
    for m in [
        Mutant("drop_required_field", "quotes lose their required number", on_response=drop_quote_number),
        Mutant("wrong_type", "order total serialised as a string", on_response=order_total_as_string),
        Mutant("created_200", "create plan answers 200 instead of 201", on_response=create_plan_200),
        Mutant("undocumented_status", "404 answered as an undocumented 410", on_response=not_found_is_410),
        Mutant("auth_ignored", "missing or unknown keys are accepted", on_request=auth_ignored),
        Mutant("other_entity_data", "any key reads the entity named in entityId", on_request=entity_from_query),
        Mutant("readonly_writes", "the read-only key can write", on_request=readonly_key_writes),
        Mutant("total_off_by_one", "pagination total one too high", on_response=total_off_by_one),
        Mutant("status_filter_ignored", "list status filters ignored", on_request=status_filter_ignored),
        Mutant("non_draft_delete", "deleting a sent quote answers 204", on_response=delete_sent_quote),
        Mutant("float_rounding", "line totals with floats and banker's rounding", on_response=float_rounding),
        Mutant("proration_off_by_one", "proration charge one minor unit high", on_response=proration_off_by_one),
        Mutant("mrr_canceled", "MRR counts canceled subscriptions", on_response=mrr_counts_canceled),
        Mutant("invoice_not_idempotent", "generate-invoice bills twice", on_response=invoice_not_idempotent),
        Mutant("error_leaks_trace", "400 bodies carry a traceback", on_response=error_leaks_trace),
        Mutant("no_www_authenticate", "401 without WWW-Authenticate", on_response=no_www_authenticate),
        Mutant("credit_not_applied", "invoices ignore the customer's credit", on_response=credit_not_applied),
        Mutant("expiry_ignored", "sent quotes never expire", on_response=expiry_ignored),
        Mutant("dunning_skips_steps", "dunning out of order is accepted", on_response=dunning_skips_steps),
        Mutant(
            "unknown_fields_dropped", "unknown request fields ignored, not 400", on_request_body=unknown_fields_dropped
        ),
        Mutant("trial_end_off_by_one", "trial ends a day late", on_response=trial_end_off_by_one),
        Mutant("due_date_off_by_one", "invoices fall due a day late", on_response=due_date_off_by_one),
        Mutant("period_drift", "monthly periods drift after a short month", on_response=period_drift),
        Mutant("list_leaks_other_entity", "a list shows another entity's item", on_response=list_leaks_other_entity),
        Mutant("illegal_status_jump", "a draft order can jump to fulfilled", on_response=order_status_jump),
        Mutant(
            "number_reused",
            "order numbers counted from the list: a deleted draft's number is given again",
            on_response=order_number_from_count,
            tests=("test_invariants_sequences.py::test_numbers_increase_and_are_never_reused_after_a_delete",),
        ),
        Mutant(
            "list_oldest_first",
            "plans listed oldest first",
            on_response=plans_oldest_first,
            tests=("test_invariants_sequences.py::test_new_items_are_listed_first",),
        ),
        Mutant(
            "churn_all_time",
            "churn counts cancellations outside the 30-day window",
            on_response=churn_counts_every_cancellation,
            tests=("test_time.py::test_churn_counts_only_cancellations_inside_the_window",),
        ),
        Mutant(
            "remind_ends_grace",
            "a reminder ends the grace period, suspend is then refused",
            on_request_body=keep_dunning_action,
            on_response=remind_restarts_dunning,
            tests=("test_time.py::test_remind_in_a_grace_period_keeps_it_and_suspend_follows",),
        ),
        Mutant(
            "fils_to_tens",
            "3-decimal prices rounded to 10 fils",
            on_response=fils_to_tens,
            tests=("test_invariants_rounding.py::test_three_decimal_currency_is_exact_to_the_minor_unit",),
        ),
        Mutant(
            "proration_half_even",
            "proration halves rounded to even",
            on_response=proration_half_to_even,
            tests=("test_invariants_rounding.py::test_proration_rounds_exact_halves_away_from_zero",),
        ),
    ]
}


_gets = itertools.count(1)


def throttled(ex: Exchange) -> None:
    """A busy server behind a rate limiter: every third GET is answered 429 with ``Retry-After: 0``
    (a retry gets through), and ``GET /dashboard`` is throttled on every try (the persistent case)."""
    if ex.method != "GET":
        return
    if ex.is_op("GET", "/dashboard") or next(_gets) % 3 == 0:
        ex.status, ex.body = 429, {"error": "too many requests"}
        ex.response_headers = [(b"content-type", b"application/json"), (b"retry-after", b"0")]


# Servers for the suite's own tests that are not in the kill-rate catalogue.
OTHER_SERVERS = {
    m.name: m
    for m in [
        Mutant("throttled", "every third GET throttled once, GET /dashboard always", on_response=throttled),
        variants.STRICT,
        variants.EMPTY_SECOND_ENTITY,
        variants.BARE_SECOND_ENTITY,
    ]
}
