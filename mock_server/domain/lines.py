"""Priced lines of quotes and orders, and their totals. Pure; integers only.

``amount = round(quantity * unitPrice * (10000 - discountBps) / 10000)``,
``taxAmount = round(amount * taxRateBps / 10000)``, both half away from zero (``domain.money``);
``subtotal = sum(amount)``, ``taxTotal = sum(taxAmount)``, ``total = subtotal + taxTotal``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mock_server.domain.errors import FieldProblem, Unprocessable
from mock_server.domain.money import MAX_EXACT, apply_bps, line_amount


def price_line(raw: dict[str, Any], default_tax_bps: int, line_id: str) -> dict[str, Any]:
    """A stored line from a validated input line (``description``, ``quantity``, ``unitPrice``,
    optional ``discountBps`` (default 0) and ``taxRateBps`` (default ``default_tax_bps``))."""
    discount = int(raw.get("discountBps", 0))
    tax_rate = int(raw.get("taxRateBps", default_tax_bps))
    amount = line_amount(int(raw["quantity"]), int(raw["unitPrice"]), discount)
    return {
        "id": line_id,
        "description": raw["description"],
        "quantity": int(raw["quantity"]),
        "unitPrice": int(raw["unitPrice"]),
        "discountBps": discount,
        "taxRateBps": tax_rate,
        "amount": amount,
        "taxAmount": apply_bps(amount, tax_rate),
    }


def price_lines(
    raws: Iterable[dict[str, Any]], default_tax_bps: int, new_id: Callable[[], str]
) -> list[dict[str, Any]]:
    """Every input line priced, each with a fresh id from ``new_id``.

    Unprocessable (422) naming the line when a line's amount plus tax, or the document's total, would
    exceed ``MAX_EXACT`` (2^53 - 1 minor units, the largest integer JavaScript clients hold exactly)."""
    lines = [price_line(raw, default_tax_bps, new_id()) for raw in raws]
    problems = [
        FieldProblem(f"lines/{i}/quantity", f"quantity x unitPrice plus tax exceeds {MAX_EXACT} minor units")
        for i, line in enumerate(lines)
        if line["amount"] + line["taxAmount"] > MAX_EXACT
    ]
    if not problems and totals(lines)["total"] > MAX_EXACT:
        problems.append(FieldProblem("lines", f"the document's total would exceed {MAX_EXACT} minor units"))
    if problems:
        raise Unprocessable(f"amounts too large: {problems[0].path}: {problems[0].message}", problems)
    return lines


def copy_lines(lines: Iterable[dict[str, Any]], new_id: Callable[[], str]) -> list[dict[str, Any]]:
    """Priced lines copied as they are (amounts kept), each with a fresh id (quote -> order)."""
    return [{**line, "id": new_id()} for line in lines]


def totals(lines: Iterable[dict[str, Any]]) -> dict[str, int]:
    """``subtotal``, ``taxTotal`` and ``total`` of priced lines (minor units)."""
    subtotal = 0
    tax_total = 0
    for line in lines:
        subtotal += int(line["amount"])
        tax_total += int(line["taxAmount"])
    return {"subtotal": subtotal, "taxTotal": tax_total, "total": subtotal + tax_total}
