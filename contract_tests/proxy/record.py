"""``--record``: the resources seen in answers, per entity, as a fixtures file ``sales-mock serve --fixtures`` loads.

The file has the shape of ``fixtures/demo.yaml``: entities with ``customers``, ``plans``,
``quotes``, ``orders`` and ``subscriptions`` in their create-request shape (the mock recomputes
numbers and totals), each moved to the status it was last seen in. Real credentials never enter
the file: every entity gets freshly generated mock keys, listed in the header comment. What a
fixture cannot express (a resource whose customer or plan was never seen, dunning states that
need an invoice history) is left out or simplified, and said so in the header.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from contract_tests.proxy.exchange import Exchange

SECTIONS = ("customers", "plans", "quotes", "orders", "subscriptions")
CUSTOMER_FIELDS = ("id", "name", "email", "currency", "country", "taxRateBps", "creditBalance")
PLAN_FIELDS = ("id", "code", "name", "description", "currency", "amount", "interval", "intervalCount", "trialDays")
LINE_FIELDS = ("description", "quantity", "unitPrice", "discountBps", "taxRateBps")
QUOTE_STATUSES = {"draft", "sent", "accepted", "declined", "expired"}
ORDER_STATUSES = {"draft", "confirmed", "fulfilled", "canceled"}


class Recorder:
    """Keeps the last-seen version of every resource per entity (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entities: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {}

    def observe(self, exchange: Exchange, operation_id: str, resources: list[tuple[str, Mapping[str, Any]]]) -> None:
        entity = exchange.entity_id
        if not entity:
            return
        with self._lock:
            sections = self.entities.setdefault(entity, {name: {} for name in SECTIONS})
            for kind, item in resources:
                sections[kind].pop(item["id"], None)
                sections[kind][item["id"]] = item
            if operation_id in ("deleteQuote", "deleteOrder") and 200 <= exchange.status < 300:
                kind = "quotes" if operation_id == "deleteQuote" else "orders"
                sections[kind].pop(exchange.path.rstrip("/").split("/")[-1], None)

    def document(self) -> tuple[dict[str, Any], list[str]]:
        """The fixtures document and the header lines (keys per entity, what was simplified)."""
        with self._lock:
            entities = {
                entity: {k: list(v.values()) for k, v in sections.items()} for entity, sections in self.entities.items()
            }
        out: list[dict[str, Any]] = []
        header: list[str] = []
        for index, (entity_id, sections) in enumerate(sorted(entities.items())):
            read_write, read_only = f"ak_rec_{secrets.token_urlsafe(18)}", f"ak_rec_{secrets.token_urlsafe(18)}"
            header.append(f"entity {entity_id}: read+write key {read_write}, read-only key {read_only}")
            notes: list[str] = []
            body = _entity(sections, notes)
            currencies = [c["currency"] for c in body["customers"]]
            out.append(
                {
                    "id": entity_id,
                    "name": f"Recorded entity {index + 1}",
                    "baseCurrency": max(set(currencies), key=currencies.count) if currencies else "USD",
                    "apiKeys": [
                        {"key": read_write, "scopes": ["read:sales", "write:sales"]},
                        {"key": read_only, "scopes": ["read:sales"]},
                    ],
                    **body,
                }
            )
            header += [f"  {note}" for note in notes]
        return {"entities": out}, header

    def write(self, path: Path) -> None:
        document, header = self.document()
        lines = [
            "# Recorded by `sales-contract proxy --record`: the resources seen in answers, per entity.",
            "# Load it with `sales-mock serve --fixtures THIS_FILE --clock <an instant on or after the recording>`.",
            "# The upstream's credentials are not recorded; use these generated mock keys instead:",
            *[f"#   {line}" for line in header],
        ]
        text = "\n".join(lines) + "\n" + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


def _pick(item: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: item[key] for key in fields if key in item and item[key] is not None}


def _lines(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [_pick(line, LINE_FIELDS) for line in item.get("lines") or [] if isinstance(line, Mapping)]


def _entity(sections: dict[str, list[Mapping[str, Any]]], notes: list[str]) -> dict[str, Any]:
    """Sections in creation order (lists are newest first), each keeping only what a fixture may say."""
    customers = {c["id"]: c for c in sections["customers"]}
    plans = {p["id"]: p for p in sections["plans"]}
    result: dict[str, Any] = {name: [] for name in SECTIONS}

    def oldest_first(items: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return sorted(items, key=lambda item: str(item.get("createdAt", "")))

    for customer in oldest_first(sections["customers"]):
        result["customers"].append(_pick(customer, CUSTOMER_FIELDS))
    subscribed = {sub.get("planId") for sub in sections["subscriptions"]}
    for plan in oldest_first(sections["plans"]):
        active = bool(plan.get("active", True))
        if not active and plan["id"] in subscribed:
            active = True  # a fixture subscribes through the API, which refuses an archived plan
            notes.append(f"plan {plan['id']} recorded as active: subscriptions to it were seen")
        result["plans"].append(_pick(plan, PLAN_FIELDS) | {"active": active})
    quotes_by_id: dict[str, str] = {}
    for quote in oldest_first(sections["quotes"]):
        if quote.get("customerId") not in customers:
            notes.append(f"quote {quote['id']} left out: its customer was never seen")
            continue
        status = "accepted" if quote.get("status") == "converted" else quote.get("status", "draft")
        if status not in QUOTE_STATUSES:
            continue
        quotes_by_id[quote["id"]] = status
        fields = _pick(quote, ("id", "customerId", "issueDate", "validUntil", "notes"))
        result["quotes"].append(fields | {"status": status, "lines": _lines(quote)})
    for order in oldest_first(sections["orders"]):
        base = _pick(order, ("id", "orderDate", "notes")) | {"status": order.get("status", "draft")}
        if base["status"] not in ORDER_STATUSES:
            continue
        if quotes_by_id.get(str(order.get("quoteId"))) == "accepted":
            quotes_by_id[order["quoteId"]] = "converted"
            result["orders"].append(base | {"quoteId": order["quoteId"]})
        elif order.get("customerId") in customers:
            result["orders"].append(base | {"customerId": order["customerId"], "lines": _lines(order)})
        else:
            notes.append(f"order {order['id']} left out: its customer was never seen")
    for sub in oldest_first(sections["subscriptions"]):
        if sub.get("customerId") not in customers or sub.get("planId") not in plans:
            notes.append(f"subscription {sub['id']} left out: its customer or plan was never seen")
            continue
        result["subscriptions"].append(_subscription(sub, plans[sub["planId"]], notes))
    return result


def _subscription(sub: Mapping[str, Any], plan: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """Created at its start date, then the one step that puts it in its status where a fixture can say it."""
    start = str(sub["startDate"])
    item: dict[str, Any] = {"id": sub["id"], "customerId": sub["customerId"], "planId": sub["planId"]}
    item["quantity"] = int(sub.get("quantity", 1))
    trial_end = sub.get("trialEnd")
    item["trialDays"] = (date.fromisoformat(str(trial_end)) - date.fromisoformat(start)).days if trial_end else 0
    item["start"] = start
    status, history = sub.get("status"), list[dict[str, Any]]()
    if status == "canceled" and sub.get("canceledAt"):
        history.append({"date": str(sub["canceledAt"])[:10], "op": "patch", "body": {"status": "canceled"}})
    elif status == "paused" and sub.get("pausedAt"):
        history.append({"date": str(sub["pausedAt"])[:10], "op": "patch", "body": {"status": "paused"}})
    elif status in ("past_due", "grace_period", "suspended"):
        notes.append(f"subscription {sub['id']} recorded as active: {status} needs an invoice history")
    if history and str(history[0]["date"]) < start:
        history = []
    if history:
        item["history"] = history
    if plan.get("amount") != sub.get("unitAmount"):
        notes.append(
            f"subscription {sub['id']}: sold at {sub.get('unitAmount')}, its plan now costs {plan.get('amount')}"
        )
    return item
