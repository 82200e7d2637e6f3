"""Change plan with proration (docs/proration.md). Pure.

With ``[S, E)`` the current period, ``C`` the proration date, ``D = days(S, E)``,
``R = days(C, E)``, ``old = unitAmount x quantity`` and ``new = plan.amount x newQuantity``:

- credit (a proration line, negative): ``-round(old x R / D)``, period ``[C, E)``;
- same cadence (equal interval and intervalCount): charge ``+round(new x R / D)`` (a proration
  line, period ``[C, E)``), the period is unchanged;
- different cadence: charge ``+new``, a regular (non-proration) subscription line for the new
  period ``[C, add_interval(C))``, the anchor becomes ``C``. Being non-proration, it makes the
  invoice that carries it the new period's cycle invoice.

Rounding is half away from zero, once per line. ``credit``/``charge``/``net`` in the answer are
what this change bills: with ``none`` (and in ``trialing``) they are 0 and there are no lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mock_server.domain.errors import Conflict, FieldProblem, Unprocessable
from mock_server.domain.invoicing import invoice_line
from mock_server.domain.money import MAX_EXACT, charge_fits, round_div
from mock_server.domain.periods import add_interval, days_between, format_date, parse_date
from mock_server.domain.subscriptions import copy_subscription, start_period

Resource = dict[str, Any]
CHANGEABLE = frozenset({"trialing", "active"})


def prorated_credit(old_total: int, days_remaining: int, days_in_period: int) -> int:
    """``-round(old x R / D)`` in minor units (<= 0)."""
    return -round_div(old_total * days_remaining, days_in_period)


def prorated_charge(new_total: int, days_remaining: int, days_in_period: int, same_cadence: bool) -> int:
    """``round(new x R / D)`` for the same cadence, else the full ``new`` (minor units, >= 0)."""
    return round_div(new_total * days_remaining, days_in_period) if same_cadence else new_total


@dataclass(frozen=True)
class PlanChangeRequest:
    """A validated change-plan body: the new plan (a dict), quantity, behaviour and date ``C``."""

    plan: Mapping[str, Any]
    quantity: int
    behavior: str
    proration_date: date
    old_plan_name: str
    tax_rate_bps: int


@dataclass
class PlanChange:
    """The outcome: the new subscription, the ``proration`` answer, and what to bill now.

    ``invoice_lines`` is None when no invoice is made now; otherwise the lines of the invoice to
    make (pending items first, then this change's lines) with ``invoice_period`` its period.
    """

    subscription: Resource
    proration: Resource
    invoice_lines: list[Resource] | None = None
    invoice_period: tuple[date, date] | None = None
    lines: list[Resource] = field(default_factory=list)


def ensure_changeable(sub: Mapping[str, Any]) -> None:
    """Conflict (409) unless ``sub`` is trialing or active."""
    if sub["status"] not in CHANGEABLE:
        raise Conflict(f"the plan of a {sub['status']} subscription cannot be changed; it must be trialing or active")


def validate_change(sub: Mapping[str, Any], request: PlanChangeRequest) -> None:
    """Raise Conflict unless ``sub`` is trialing or active; Unprocessable for an archived plan, a
    currency mismatch, a change that changes nothing, or ``C`` outside ``[S, E)``."""
    ensure_changeable(sub)
    plan = request.plan
    if not plan["active"]:
        raise Unprocessable(f"plan {plan['code']} is archived")
    if plan["currency"] != sub["currency"]:
        raise Unprocessable(f"plan {plan['code']} is in {plan['currency']}, the subscription in {sub['currency']}")
    if plan["id"] == sub["planId"] and request.quantity == sub["quantity"]:
        raise Unprocessable("the subscription is already on this plan at this quantity; nothing would change")
    start, end = parse_date(sub["currentPeriodStart"]), parse_date(sub["currentPeriodEnd"])
    if not start <= request.proration_date < end:
        hint = (
            "; a period that has ended is rolled forward by generate-invoice" if request.proration_date >= end else ""
        )
        raise Unprocessable(
            f"prorationDate {format_date(request.proration_date)} is outside the current period"
            f" {format_date(start)} .. {format_date(end)} (end excluded){hint}",
            [FieldProblem("prorationDate", "outside the current period")],
        )
    if sub["status"] != "trialing" and not _same_cadence(sub, plan):
        try:  # the new period [C, add_interval(C)) must end within the calendar
            add_interval(request.proration_date, plan["interval"], plan["intervalCount"])
        except (OverflowError, ValueError):
            message = f"the new plan's period from it would end after {format_date(date.max)}"
            raise Unprocessable(
                f"prorationDate {format_date(request.proration_date)}: {message}",
                [FieldProblem("prorationDate", message)],
            ) from None


def _same_cadence(sub: Mapping[str, Any], plan: Mapping[str, Any]) -> bool:
    """Whether ``plan`` bills at the subscription's interval and count (the period is then kept)."""
    return bool(plan["interval"] == sub["interval"] and plan["intervalCount"] == sub["intervalCount"])


def change_plan(sub: Mapping[str, Any], request: PlanChangeRequest, new_id: Callable[[], str]) -> PlanChange:
    """Validate and compute a plan change; nothing outside the returned values is changed."""
    validate_change(sub, request)
    if not charge_fits(request.quantity * int(request.plan["amount"]), request.tax_rate_bps):
        raise Unprocessable(
            f"quantity x the new plan's amount plus tax exceeds {MAX_EXACT} minor units",
            [FieldProblem("quantity", f"the period's charge would exceed {MAX_EXACT} minor units")],
        )
    plan, quantity, cdate = request.plan, request.quantity, request.proration_date
    start, end = parse_date(sub["currentPeriodStart"]), parse_date(sub["currentPeriodEnd"])
    days, remaining = days_between(start, end), days_between(cdate, end)
    same = _same_cadence(sub, plan)
    new = copy_subscription(sub)
    new.update(
        planId=plan["id"],
        quantity=quantity,
        unitAmount=plan["amount"],
        interval=plan["interval"],
        intervalCount=plan["intervalCount"],
    )
    billing = sub["status"] != "trialing"
    if billing and not same:
        start_period(new, cdate)
    lines: list[Resource] = []
    if billing and request.behavior != "none":
        lines = _change_lines(sub, request, (days, remaining), same, new_id)
    outcome = PlanChange(subscription=new, proration={}, lines=lines)
    _route_lines(outcome, request.behavior, same, (cdate, end))
    credit, charge = (lines[0]["amount"], lines[1]["amount"]) if lines else (0, 0)
    outcome.proration = {
        "prorationDate": format_date(cdate),
        "periodStart": format_date(start),
        "periodEnd": format_date(end),
        "daysInPeriod": days,
        "daysRemaining": remaining,
        "credit": credit,
        "charge": charge,
        "net": credit + charge,
        "lines": lines,
    }
    return outcome


def _change_lines(
    sub: Mapping[str, Any], request: PlanChangeRequest, days: tuple[int, int], same: bool, new_id: Callable[[], str]
) -> list[Resource]:
    plan, quantity, cdate = request.plan, request.quantity, request.proration_date
    in_period, remaining = days
    end = parse_date(sub["currentPeriodEnd"])
    old_total, new_total = sub["unitAmount"] * sub["quantity"], plan["amount"] * quantity
    credit = invoice_line(
        line_id=new_id(),
        description=f"Unused time on {request.old_plan_name} x {sub['quantity']} from {format_date(cdate)}",
        quantity=sub["quantity"],
        unit_amount=sub["unitAmount"],
        amount=prorated_credit(old_total, remaining, in_period),
        period=(cdate, end),
        proration=True,
        tax_rate_bps=request.tax_rate_bps,
    )
    charge_end = end if same else add_interval(cdate, plan["interval"], plan["intervalCount"])
    description = f"Remaining time on {plan['name']} x {quantity}" if same else f"{plan['name']} x {quantity}"
    charge = invoice_line(
        line_id=new_id(),
        description=f"{description} from {format_date(cdate)}",
        quantity=quantity,
        unit_amount=plan["amount"],
        amount=prorated_charge(new_total, remaining, in_period, same),
        period=(cdate, charge_end),
        proration=same,
        tax_rate_bps=request.tax_rate_bps,
    )
    return [credit, charge]


def _route_lines(outcome: PlanChange, behavior: str, same: bool, prorated: tuple[date, date]) -> None:
    """Send the lines to the pending items or to an invoice made now, per ``behavior``."""
    sub = outcome.subscription
    if not outcome.lines:
        return
    if behavior == "create_prorations" and same:
        sub["pendingInvoiceItems"] = [*sub["pendingInvoiceItems"], *outcome.lines]
        return
    outcome.invoice_lines = [*sub["pendingInvoiceItems"], *outcome.lines]
    sub["pendingInvoiceItems"] = []
    if same:
        outcome.invoice_period = prorated
    else:
        outcome.invoice_period = (parse_date(sub["currentPeriodStart"]), parse_date(sub["currentPeriodEnd"]))
