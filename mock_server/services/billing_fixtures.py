"""Subscriptions in fixture files: created at their start date, then replayed through their history.

A fixture subscription is::

    - id: <uuid>                      # optional; kept as the subscription's id
      customerId: <uuid>
      planId: <uuid>
      quantity: 2                     # optional, default 1
      trialDays: 14                   # optional, default the plan's
      start: today-40                 # optional, default today: created that day at 00:00Z
      history:                        # optional, in date order, each day in [start, today]
        - {date: today-40, op: generateInvoice, body: {dueInDays: 14}}
        - {date: today-30, op: pay}     # pays every open invoice of the subscription
        - {date: today-10, op: patch, body: {status: paused}}
        - {date: today-5, op: dunning, body: {action: remind}}
        - {date: today-5, op: changePlan, body: {newPlanId: <uuid>}}

Each step runs through the same services as the Sales API, at ``date`` 00:00Z, after the
subscription's time-driven events due by then; finally the events due by the entity's clock apply.
So every figure in the fixtures (invoice totals, credit balances, statuses) is exactly what the API
itself would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from mock_server.domain.errors import DomainError, InvalidInput
from mock_server.domain.periods import parse_date, start_of_day
from mock_server.services import billing
from mock_server.services.subscriptions import create_subscription, invoices_of, patch, pay_invoice, save
from mock_server.store import EntityState

Step = Callable[[EntityState, str, dict[str, Any], datetime], object]


def _pay_all(entity: EntityState, sub_id: str, body: dict[str, Any], at: datetime) -> None:
    for invoice in invoices_of(entity, sub_id):
        if invoice["status"] == "open":
            pay_invoice(entity, invoice["id"], at)


STEPS: dict[str, Step] = {
    "generateInvoice": lambda e, s, b, at: billing.generate_invoice(e, s, b, at),
    "pay": _pay_all,
    "patch": patch,
    "dunning": billing.dunning,
    "changePlan": billing.change_subscription_plan,
}


def seed_subscriptions(entity: EntityState, items: list[dict[str, Any]], now: datetime) -> None:
    """Create fixture subscriptions and replay their histories interleaved in time order, so that
    creation order, ``createdAt`` and invoice numbers run together as they would in a real run.
    A problem raises ``InvalidInput`` naming the item as ``[index]``."""
    timeline: list[tuple[datetime, int, int, int]] = []  # (instant, 0 create | 1 step, item, step)
    for index, item in enumerate(items):
        with _naming(index):
            timeline.extend(_schedule(item, index, now))
    timeline.sort()
    created: dict[int, str] = {}
    for at, kind, index, step_index in timeline:
        with _naming(index):
            _run(entity, items[index], created, index, step_index if kind else None, at)
        entity.settle()  # each step is whole: pack as it goes, so a large fixture never is all unpacked
    for sub_id in created.values():
        save(entity, entity.read("subscriptions", sub_id), now)
        entity.settle()


@contextmanager
def _naming(index: int) -> Iterator[None]:
    """Re-raise a problem with fixture item ``index`` as ``InvalidInput`` that names it."""
    try:
        yield
    except KeyError as error:
        raise InvalidInput(f"[{index}]: missing field {error.args[0]!r}") from None
    except (DomainError, TypeError, ValueError) as error:
        raise InvalidInput(f"[{index}]: {error}", error.details if isinstance(error, DomainError) else []) from None


def _schedule(item: dict[str, Any], index: int, now: datetime) -> list[tuple[datetime, int, int, int]]:
    start = start_of_day(parse_date(str(item.get("start", now.date().isoformat()))))
    if start > now:
        raise InvalidInput(f"a fixture subscription cannot start after today ({start.date()})")
    entries = [(start, 0, index, 0)]
    last = start
    for number, step in enumerate(item.get("history") or []):
        at = start_of_day(parse_date(str(step["date"])))
        if not last <= at <= now:
            raise InvalidInput(f"history step on {at.date()} is out of order or in the future")
        if str(step["op"]) not in STEPS:
            raise InvalidInput(f"unknown history op {step['op']!r}; use one of {', '.join(STEPS)}")
        entries.append((at, 1, index, number))
        last = at
    return entries


def _run(
    entity: EntityState, item: dict[str, Any], created: dict[int, str], index: int, step: int | None, at: datetime
) -> None:
    if step is None:
        body: dict[str, Any] = {k: item[k] for k in ("customerId", "planId", "quantity", "trialDays") if k in item}
        created[index] = create_subscription(entity, body, at, sub_id=item.get("id"))["id"]
        return
    entry = item["history"][step]
    sub_id = created[index]
    save(entity, entity.read("subscriptions", sub_id), at)
    STEPS[str(entry["op"])](entity, sub_id, dict(entry.get("body") or {}), at)
