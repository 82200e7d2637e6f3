"""Subscriptions: creation, PATCH transitions and the time-driven event stepper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from billing_factories import NOW, make_plan, make_sub
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.errors import Conflict
from mock_server.domain.subscriptions import advance, next_event, patch_subscription


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_create_with_and_without_trial() -> None:
    trial = make_sub(trial_days=14)
    assert (trial["status"], trial["trialEnd"], trial["currentPeriodEnd"]) == ("trialing", "2025-03-15", "2025-03-15")
    plain = make_sub(make_plan(100, "year"))
    assert (plain["status"], plain["trialEnd"], plain["currentPeriodEnd"]) == ("active", None, "2026-03-01")
    assert plain["dunning"] == {"reminderCount": 0, "lastRemindedAt": None, "gracePeriodEndsAt": None}


def test_trial_end_activates_with_anchor_trial_end() -> None:
    sub = advance(make_sub(trial_days=14), [], _at(2025, 3, 15))
    assert sub["status"] == "active"
    assert (sub["billingCycleAnchor"], sub["currentPeriodStart"], sub["currentPeriodEnd"]) == (
        "2025-03-15",
        "2025-03-15",
        "2025-04-15",
    )
    assert sub["updatedAt"] == "2025-03-15T00:00:00Z"
    assert advance(make_sub(trial_days=14), [], _at(2025, 3, 14, 23, 59))["status"] == "trialing"


def test_cancel_wins_over_trial_end() -> None:
    sub = patch_subscription(make_sub(trial_days=14), {"cancelAtPeriodEnd": True}, NOW)
    after = advance(sub, [], _at(2025, 4, 1))
    assert (after["status"], after["canceledAt"]) == ("canceled", "2025-03-15T00:00:00Z")


def test_overdue_invoice_makes_past_due_the_day_after_due() -> None:
    sub = make_sub()
    assert advance(sub, ["2025-03-31"], _at(2025, 3, 31, 23, 59))["status"] == "active"
    assert advance(sub, ["2025-03-31"], _at(2025, 4, 1))["status"] == "past_due"
    assert next_event(sub, ["2025-03-31"]) == (_at(2025, 4, 1), "overdue")


def test_grace_expiry_suspends_at_the_end() -> None:
    sub = make_sub() | {"status": "grace_period"}
    sub["dunning"] = {"reminderCount": 0, "lastRemindedAt": None, "gracePeriodEndsAt": "2025-03-08T00:00:00Z"}
    after = advance(sub, ["2025-03-01"], _at(2025, 5, 1))
    assert (after["status"], after["suspendedAt"]) == ("suspended", "2025-03-08T00:00:00Z")


def test_cancel_at_period_end_fires_in_past_due() -> None:
    sub = patch_subscription(make_sub(), {"cancelAtPeriodEnd": True}, NOW)
    after = advance(sub, ["2025-03-05"], _at(2025, 4, 2))
    assert (after["status"], after["canceledAt"]) == ("canceled", "2025-04-01T00:00:00Z")


def test_pause_and_resume_restarts_the_period() -> None:
    paused = patch_subscription(make_sub(), {"status": "paused"}, _at(2025, 3, 5))
    assert (paused["status"], paused["pausedAt"]) == ("paused", "2025-03-05T00:00:00Z")
    resumed = patch_subscription(paused, {"status": "active"}, _at(2025, 3, 20, 10))
    assert resumed["pausedAt"] is None
    assert (resumed["billingCycleAnchor"], resumed["currentPeriodStart"], resumed["currentPeriodEnd"]) == (
        "2025-03-20",
        "2025-03-20",
        "2025-04-20",
    )


def test_resume_with_an_overdue_invoice_becomes_past_due_at_once() -> None:
    paused = patch_subscription(make_sub(), {"status": "paused"}, NOW)
    resumed = patch_subscription(paused, {"status": "active"}, _at(2025, 5, 1))
    after = advance(resumed, ["2025-03-31"], _at(2025, 5, 1))
    assert after["status"] == "past_due" and after["updatedAt"] == "2025-05-01T00:00:00Z"


@pytest.mark.parametrize(
    ("status", "changes"),
    [
        ("trialing", {"status": "paused"}),
        ("past_due", {"status": "paused"}),
        ("active", {"status": "past_due"}),
        ("past_due", {"status": "active"}),
        ("suspended", {"status": "active"}),
        ("paused", {"cancelAtPeriodEnd": True}),
        ("suspended", {"cancelAtPeriodEnd": True}),
        ("canceled", {"status": "active"}),
        ("canceled", {"cancelAtPeriodEnd": False}),
    ],
)
def test_illegal_patches_are_409(status: str, changes: dict) -> None:
    with pytest.raises(Conflict):
        patch_subscription(make_sub() | {"status": status}, changes, NOW)


@pytest.mark.parametrize("status", ["trialing", "active", "past_due", "grace_period", "suspended", "paused"])
def test_cancel_now_from_anything_but_canceled(status: str) -> None:
    new = patch_subscription(make_sub() | {"status": status}, {"status": "canceled"}, _at(2025, 3, 2))
    assert (new["status"], new["canceledAt"]) == ("canceled", "2025-03-02T00:00:00Z")


@pytest.mark.parametrize("status", ["active", "paused", "canceled", "past_due"])
def test_patch_to_the_current_status_is_a_no_op(status: str) -> None:
    sub = make_sub() | {"status": status}
    assert patch_subscription(sub, {"status": status}, _at(2025, 3, 9)) == sub


events = st.lists(st.integers(1, 40), min_size=1, max_size=6)


@given(
    st.integers(0, 30),
    st.booleans(),
    st.lists(st.integers(0, 60), max_size=3),
    st.sampled_from(["day", "week", "month", "year"]),
    events,
)
def test_one_step_or_many_gives_identical_state(
    trial_days: int, cancel: bool, due_offsets: list[int], interval: str, steps: list[int]
) -> None:
    sub = make_sub(make_plan(1000, interval), trial_days=trial_days)
    if cancel:
        sub = patch_subscription(sub, {"cancelAtPeriodEnd": True}, NOW)
    dues = [(NOW + timedelta(days=d)).date().isoformat() for d in due_offsets]
    stepped, moment = sub, NOW
    for days in steps:
        moment += timedelta(days=days, hours=7)
        stepped = advance(stepped, dues, moment)
    assert advance(sub, dues, moment) == stepped
