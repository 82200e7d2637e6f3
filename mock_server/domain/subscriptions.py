"""Subscriptions: creation, the PATCH status machine and the time-driven event stepper. Pure.

Subscriptions are plain dicts in their API shape (camelCase keys; dates ``YYYY-MM-DD``, instants
RFC 3339 ``Z`` text). Every function returns a new dict and leaves its input untouched, so a
service can validate first and commit only on success.

Time-driven events (docs/statuses.md, the subscriptions table), each due at an exact instant:

- ``cancel``: ``cancelAtPeriodEnd`` is set and the clock reaches ``currentPeriodEnd`` 00:00Z:
  ``canceled`` with ``canceledAt`` = that instant. It fires in any status but ``canceled`` (the
  schedule survives a pause or a suspension), and it wins over any other event due at the same
  instant (like Stripe: a trial that ends on the day its scheduled cancellation falls is canceled,
  never activated).
- ``trial_end``: ``trialing`` at ``trialEnd`` 00:00Z -> ``active``, anchor ``trialEnd``, period
  ``[trialEnd, add_interval(trialEnd))``.
- ``overdue``: ``active`` with an open invoice whose ``dueDate`` has passed (today > dueDate, i.e.
  at ``dueDate + 1 day`` 00:00Z) -> ``past_due``. The rule is a condition, not only a crossing:
  a subscription resumed (or activated) while one of its open invoices is already overdue becomes
  ``past_due`` at once.
- ``grace_expiry``: ``grace_period`` at ``gracePeriodEndsAt`` -> ``suspended``, ``suspendedAt`` =
  ``gracePeriodEndsAt``.

Billing periods never roll by time alone: an active subscription whose period has ended keeps it
until ``generate-invoice`` rolls it (one period per call).

``updatedAt`` of a time-driven change is the event's instant, so advancing the clock in one step
or in many gives identical state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from mock_server.domain.errors import Conflict, FieldProblem, InvalidInput, Unprocessable
from mock_server.domain.money import MAX_EXACT, charge_fits
from mock_server.domain.periods import (
    add_interval,
    format_date,
    format_instant,
    parse_date,
    parse_instant,
    start_of_day,
)

Resource = dict[str, Any]

STATUSES = ("trialing", "active", "past_due", "grace_period", "suspended", "paused", "canceled")
CAN_SCHEDULE_CANCEL = frozenset({"trialing", "active", "past_due", "grace_period"})
"""Statuses in which ``cancelAtPeriodEnd: true`` may be set."""

CANCEL, TRIAL_END, OVERDUE, GRACE_EXPIRY = "cancel", "trial_end", "overdue", "grace_expiry"
_PRIORITY = {CANCEL: 0, TRIAL_END: 1, OVERDUE: 2, GRACE_EXPIRY: 3}


def copy_subscription(sub: Mapping[str, Any]) -> Resource:
    """A copy deep enough that changing the result never changes ``sub``."""
    new = dict(sub)
    new["dunning"] = dict(sub["dunning"])
    new["pendingInvoiceItems"] = [dict(item) for item in sub["pendingInvoiceItems"]]
    return new


def new_subscription(
    *,
    sub_id: str,
    customer: Mapping[str, Any],
    plan: Mapping[str, Any],
    quantity: int,
    trial_days: int,
    now: datetime,
) -> Resource:
    """A new subscription starting today (``now``'s UTC date) at the plan's current amount.

    With ``trial_days > 0``: ``trialing``, ``trialEnd = today + trial_days``, period
    ``[today, trialEnd)`` and ``billingCycleAnchor = trialEnd`` (cycles count from the trial's end).
    Otherwise ``active``, anchor today, period ``[today, add_interval(today))``. Currency and
    plan checks are the caller's (they need the entity).
    """
    if quantity < 1:
        raise InvalidInput("quantity must be at least 1")
    if trial_days < 0:
        raise InvalidInput("trialDays must not be negative")
    if not charge_fits(quantity * int(plan["amount"]), int(customer.get("taxRateBps") or 0)):
        raise Unprocessable(
            f"quantity x the plan's amount plus tax exceeds {MAX_EXACT} minor units",
            [FieldProblem("quantity", f"the period's charge would exceed {MAX_EXACT} minor units")],
        )
    today = now.date()
    trial_end = today + timedelta(days=trial_days) if trial_days > 0 else None
    period_end = trial_end or add_interval(today, plan["interval"], plan["intervalCount"])
    stamp = format_instant(now)
    return {
        "id": sub_id,
        "customerId": customer["id"],
        "planId": plan["id"],
        "status": "trialing" if trial_end else "active",
        "quantity": quantity,
        "unitAmount": plan["amount"],
        "currency": plan["currency"],
        "interval": plan["interval"],
        "intervalCount": plan["intervalCount"],
        "startDate": format_date(today),
        "trialEnd": format_date(trial_end) if trial_end else None,
        "billingCycleAnchor": format_date(trial_end or today),
        "currentPeriodStart": format_date(today),
        "currentPeriodEnd": format_date(period_end),
        "cancelAtPeriodEnd": False,
        "canceledAt": None,
        "pausedAt": None,
        "suspendedAt": None,
        "dunning": {"reminderCount": 0, "lastRemindedAt": None, "gracePeriodEndsAt": None},
        "pendingInvoiceItems": [],
        "latestInvoiceId": None,
        "createdAt": stamp,
        "updatedAt": stamp,
    }


def start_period(sub: Resource, anchor: date) -> None:
    """Set (in place) anchor ``anchor`` and period ``[anchor, add_interval(anchor))``."""
    sub["billingCycleAnchor"] = format_date(anchor)
    sub["currentPeriodStart"] = format_date(anchor)
    sub["currentPeriodEnd"] = format_date(add_interval(anchor, sub["interval"], sub["intervalCount"]))


# PATCH ---------------------------------------------------------------------------------------


def patch_subscription(sub: Mapping[str, Any], changes: Mapping[str, Any], now: datetime) -> Resource:
    """Apply a PATCH body (``status`` and/or ``cancelAtPeriodEnd``) and return the new subscription.

    ``status`` first, then ``cancelAtPeriodEnd`` against the resulting status. Resume (paused ->
    active) restarts the period from today (anchor today, no proration) and clears ``pausedAt``;
    ``canceledAt``/``suspendedAt`` are history and stay once set. ``cancelAtPeriodEnd: true`` needs
    trialing/active/past_due/grace_period; ``false`` is accepted in any status but canceled. Setting
    it on a period that has already ended (not yet rolled by generate-invoice) cancels at once: the
    caller applies due events, and ``canceledAt`` is then the request's instant. A PATCH that changes
    nothing is a 200 no-op (``updatedAt`` unchanged). A canceled subscription accepts only the
    no-op ``{"status": "canceled"}`` (so a retried cancel succeeds); anything else is a Conflict.
    """
    unknown = set(changes) - {"status", "cancelAtPeriodEnd"}
    if unknown:
        raise InvalidInput(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    if sub["status"] == "canceled":
        if dict(changes) == {"status": "canceled"}:
            return copy_subscription(sub)
        raise Conflict("the subscription is canceled; a canceled subscription cannot be changed")
    new = copy_subscription(sub)
    if "status" in changes:
        _change_status(new, str(changes["status"]), now)
    if "cancelAtPeriodEnd" in changes:
        _schedule_cancel(new, bool(changes["cancelAtPeriodEnd"]))
    if new != dict(sub):
        new["updatedAt"] = format_instant(now)
    return new


def _change_status(sub: Resource, target: str, now: datetime) -> None:
    current = sub["status"]
    if target == current:
        return
    if target == "paused":
        if current != "active":
            raise Conflict(f"only an active subscription can be paused; this one is {current}")
        sub["status"], sub["pausedAt"] = "paused", format_instant(now)
    elif target == "active":
        if current != "paused":
            raise Conflict(f"only a paused subscription can be resumed; this one is {current}")
        sub["status"], sub["pausedAt"] = "active", None
        start_period(sub, now.date())
    elif target == "canceled":
        sub["status"], sub["canceledAt"] = "canceled", format_instant(now)
    else:
        raise Conflict(f"status {target!r} cannot be set by PATCH; it follows from billing events")


def _schedule_cancel(sub: Resource, flag: bool) -> None:
    if flag == sub["cancelAtPeriodEnd"]:
        return
    if flag and sub["status"] not in CAN_SCHEDULE_CANCEL:
        raise Conflict(f"a {sub['status']} subscription cannot be scheduled to cancel at period end")
    sub["cancelAtPeriodEnd"] = flag


# time-driven events --------------------------------------------------------------------------


def next_event(sub: Mapping[str, Any], open_due_dates: Iterable[str]) -> tuple[datetime, str] | None:
    """The next time-driven event of ``sub`` as ``(instant, kind)``, or None.

    ``open_due_dates`` are the ``dueDate`` texts of the subscription's open invoices. Ties are
    broken by kind: cancel, trial end, overdue, grace expiry.
    """
    status = sub["status"]
    if status == "canceled":
        return None
    candidates: list[tuple[datetime, int, str]] = []
    if sub["cancelAtPeriodEnd"]:
        candidates.append((start_of_day(parse_date(sub["currentPeriodEnd"])), _PRIORITY[CANCEL], CANCEL))
    if status == "trialing" and sub["trialEnd"]:
        candidates.append((start_of_day(parse_date(sub["trialEnd"])), _PRIORITY[TRIAL_END], TRIAL_END))
    if status == "active":
        due = min(map(parse_date, open_due_dates), default=date.max)
        if due < date.max:  # due on the calendar's last day (an imported state): it never falls overdue
            overdue_at = start_of_day(due + timedelta(days=1))
            candidates.append((overdue_at, _PRIORITY[OVERDUE], OVERDUE))
    grace_ends = sub["dunning"]["gracePeriodEndsAt"]
    if status == "grace_period" and grace_ends:
        candidates.append((parse_instant(grace_ends), _PRIORITY[GRACE_EXPIRY], GRACE_EXPIRY))
    if not candidates:
        return None
    at, _, kind = min(candidates)
    return at, kind


def apply_event(sub: Mapping[str, Any], kind: str, at: datetime) -> Resource:
    """The subscription after event ``kind`` happened at instant ``at`` (``updatedAt = at``)."""
    new = copy_subscription(sub)
    stamp = format_instant(at)
    if kind == CANCEL:
        new["status"], new["canceledAt"] = "canceled", stamp
    elif kind == TRIAL_END:
        new["status"] = "active"
        start_period(new, parse_date(new["trialEnd"]))
    elif kind == OVERDUE:
        new["status"] = "past_due"
    elif kind == GRACE_EXPIRY:
        new["status"], new["suspendedAt"] = "suspended", stamp
    else:
        raise ValueError(f"unknown event {kind!r}")
    new["updatedAt"] = stamp
    return new


def advance(sub: Mapping[str, Any], open_due_dates: Iterable[str], now: datetime) -> Resource:
    """``sub`` after every event due at or before ``now``, applied in time order.

    An event found due before the subscription's ``updatedAt`` (an invoice already overdue when a
    paused subscription is resumed) is stamped at ``updatedAt``: time never runs backwards.
    """
    dues = list(open_due_dates)
    current = copy_subscription(sub)
    while (event := next_event(current, dues)) is not None and event[0] <= now:
        at = max(event[0], parse_instant(current["updatedAt"]))
        current = apply_event(current, event[1], at)
    return current
