"""Billing use cases: generate-invoice, change-plan, dunning, and advancing an entity's clock.

Each validates everything (in the pure domain, on copies) before it changes anything, so a failed
request changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from mock_server.domain.dunning import run_dunning
from mock_server.domain.errors import Conflict
from mock_server.domain.invoicing import InvoiceDraft, build_invoice, find_cycle_invoice, subscription_line
from mock_server.domain.periods import format_date, format_instant, next_period, parse_date
from mock_server.domain.proration import PlanChangeRequest, change_plan, ensure_changeable
from mock_server.domain.subscriptions import copy_subscription
from mock_server.services.common import date_field, new_id, referenced
from mock_server.services.subscriptions import (
    add_invoice,
    get_subscription,
    int_field,
    invoices_of,
    open_due_dates,
    save,
)
from mock_server.services.timeline import apply_due_events
from mock_server.store import EntityState, Resource

BILLABLE = frozenset({"trialing", "active", "past_due", "grace_period"})
DEFAULT_DUE_IN_DAYS = 30


def _plan_name(entity: EntityState, plan_id: str) -> str:
    plan = entity.get("plans", plan_id)
    return str(plan["name"]) if plan else "Subscription"


def _issue_invoice(
    entity: EntityState,
    sub: Resource,
    lines: Sequence[Resource],
    period: tuple[date, date],
    due_in_days: int,
    now: datetime,
) -> Resource:
    """Make, store and return an invoice for ``sub`` (a working copy, not yet saved): takes the next
    number, moves the customer's credit balance, sets ``sub["latestInvoiceId"]``."""
    customer = entity.edit("customers", sub["customerId"])  # its credit balance moves
    draft = InvoiceDraft(new_id(), entity.next_number("invoices"), period, due_in_days)
    invoice, balance = build_invoice(draft, sub, customer, lines, now)
    customer["creditBalance"] = balance
    sub["latestInvoiceId"] = invoice["id"]
    return add_invoice(entity, invoice)


def generate_invoice(
    entity: EntityState, sub_id: str, body: dict[str, Any] | None, now: datetime
) -> tuple[int, Resource]:
    """Bill the current period: ``(201, new invoice)`` or ``(200, existing cycle invoice)``.

    409 in paused, suspended, canceled. If the current period has no cycle invoice it is billed;
    else, once today >= ``currentPeriodEnd``, the period rolls forward by ONE interval (counted from
    the anchor) and that period is billed, so repeated calls catch up missed periods one at a time;
    else the existing cycle invoice is returned unchanged. A bill is the pending items, in order,
    then the subscription line. ``dueInDays`` (default 30) sets ``dueDate = today + dueInDays``.
    """
    sub = get_subscription(entity, sub_id)
    due_in_days = int_field(body, "dueInDays", DEFAULT_DUE_IN_DAYS)
    if sub["status"] not in BILLABLE:
        raise Conflict(f"a {sub['status']} subscription cannot be invoiced")
    work = copy_subscription(sub)
    existing = find_cycle_invoice(invoices_of(entity, sub_id), sub)
    if existing is not None:
        if now.date() < parse_date(sub["currentPeriodEnd"]):
            return 200, dict(existing)
        if sub["cancelAtPeriodEnd"]:
            raise Conflict("the subscription cancels at the end of its current period; there is no next period")
        start, end = next_period(
            parse_date(sub["billingCycleAnchor"]),
            sub["interval"],
            sub["intervalCount"],
            parse_date(sub["currentPeriodEnd"]),
        )
        work["currentPeriodStart"], work["currentPeriodEnd"] = format_date(start), format_date(end)
    lines = [*work["pendingInvoiceItems"], subscription_line(work, _plan_name(entity, work["planId"]), new_id(), 0)]
    work["pendingInvoiceItems"] = []
    period = (parse_date(work["currentPeriodStart"]), parse_date(work["currentPeriodEnd"]))
    invoice = _issue_invoice(entity, work, lines, period, due_in_days, now)
    work["updatedAt"] = format_instant(now)
    save(entity, work, now)
    return 201, invoice


def change_subscription_plan(entity: EntityState, sub_id: str, body: dict[str, Any], now: datetime) -> Resource:
    """``{"subscription", "proration", "invoice"}`` after switching plan and/or quantity (see
    ``domain.proration``). Checks in order: 404 subscription, 409 status, 422 plan/date/no-op.

    An invoice made now has ``issueDate`` today (not ``prorationDate``) and ``dueDate`` today + 30
    days; its period is ``[C, E)`` for a same-cadence change and the new period otherwise. A period
    that has ended but was not rolled yet (no generate-invoice since) admits no ``prorationDate``
    (422) until generate-invoice rolls it."""
    sub = get_subscription(entity, sub_id)
    ensure_changeable(sub)
    plan = referenced(entity, "plans", str(body["newPlanId"]), "newPlanId", "plan")
    customer = entity.read("customers", sub["customerId"])
    request = PlanChangeRequest(
        plan=plan,
        quantity=int_field(body, "quantity", int(sub["quantity"])),
        behavior=str(body.get("prorationBehavior", "create_prorations")),
        proration_date=date_field(body, "prorationDate", now.date()),
        old_plan_name=_plan_name(entity, sub["planId"]),
        tax_rate_bps=int(customer["taxRateBps"]),
    )
    outcome = change_plan(sub, request, new_id)
    work = outcome.subscription
    invoice = None
    if outcome.invoice_lines is not None and outcome.invoice_period is not None:
        invoice = _issue_invoice(entity, work, outcome.invoice_lines, outcome.invoice_period, DEFAULT_DUE_IN_DAYS, now)
    work["updatedAt"] = format_instant(now)
    saved = save(entity, work, now)
    return {"subscription": saved, "proration": outcome.proration, "invoice": invoice}


def dunning(entity: EntityState, sub_id: str, body: dict[str, Any], now: datetime) -> Resource:
    """One dunning step (``remind`` / ``grace_period`` / ``suspend``); the subscription after it."""
    sub = get_subscription(entity, sub_id)
    grace_days = body.get("graceDays")
    has_open = bool(open_due_dates(entity, sub_id))
    new = run_dunning(sub, str(body["action"]), None if grace_days is None else int(grace_days), has_open, now)
    return save(entity, new, now)


def advance_clock(entity: EntityState, *, days: int = 0, months: int = 0, to: datetime | None = None) -> datetime:
    """Move the entity's clock forward (``to`` an instant, else ``months`` then ``days``; backwards
    is 409) and apply every time-driven event now due, so exports and reads see the settled state.
    Applying them lazily on the next Sales API call would give the same state."""
    moment = entity.clock.advance_to(to) if to is not None else entity.clock.advance(days=days, months=months)
    entity.record_change()
    apply_due_events(entity, moment)
    return moment
