"""The quote status machine and date rules. Pure.

``draft -> sent -> accepted | declined``; ``sent -> expired`` by time (today > validUntil);
``accepted -> converted`` only by creating an order from the quote.
"""

from __future__ import annotations

from datetime import date, timedelta

from mock_server.domain.errors import Conflict, FieldProblem, Unprocessable

QUOTE_STATUSES = ("draft", "sent", "accepted", "declined", "expired", "converted")
PATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent"}),
    "sent": frozenset({"accepted", "declined"}),
}
"""Transitions a PATCH of ``status`` may perform."""

DEFAULT_VALIDITY_DAYS = 30
EDITABLE_IN_DRAFT = ("customerId", "lines", "validUntil", "notes")


def check_patch_transition(current: str, target: str) -> bool:
    """True when ``current -> target`` is to be performed, False for a no-op (same status);
    Conflict for anything else."""
    if target == current:
        return False
    if target not in PATCH_TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"a quote cannot go from {current} to {target} by PATCH")
    return True


def check_editable(status: str, fields: list[str]) -> None:
    """Conflict when ``fields`` are edited outside ``draft``."""
    if fields and status != "draft":
        raise Conflict(f"{', '.join(fields)} can only be changed while the quote is a draft (it is {status})")


def check_deletable(status: str) -> None:
    """Conflict unless the quote is a draft."""
    if status != "draft":
        raise Conflict(f"only a draft quote can be deleted (this one is {status})")


def default_valid_until(issue_date: date) -> date:
    """``issueDate + 30 days``; Unprocessable (422) when that is past 9999-12-31."""
    if date.max - issue_date < timedelta(days=DEFAULT_VALIDITY_DAYS):
        message = f"is required: issueDate + {DEFAULT_VALIDITY_DAYS} days is past {date.max}"
        problem = FieldProblem("validUntil", message)
        raise Unprocessable("the default validUntil would be past 9999-12-31; give validUntil", [problem])
    return issue_date + timedelta(days=DEFAULT_VALIDITY_DAYS)


def check_validity(issue_date: date, valid_until: date) -> None:
    """Unprocessable (422: a cross-field rule the spec cannot state) when ``validUntil`` is before ``issueDate``."""
    if valid_until < issue_date:
        problem = FieldProblem("validUntil", f"must not be before issueDate {issue_date.isoformat()}")
        raise Unprocessable("validUntil is before issueDate", [problem])
