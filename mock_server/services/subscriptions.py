"""Subscription use cases: list, create, patch; the per-entity event schedule; invoices and payment.

The billing index (``entity.billing_index()``, a ``billing_index.BillingIndex``) holds the invoice
ids per subscription and the event schedule, a min-heap of ``(instant text, subscription id)`` whose
stale entries are skipped when popped. Applying due events therefore costs O(due events x log n),
never a scan of every subscription.

Every state change goes through ``save``, which first applies the subscription's events due up to
``now`` (so a response never shows a state that time has already moved past) and then reschedules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mock_server.domain.dunning import reactivate
from mock_server.domain.errors import Conflict, FieldProblem, InvalidInput, Unprocessable
from mock_server.domain.invoicing import mark_paid
from mock_server.domain.periods import format_instant
from mock_server.domain.subscriptions import (
    STATUSES,
    advance,
    new_subscription,
    next_event,
    patch_subscription,
)
from mock_server.services.common import all_json, find, new_id, referenced
from mock_server.store import EntityState, Resource


def invoices_of(entity: EntityState, sub_id: str) -> list[Resource]:
    """The subscription's invoices in creation order."""
    ids = entity.billing_index().invoice_ids(sub_id)
    return [invoice for i in ids if (invoice := entity.get("invoices", i)) is not None]


def open_due_dates(entity: EntityState, sub_id: str) -> list[str]:
    """``dueDate`` of each open invoice of the subscription."""
    return [inv["dueDate"] for inv in invoices_of(entity, sub_id) if inv["status"] == "open"]


def add_invoice(entity: EntityState, invoice: Resource) -> Resource:
    """Store a new invoice and index it under its subscription."""
    entity.add("invoices", invoice)
    entity.billing_index().add_invoice(invoice["subscriptionId"], invoice["id"])
    return invoice


def schedule(entity: EntityState, sub: Resource) -> None:
    """(Re)compute ``sub``'s next event and push it on the heap when it changed."""
    billing = entity.billing_index()
    event = next_event(sub, open_due_dates(entity, sub["id"]))
    billing.schedule(sub["id"], format_instant(event[0]) if event else None)


def save(entity: EntityState, new: Resource, now: datetime) -> Resource:
    """Commit ``new`` over the stored subscription of the same id (kept as the same dict), after
    applying its events due up to ``now``; keeps the status index and the schedule right."""
    settled = advance(new, open_due_dates(entity, new["id"]), now)
    if entity.read("subscriptions", new["id"])["status"] != settled["status"]:
        entity.set_status("subscriptions", new["id"], settled["status"])
    stored = entity.edit("subscriptions", new["id"])
    stored.update(settled)
    schedule(entity, stored)
    return stored


def apply_subscription_events(entity: EntityState, now: datetime) -> None:
    """Apply every subscription event due at or before ``now``, exactly and in time order.

    Events of different subscriptions never interact, so each popped subscription is advanced to
    ``now`` in one go; the cost is O(due events x log n).
    """
    if not entity.billing.events:
        return
    limit = format_instant(now)
    billing = entity.billing_index()
    while (sub_id := billing.pop_due(limit)) is not None:
        sub = entity.get("subscriptions", sub_id)
        if sub is not None:
            save(entity, sub, now)


def int_field(body: dict[str, Any] | None, name: str, default: int) -> int:
    """An integer body field, or ``default`` when the body or the field is absent."""
    value = (body or {}).get(name)
    return default if value is None else int(value)


# Sales API operations ------------------------------------------------------------------------


def list_subscriptions(entity: EntityState, status: str | None = None) -> bytes:
    """``{"data": [...]}`` newest first, optionally only ``status``."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", [FieldProblem("status", "unknown status")])
    return all_json(entity, "subscriptions", status)


def create_subscription(
    entity: EntityState, body: dict[str, Any], now: datetime, *, sub_id: str | None = None
) -> Resource:
    """A new subscription starting today (201). The customer and the plan must be this entity's,
    the plan active and in the customer's currency (422 otherwise). ``quantity`` defaults to 1,
    ``trialDays`` to the plan's."""
    customer = referenced(entity, "customers", str(body["customerId"]), "customerId", "customer")
    plan = referenced(entity, "plans", str(body["planId"]), "planId", "plan")
    if not plan["active"]:
        raise Unprocessable(f"plan {plan['code']} is archived", [FieldProblem("planId", "archived plan")])
    if plan["currency"] != customer["currency"]:
        raise Unprocessable(
            f"plan {plan['code']} is in {plan['currency']} but the customer pays in {customer['currency']}",
            [FieldProblem("planId", "currency differs from the customer's")],
        )
    sub = new_subscription(
        sub_id=sub_id or new_id(),
        customer=customer,
        plan=plan,
        quantity=int_field(body, "quantity", 1),
        trial_days=int_field(body, "trialDays", int(plan["trialDays"])),
        now=now,
    )
    entity.add("subscriptions", sub)
    schedule(entity, sub)
    return sub


def get_subscription(entity: EntityState, sub_id: str) -> Resource:
    """The subscription, or 404."""
    return find(entity, "subscriptions", sub_id, "subscription")


def patch(entity: EntityState, sub_id: str, body: dict[str, Any], now: datetime) -> Resource:
    """Pause, resume, cancel now, or (un)schedule cancel at period end (see the domain's
    ``patch_subscription``); 409 for any other transition. A no-op PATCH is 200 and changes nothing."""
    sub = get_subscription(entity, sub_id)
    new = patch_subscription(sub, body, now)
    if new == sub:
        return sub
    return save(entity, new, now)


# invoices (read by the admin API) ------------------------------------------------------------


def list_invoices(entity: EntityState) -> bytes:
    """``{"data": [Invoice]}`` of the entity, newest first, as JSON."""
    return all_json(entity, "invoices")


def pay_invoice(entity: EntityState, invoice_id: str, now: datetime) -> Resource:
    """Mark an open invoice ``paid`` (``paidAt = now``); an invoice that is not open is 409.

    When no open invoice of the subscription is left, a past_due, grace_period or suspended
    subscription returns to ``active`` (``gracePeriodEndsAt`` cleared).
    Due events are applied first, so the result is exact at ``now``. 404 for an unknown invoice."""
    apply_subscription_events(entity, now)
    invoice = find(entity, "invoices", invoice_id, "invoice")
    if invoice["status"] != "open":
        raise Conflict(f"invoice {invoice['number']} is {invoice['status']}, not open")
    paid = mark_paid(invoice, now)
    entity.set_status("invoices", invoice_id, "paid")
    entity.edit("invoices", invoice_id).update(paid)
    sub = entity.get("subscriptions", invoice["subscriptionId"])
    if sub is not None:
        if open_due_dates(entity, sub["id"]):
            schedule(entity, sub)
        else:
            save(entity, reactivate(sub, now), now)
    return invoice


# fixtures ------------------------------------------------------------------------------------


def load_subscription_fixtures(
    entity: EntityState, subscriptions: Iterable[Resource], invoices: Iterable[Resource] = ()
) -> None:
    """Seed subscriptions and invoices (complete API-shaped dicts, as in ``fixtures/*.yaml``), then
    build the billing index and event schedule. Invoice numbers advance the entity's counter."""
    for sub in subscriptions:
        entity.add("subscriptions", dict(sub))
    for invoice in invoices:
        entity.add("invoices", dict(invoice))
        number = int(str(invoice["number"]).split("-")[-1])
        entity.counters["invoices"] = max(entity.counters["invoices"], number)
    entity.billing.rebuild(entity.scan("invoices"), entity.scan("subscriptions"))
