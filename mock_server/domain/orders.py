"""The order status machine and the quote -> order rules. Pure.

``draft -> confirmed -> fulfilled``; ``draft | confirmed -> canceled``.
"""

from __future__ import annotations

from typing import Any

from mock_server.domain.errors import Conflict, FieldProblem, InvalidInput

ORDER_STATUSES = ("draft", "confirmed", "fulfilled", "canceled")
PATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"confirmed", "canceled"}),
    "confirmed": frozenset({"fulfilled", "canceled"}),
}
EDITABLE_IN_DRAFT = ("orderDate", "lines", "notes")


def check_patch_transition(current: str, target: str) -> bool:
    """True when ``current -> target`` is to be performed, False for a no-op; Conflict otherwise."""
    if target == current:
        return False
    if target not in PATCH_TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"an order cannot go from {current} to {target}")
    return True


def check_editable(status: str, fields: list[str]) -> None:
    """Conflict when ``fields`` are edited outside ``draft``."""
    if fields and status != "draft":
        raise Conflict(f"{', '.join(fields)} can only be changed while the order is a draft (it is {status})")


def check_deletable(status: str) -> None:
    """Conflict unless the order is a draft."""
    if status != "draft":
        raise Conflict(f"only a draft order can be deleted (this one is {status})")


def check_create_form(body: dict[str, Any]) -> str:
    """``"quote"`` or ``"direct"``: exactly one form of create-order body; InvalidInput (400) otherwise."""
    has_quote = "quoteId" in body
    direct = [name for name in ("customerId", "lines") if name in body]
    if has_quote and direct:
        problems = [FieldProblem(name, "cannot be combined with quoteId") for name in direct]
        raise InvalidInput("give either quoteId or customerId with lines, not both", problems)
    if has_quote:
        return "quote"
    missing = [name for name in ("customerId", "lines") if name not in body]
    if missing:
        problems = [FieldProblem(name, "is required without quoteId") for name in missing]
        raise InvalidInput("give either quoteId, or customerId with lines", problems)
    return "direct"


def check_convertible(quote_status: str) -> None:
    """Conflict unless the quote is ``accepted``."""
    if quote_status != "accepted":
        raise Conflict(f"only an accepted quote can become an order (this one is {quote_status})")
