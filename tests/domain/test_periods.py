"""Periods: calendar arithmetic from the anchor, month-end clamping, rolling periods."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.periods import add_interval, cycles_until, next_period


@pytest.mark.parametrize(
    ("cycles", "expected"),
    [(1, date(2025, 2, 28)), (2, date(2025, 3, 31)), (3, date(2025, 4, 30)), (13, date(2026, 2, 28))],
)
def test_month_end_clamping_counts_from_the_anchor(cycles: int, expected: date) -> None:
    assert add_interval(date(2025, 1, 31), "month", 1, cycles) == expected


def test_leap_february() -> None:
    assert add_interval(date(2024, 1, 31), "month", 1) == date(2024, 2, 29)
    assert add_interval(date(2024, 2, 29), "year", 1) == date(2025, 2, 28)


def test_rolling_periods_never_drift() -> None:
    anchor, end = date(2025, 1, 31), date(2025, 2, 28)
    ends = []
    for _ in range(3):
        _, end = next_period(anchor, "month", 1, end)
        ends.append(end)
    assert ends == [date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]


def test_day_week_quarter() -> None:
    assert add_interval(date(2025, 3, 1), "week", 2) == date(2025, 3, 15)
    assert add_interval(date(2025, 3, 1), "day", 1, 3) == date(2025, 3, 4)
    assert add_interval(date(2025, 11, 30), "month", 3) == date(2026, 2, 28)


@given(
    st.dates(date(2000, 1, 1), date(2090, 12, 31)),
    st.sampled_from(["day", "week", "month", "year"]),
    st.integers(1, 12),
    st.integers(0, 40),
)
def test_next_period_is_the_next_boundary(anchor: date, interval: str, count: int, cycles: int) -> None:
    end = add_interval(anchor, interval, count, cycles)
    assert cycles_until(anchor, interval, count, end) == cycles
    start, new_end = next_period(anchor, interval, count, end)
    assert start == end
    assert new_end == add_interval(anchor, interval, count, cycles + 1)
    assert new_end > end
