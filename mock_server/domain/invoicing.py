"""Invoices: lines, per-line tax, totals, credit balance, cycle-invoice detection. Pure.

All money is ``int`` minor units of the subscription's currency. Tax is per line,
``round(amount * taxRateBps / 10000)`` half away from zero, with the customer's rate at billing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from mock_server.domain.money import apply_bps
from mock_server.domain.periods import format_date, format_instant, parse_date

Resource = dict[str, Any]


def invoice_line(
    *,
    line_id: str,
    description: str,
    quantity: int,
    unit_amount: int,
    amount: int,
    period: tuple[date, date],
    proration: bool,
    tax_rate_bps: int,
) -> Resource:
    """One InvoiceLine with ``taxAmount = round(amount * taxRateBps / 10000)``."""
    return {
        "id": line_id,
        "description": description,
        "quantity": quantity,
        "unitAmount": unit_amount,
        "amount": amount,
        "taxRateBps": tax_rate_bps,
        "taxAmount": apply_bps(amount, tax_rate_bps),
        "periodStart": format_date(period[0]),
        "periodEnd": format_date(period[1]),
        "proration": proration,
    }


def retax(line: Mapping[str, Any], tax_rate_bps: int) -> Resource:
    """A copy of ``line`` taxed at ``tax_rate_bps`` (pending items are taxed at the rate of the bill)."""
    new = dict(line)
    new["taxRateBps"] = tax_rate_bps
    new["taxAmount"] = apply_bps(line["amount"], tax_rate_bps)
    return new


def subscription_line(sub: Mapping[str, Any], plan_name: str, line_id: str, tax_rate_bps: int) -> Resource:
    """The non-proration line billing ``sub``'s current period: ``quantity x unitAmount``.

    In ``trialing`` it is one line of amount 0 (``unitAmount`` 0) for the trial period.
    """
    period = (parse_date(sub["currentPeriodStart"]), parse_date(sub["currentPeriodEnd"]))
    if sub["status"] == "trialing":
        return invoice_line(
            line_id=line_id,
            description=f"Trial period of {plan_name}",
            quantity=sub["quantity"],
            unit_amount=0,
            amount=0,
            period=period,
            proration=False,
            tax_rate_bps=tax_rate_bps,
        )
    return invoice_line(
        line_id=line_id,
        description=f"{plan_name} x {sub['quantity']}",
        quantity=sub["quantity"],
        unit_amount=sub["unitAmount"],
        amount=sub["quantity"] * sub["unitAmount"],
        period=period,
        proration=False,
        tax_rate_bps=tax_rate_bps,
    )


@dataclass(frozen=True)
class Settlement:
    """How an invoice total meets the customer's credit balance (all minor units)."""

    credit_applied: int
    amount_due: int
    new_credit_balance: int


def settle(total: int, credit_balance: int) -> Settlement:
    """Credit rules: ``total > 0`` takes ``min(balance, total)`` from the balance and
    ``amountDue = total - creditApplied``; ``total <= 0`` applies nothing, ``amountDue = 0`` and
    adds ``-total`` to the balance."""
    if total > 0:
        applied = min(credit_balance, total)
        return Settlement(applied, total - applied, credit_balance - applied)
    return Settlement(0, 0, credit_balance - total)


@dataclass(frozen=True)
class InvoiceDraft:
    """Everything of an invoice the domain decides; ids and numbers come from the caller."""

    invoice_id: str
    number: str
    period: tuple[date, date]
    due_in_days: int


def build_invoice(
    draft: InvoiceDraft,
    sub: Mapping[str, Any],
    customer: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    now: datetime,
) -> tuple[Resource, int]:
    """The invoice billing ``lines`` (taxed at the customer's rate) and the customer's new credit balance.

    ``issueDate`` is today, ``dueDate = issueDate + due_in_days``. ``subtotal = sum(amount)``,
    ``taxTotal = sum(taxAmount)``, ``total = subtotal + taxTotal``; credit per ``settle``. An invoice
    with ``amountDue == 0`` is born ``paid`` (``paidAt = now``), otherwise ``open``.
    """
    rate = customer["taxRateBps"]
    taxed = [retax(line, rate) for line in lines]
    subtotal = sum(line["amount"] for line in taxed)
    tax_total = sum(line["taxAmount"] for line in taxed)
    total = subtotal + tax_total
    settlement = settle(total, customer["creditBalance"])
    today = now.date()
    paid = settlement.amount_due == 0
    invoice = {
        "id": draft.invoice_id,
        "number": draft.number,
        "subscriptionId": sub["id"],
        "customerId": sub["customerId"],
        "status": "paid" if paid else "open",
        "currency": sub["currency"],
        "periodStart": format_date(draft.period[0]),
        "periodEnd": format_date(draft.period[1]),
        "issueDate": format_date(today),
        "dueDate": format_date(today + timedelta(days=draft.due_in_days)),
        "lines": taxed,
        "subtotal": subtotal,
        "taxTotal": tax_total,
        "total": total,
        "creditApplied": settlement.credit_applied,
        "amountDue": settlement.amount_due,
        "paidAt": format_instant(now) if paid else None,
        "createdAt": format_instant(now),
    }
    return invoice, settlement.new_credit_balance


def is_cycle_invoice(invoice: Mapping[str, Any], period_start: str, period_end: str) -> bool:
    """True when ``invoice`` has a non-proration subscription line for exactly ``[period_start, period_end)``."""
    return invoice["status"] != "void" and any(
        not line["proration"] and line["periodStart"] == period_start and line["periodEnd"] == period_end
        for line in invoice["lines"]
    )


def find_cycle_invoice(invoices: Iterable[Mapping[str, Any]], sub: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The cycle invoice of ``sub``'s current period among ``invoices`` (the subscription's), or None."""
    for invoice in invoices:
        if is_cycle_invoice(invoice, sub["currentPeriodStart"], sub["currentPeriodEnd"]):
            return invoice
    return None


def mark_paid(invoice: Mapping[str, Any], now: datetime) -> Resource:
    """A copy of an open ``invoice`` marked ``paid`` at ``now`` (amounts unchanged)."""
    new = dict(invoice)
    new["status"] = "paid"
    new["paidAt"] = format_instant(now)
    return new
