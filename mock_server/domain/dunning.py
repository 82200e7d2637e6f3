"""Dunning: remind, grace period, suspend, and the return to active once paid. Pure.

Strictly escalating (docs/dunning.md): ``remind`` from active/past_due (-> past_due) or
grace_period (stays), and only with an open invoice ("nothing to collect" otherwise);
``grace_period`` only from past_due; ``suspend`` only from grace_period. Everything else is 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mock_server.domain.errors import Conflict, InvalidInput
from mock_server.domain.periods import format_instant
from mock_server.domain.subscriptions import copy_subscription

Resource = dict[str, Any]
ACTIONS = ("remind", "grace_period", "suspend")
DEFAULT_GRACE_DAYS = 7
COLLECTING = frozenset({"past_due", "grace_period", "suspended"})
"""Statuses that return to ``active`` once every open invoice is paid."""


def run_dunning(
    sub: Mapping[str, Any], action: str, grace_days: int | None, has_open_invoice: bool, now: datetime
) -> Resource:
    """The subscription after dunning ``action`` at ``now``.

    ``graceDays`` (1..90 whole days, default 7) is only accepted with ``grace_period``:
    ``gracePeriodEndsAt = now + graceDays x 24 h``.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
    if grace_days is not None and action != "grace_period":
        raise InvalidInput("graceDays is only accepted with action grace_period")
    status, new = sub["status"], copy_subscription(sub)
    stamp = format_instant(now)
    if action == "remind":
        if status not in ("active", "past_due", "grace_period"):
            raise Conflict(f"a {status} subscription cannot be reminded")
        if not has_open_invoice:
            raise Conflict("nothing to collect: the subscription has no open invoice")
        new["status"] = "grace_period" if status == "grace_period" else "past_due"
        new["dunning"]["reminderCount"] += 1
        new["dunning"]["lastRemindedAt"] = stamp
    elif action == "grace_period":
        days = DEFAULT_GRACE_DAYS if grace_days is None else grace_days
        if not 1 <= days <= 90:
            raise InvalidInput("graceDays must be between 1 and 90")
        if status != "past_due":
            raise Conflict(f"a grace period can only start from past_due; this subscription is {status}")
        new["status"] = "grace_period"
        new["dunning"]["gracePeriodEndsAt"] = format_instant(now + timedelta(days=days))
    else:
        if status != "grace_period":
            raise Conflict(f"only a subscription in its grace period can be suspended; this one is {status}")
        new["status"], new["suspendedAt"] = "suspended", stamp
    new["updatedAt"] = stamp
    return new


def reactivate(sub: Mapping[str, Any], now: datetime) -> Resource:
    """After every open invoice of ``sub`` is paid: past_due/grace_period/suspended -> active with
    ``gracePeriodEndsAt`` cleared (``reminderCount``, ``lastRemindedAt``, ``suspendedAt`` are kept
    as history). Any other status is returned unchanged."""
    new = copy_subscription(sub)
    if sub["status"] in COLLECTING:
        new["status"] = "active"
        new["dunning"]["gracePeriodEndsAt"] = None
        new["updatedAt"] = format_instant(now)
    return new
