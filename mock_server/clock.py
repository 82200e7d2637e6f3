"""Per-entity clocks: real time plus an offset, or frozen at an instant. Forward only, and within
:data:`EARLIEST`..:data:`LATEST`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from mock_server.domain.errors import Conflict, FieldProblem, InvalidInput
from mock_server.domain.periods import add_months, format_instant, parse_instant

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9899, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The range of every entity clock. The calendar ends at 9999-12-31; a clock stops a century before it,
so every date worked out from the clock (billing periods of up to 12 years after a trial of up to a
year, due dates, grace periods) is still one the server can hold."""
RANGE_TEXT = f"{format_instant(EARLIEST)}..{format_instant(LATEST)}"


def in_range(moment: datetime) -> bool:
    """Whether ``moment`` (aware) is an instant a clock may show."""
    return EARLIEST <= moment <= LATEST


def out_of_range(name: str) -> InvalidInput:
    """The 400 for a clock (or the field ``name`` that would set it) outside :data:`RANGE_TEXT`."""
    message = f"the clock stays within {RANGE_TEXT}"
    return InvalidInput(f"invalid request: {name}: {message}", details=[FieldProblem(name, message)])


def _real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class EntityClock:
    """``frozen_at`` set: the clock stands there until advanced. Otherwise real time plus ``offset``."""

    frozen_at: datetime | None = None
    offset: timedelta = timedelta(0)
    source: Callable[[], datetime] = _real_now

    @classmethod
    def from_mode(cls, mode: str | None) -> EntityClock:
        """``None``/``"now"``: real time; an RFC 3339 instant: frozen there. ValueError for anything else
        (an instant outside :data:`RANGE_TEXT` too)."""
        if mode is None or mode == "now":
            return cls()
        moment = parse_instant(mode).replace(microsecond=0)
        if not in_range(moment):
            raise ValueError(f"clock {mode!r} is outside {RANGE_TEXT}")
        return cls(frozen_at=moment)

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def now(self) -> datetime:
        """The entity's current instant (aware UTC, whole seconds)."""
        if self.frozen_at is not None:
            return self.frozen_at
        return self.source() + self.offset

    def today(self) -> date:
        return self.now().date()

    def advance_to(self, target: datetime, field: str = "to") -> datetime:
        """Move the clock to ``target``; going backwards is a Conflict, past :data:`LATEST` a 400 naming ``field``."""
        target = target.astimezone(UTC).replace(microsecond=0)
        if target > LATEST:
            raise out_of_range(field)
        current = self.now()
        if target < current:
            raise Conflict(
                f"the clock only moves forward: {format_instant(target)} is before {format_instant(current)}"
            )
        if self.frozen_at is not None:
            self.frozen_at = target
        else:
            self.offset += target - current
        return self.now()

    def advance(self, days: int = 0, months: int = 0) -> datetime:
        """Move forward by calendar ``months`` (day clamped) then ``days``."""
        if days < 0 or months < 0:
            raise InvalidInput("days and months must not be negative")
        field = "days" if days else "months"
        current = self.now()
        try:
            shifted = add_months(current.date(), months)
            target = datetime.combine(shifted, current.timetz()) + timedelta(days=days)
        except (OverflowError, ValueError):  # past the end of the calendar
            raise out_of_range(field) from None
        return self.advance_to(target, field)

    def to_json(self) -> dict[str, object]:
        return {"now": format_instant(self.now()), "frozen": self.frozen}

    def snapshot(self) -> dict[str, object]:
        """Serializable form for state export."""
        return {
            "frozenAt": format_instant(self.frozen_at) if self.frozen_at else None,
            "offsetSeconds": int(self.offset.total_seconds()),
        }

    @classmethod
    def restore(cls, data: dict[str, object]) -> EntityClock:
        frozen = data.get("frozenAt")
        offset = data.get("offsetSeconds", 0)
        return cls(
            frozen_at=parse_instant(frozen) if isinstance(frozen, str) else None,
            offset=timedelta(seconds=int(offset) if isinstance(offset, int) else 0),
        )
