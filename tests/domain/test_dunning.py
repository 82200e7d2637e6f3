"""Dunning: strictly escalating, 409 rules, return to active once paid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from billing_factories import NOW, make_sub

from mock_server.domain.dunning import reactivate, run_dunning
from mock_server.domain.errors import Conflict, InvalidInput


def _sub(status: str) -> dict:
    return make_sub() | {"status": status}


@pytest.mark.parametrize(
    ("status", "after"), [("active", "past_due"), ("past_due", "past_due"), ("grace_period", "grace_period")]
)
def test_remind(status: str, after: str) -> None:
    new = run_dunning(_sub(status), "remind", None, True, NOW)
    assert new["status"] == after
    assert new["dunning"]["reminderCount"] == 1 and new["dunning"]["lastRemindedAt"] == "2025-03-01T00:00:00Z"


def test_remind_without_open_invoice_is_nothing_to_collect() -> None:
    with pytest.raises(Conflict, match="nothing to collect"):
        run_dunning(_sub("past_due"), "remind", None, False, NOW)


@pytest.mark.parametrize("status", ["trialing", "paused", "suspended", "canceled"])
def test_remind_elsewhere_is_409(status: str) -> None:
    with pytest.raises(Conflict):
        run_dunning(_sub(status), "remind", None, True, NOW)


def test_grace_period_then_suspend() -> None:
    grace = run_dunning(_sub("past_due"), "grace_period", 10, True, NOW)
    assert grace["status"] == "grace_period"
    assert grace["dunning"]["gracePeriodEndsAt"] == "2025-03-11T00:00:00Z"
    later = datetime(2025, 3, 2, 12, tzinfo=UTC)
    suspended = run_dunning(grace, "suspend", None, True, later)
    assert (suspended["status"], suspended["suspendedAt"]) == ("suspended", "2025-03-02T12:00:00Z")
    assert run_dunning(_sub("past_due"), "grace_period", None, True, NOW)["dunning"]["gracePeriodEndsAt"] == (
        "2025-03-08T00:00:00Z"
    )


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("active", "grace_period"),
        ("grace_period", "grace_period"),
        ("suspended", "grace_period"),
        ("past_due", "suspend"),
        ("active", "suspend"),
        ("suspended", "suspend"),
        ("canceled", "suspend"),
    ],
)
def test_not_escalating_is_409(status: str, action: str) -> None:
    with pytest.raises(Conflict):
        run_dunning(_sub(status), action, None, True, NOW)


def test_grace_days_only_with_grace_period() -> None:
    with pytest.raises(InvalidInput):
        run_dunning(_sub("past_due"), "remind", 5, True, NOW)


def test_input_is_never_changed() -> None:
    sub = _sub("past_due")
    before = repr(sub)
    run_dunning(sub, "remind", None, True, NOW)
    assert repr(sub) == before


@pytest.mark.parametrize("status", ["past_due", "grace_period", "suspended"])
def test_reactivate_clears_grace(status: str) -> None:
    sub = _sub(status)
    sub["dunning"]["gracePeriodEndsAt"] = "2025-03-08T00:00:00Z"
    new = reactivate(sub, NOW)
    assert new["status"] == "active" and new["dunning"]["gracePeriodEndsAt"] is None


@pytest.mark.parametrize("status", ["active", "paused", "canceled", "trialing"])
def test_reactivate_leaves_others(status: str) -> None:
    assert reactivate(_sub(status), NOW)["status"] == status
