"""Calendar arithmetic for billing periods and instants. Pure: no clocks.

Periods are half-open ``[start, end)``. Month and year steps count from the anchor with the day
clamped to the month's end (anchor Jan 31: Feb 28/29, Mar 31, Apr 30, ...).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any


def add_months(anchor: date, months: int) -> date:
    """``anchor`` plus ``months`` calendar months, the day clamped to the target month's length."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last))


def add_interval(anchor: date, interval: str, interval_count: int, cycles: int = 1) -> date:
    """The date ``cycles`` billing intervals after ``anchor`` (always computed from the anchor)."""
    steps = interval_count * cycles
    if interval == "day":
        return anchor + timedelta(days=steps)
    if interval == "week":
        return anchor + timedelta(days=7 * steps)
    if interval == "month":
        return add_months(anchor, steps)
    if interval == "year":
        return add_months(anchor, 12 * steps)
    raise ValueError(f"unknown interval {interval!r}")


def days_between(start: date, end: date) -> int:
    """Whole days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    return (end - start).days


def start_of_day(day: date) -> datetime:
    """``day`` at 00:00 UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_LAST_FORMATTED: list[Any] = [None, ""]


def format_instant(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` and whole seconds, e.g. ``2025-03-01T00:00:00Z``. Called on every
    request (the entity's ``now``), so the last answer is remembered and the text is built directly
    (``strftime`` only for years before 1000, which it does not zero-pad)."""
    last = _LAST_FORMATTED
    if moment == last[0] and moment.tzinfo is not None:
        text: str = last[1]
        return text
    m = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    if m.year >= 1000:
        text = f"{m.year}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
    else:
        text = m.strftime("%Y-%m-%dT%H:%M:%SZ")
    if moment.tzinfo is not None:
        last[0], last[1] = moment, text
    return text


def parse_instant(text: str) -> datetime:
    """Parse an RFC 3339 instant (``Z`` or an offset) into an aware UTC datetime. Raises ValueError."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError(f"instant {text!r} has no timezone; use Z")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-02:00, past the end of the calendar in UTC
        raise ValueError(f"instant {text!r} is outside the years 0001..9999 in UTC") from None


def format_date(day: date) -> str:
    """``YYYY-MM-DD``."""
    return day.isoformat()


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD``. Raises ValueError."""
    return date.fromisoformat(text)


def cycles_until(anchor: date, interval: str, interval_count: int, boundary: date) -> int:
    """The largest ``n >= 0`` with ``add_interval(anchor, n cycles) <= boundary`` (0 if ``boundary < anchor``)."""
    if interval in ("day", "week"):
        step = interval_count * (7 if interval == "week" else 1)
        return max(0, days_between(anchor, boundary) // step)
    step = interval_count * (12 if interval == "year" else 1)
    months = (boundary.year - anchor.year) * 12 + boundary.month - anchor.month
    cycles = max(0, months // step)
    while cycles > 0 and add_interval(anchor, interval, interval_count, cycles) > boundary:
        cycles -= 1
    while add_interval(anchor, interval, interval_count, cycles + 1) <= boundary:
        cycles += 1
    return cycles


def next_period(anchor: date, interval: str, interval_count: int, end: date) -> tuple[date, date]:
    """The billing period that follows the one ending at ``end``: ``[end, next boundary)``.

    Boundaries are counted from ``anchor`` (never from the previous end), so month-end clamping
    does not drift: anchor Jan 31 gives Feb 28 (29), Mar 31, Apr 30, ...
    """
    cycles = cycles_until(anchor, interval, interval_count, end)
    return end, add_interval(anchor, interval, interval_count, cycles + 1)
