"""An entity's billing index: its invoices per subscription and its subscription event schedule.

Part of ``store.EntityState`` (``entity.billing``), built from the resources by the store
(``EntityState.billing_index`` the first time a service needs it, ``EntityState.rebuild_indexes``
after a state import). ``events`` is a min-heap of ``(instant text, subscription id)``; an entry is
live only while it equals ``scheduled[id]``, so stale entries are skipped when popped. The state
document keeps the heap (``subscriptionEvents``) and the rest (``extras.billing``), exactly as
``to_json`` writes them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mock_server.domain.periods import format_instant
from mock_server.domain.subscriptions import next_event
from mock_server.packed import Resource


class BillingIndex:
    """Invoice ids per subscription (creation order), the live next event per subscription, and the
    event heap. ``built`` is False until the first ``rebuild``: an entity whose billing was never
    used writes no ``extras.billing``."""

    __slots__ = ("built", "events", "invoices_by_subscription", "scheduled")

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.invoices_by_subscription: dict[str, list[str]] = {}
        self.scheduled: dict[str, str] = {}
        self.built = False

    def rebuild(self, invoices: Iterable[Resource], subscriptions: Iterable[Resource]) -> None:
        """Recompute the invoice-per-subscription index and the live schedule from the resources.

        Entries already on the heap are kept (a snapshot round trip is lossless); a live event that
        is missing from the heap is pushed. Reads each invoice once (a state file of 100,000
        subscriptions is indexed at start-up)."""
        by_sub: dict[str, list[str]] = {}
        open_due: dict[str, list[str]] = {}  # open_due_dates of every subscription, in one pass
        for invoice in invoices:
            sub_id = invoice["subscriptionId"]
            by_sub.setdefault(sub_id, []).append(invoice["id"])
            if invoice["status"] == "open":
                open_due.setdefault(sub_id, []).append(invoice["dueDate"])
        scheduled: dict[str, str] = {}
        self.invoices_by_subscription, self.scheduled, self.built = by_sub, scheduled, True
        heap = self.events
        heap[:] = [tuple(entry) for entry in heap]
        heapq.heapify(heap)
        present = set(heap)
        texts: dict[datetime, str] = {}  # many subscriptions share an event instant: format each once
        for sub in subscriptions:
            event = next_event(sub, open_due.get(sub["id"], []))
            if event is not None:
                text = texts.get(event[0])
                if text is None:
                    text = texts[event[0]] = format_instant(event[0])
                scheduled[sub["id"]] = text
                if (text, sub["id"]) not in present:
                    heapq.heappush(heap, (text, sub["id"]))

    def add_invoice(self, subscription_id: str, invoice_id: str) -> None:
        """Index a new invoice (the newest) under its subscription."""
        self.invoices_by_subscription.setdefault(subscription_id, []).append(invoice_id)

    def invoice_ids(self, subscription_id: str) -> list[str]:
        """The subscription's invoice ids in creation order."""
        return self.invoices_by_subscription.get(subscription_id, [])

    def schedule(self, subscription_id: str, text: str | None) -> None:
        """Make ``text`` (an instant, or None for none) the subscription's next event, pushing it on
        the heap when it changed."""
        scheduled = self.scheduled
        if scheduled.get(subscription_id) == text:
            return
        if text is None:
            scheduled.pop(subscription_id, None)
            return
        scheduled[subscription_id] = text
        heapq.heappush(self.events, (text, subscription_id))

    def pop_due(self, limit: str) -> str | None:
        """The id of the next subscription whose live event is due at or before ``limit`` (instant
        text), taken off the schedule; None when none is due. Stale heap entries are dropped."""
        heap, scheduled = self.events, self.scheduled
        while heap and heap[0][0] <= limit:
            at, sub_id = heapq.heappop(heap)
            if scheduled.get(sub_id) == at:
                del scheduled[sub_id]
                return str(sub_id)
        return None

    def load_events(self, events: Iterable[tuple[Any, ...]]) -> None:
        """Take the heap entries of a state document (checked by the caller) as they are."""
        self.events.extend(events)
        heapq.heapify(self.events)

    def events_json(self) -> list[list[Any]]:
        """The heap as the state document's ``subscriptionEvents``: sorted, each entry a list."""
        return [list(event) for event in sorted(self.events)]

    def extras_json(self) -> dict[str, Any]:
        """The state document's ``extras``: ``{"billing": {...}}`` once built, else ``{}``."""
        if not self.built:
            return {}
        return {"billing": {"invoicesBySubscription": self.invoices_by_subscription, "scheduled": self.scheduled}}
