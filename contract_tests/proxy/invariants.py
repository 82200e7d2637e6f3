"""Business invariants decidable from one exchange, or from the exchanges seen so far.

The arithmetic comes from the contract suite's independent oracle (``contract_tests.oracle``);
this module adds what only an observer of traffic can decide: status changes between two
observations of one resource, paging walks, and tenancy (one resource seen in two entities).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from contract_tests import oracle
from contract_tests.proxy.exchange import Exchange

MAX_TRACKED = 200_000
"""Resources remembered per map; the oldest are forgotten beyond this (memory stays bounded)."""

KIND_BY_OPERATION: dict[str, str] = {
    "listCustomers": "customers",
    "listPlans": "plans",
    "createPlan": "plans",
    "patchPlan": "plans",
    "listQuotes": "quotes",
    "createQuote": "quotes",
    "getQuote": "quotes",
    "patchQuote": "quotes",
    "deleteQuote": "quotes",
    "listOrders": "orders",
    "createOrder": "orders",
    "getOrder": "orders",
    "patchOrder": "orders",
    "deleteOrder": "orders",
    "listSubscriptions": "subscriptions",
    "createSubscription": "subscriptions",
    "patchSubscription": "subscriptions",
    "runDunning": "subscriptions",
    "changePlan": "subscriptions",
}
REFERENCES = {"customerId": "customers", "planId": "plans", "quoteId": "quotes", "subscriptionId": "subscriptions"}

# Every status change the domain allows, by any cause (requests, time, payments).
GRAPH: dict[str, dict[str, frozenset[str]]] = {
    "quotes": {
        "draft": frozenset({"sent"}),
        "sent": frozenset({"accepted", "declined", "expired"}),
        "accepted": frozenset({"converted"}),
        "converted": frozenset({"accepted"}),
    },
    "orders": dict(oracle.ORDER_TRANSITIONS),
    "subscriptions": {
        "trialing": frozenset({"active", "canceled"}),
        "active": frozenset({"past_due", "paused", "canceled"}),
        "paused": frozenset({"active", "canceled"}),
        "past_due": frozenset({"grace_period", "active", "canceled"}),
        "grace_period": frozenset({"suspended", "active", "canceled"}),
        "suspended": frozenset({"active", "canceled"}),
    },
}
# The changes that happen without a Sales API request: time-driven events and payments (admin side).
SILENT: dict[str, dict[str, frozenset[str]]] = {
    "quotes": {"sent": frozenset({"expired"})},
    "orders": {},
    "subscriptions": {
        "trialing": frozenset({"active", "canceled"}),
        "active": frozenset({"past_due", "canceled"}),
        "past_due": frozenset({"active", "canceled"}),
        "grace_period": frozenset({"suspended", "active", "canceled"}),
        "suspended": frozenset({"active"}),
    },
}
PATCH_STEPS: dict[str, Mapping[str, frozenset[str]]] = {
    "quotes": oracle.QUOTE_TRANSITIONS,
    "orders": oracle.ORDER_TRANSITIONS,
    "subscriptions": oracle.SUBSCRIPTION_PATCH_TRANSITIONS,
}
DUNNING_STEPS: dict[str, dict[str, str]] = {
    "remind": {"active": "past_due", "past_due": "past_due", "grace_period": "grace_period"},
    "grace_period": {"past_due": "grace_period"},
    "suspend": {"grace_period": "suspended"},
}


def closure(graph: Mapping[str, frozenset[str]], start: str) -> set[str]:
    """Every status reachable from ``start`` (itself included) through ``graph``."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), frozenset()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


REACHABLE = {kind: {status: frozenset(closure(graph, status)) for status in graph} for kind, graph in GRAPH.items()}
SILENTLY = {kind: {status: frozenset(closure(graph, status)) for status in graph} for kind, graph in SILENT.items()}


def _reachable(kind: str, status: str) -> frozenset[str]:
    return REACHABLE[kind].get(status) or frozenset({status})


def _silently(kind: str, status: str) -> frozenset[str]:
    return SILENTLY[kind].get(status) or frozenset({status})


def _documents(body: Any) -> Iterator[Mapping[str, Any]]:
    """The objects that can be documents: the body, list items, and objects nested one or two levels
    (``{"subscription", "proration", "invoice"}``); lines themselves are not walked."""
    todo = [body]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(item for item in node if isinstance(item, dict | list))
        elif isinstance(node, Mapping):
            yield node
            for key, value in node.items():
                if key != "lines" and isinstance(value, dict | list):
                    todo.append(value)


def _safe(check: Callable[[], list[str]]) -> list[str]:
    """Run an oracle comparison; a malformed document is the schema check's finding, not a crash here."""
    try:
        return check()
    except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError):
        return []


class Bounded(dict[str, Any]):
    """A dict that forgets its oldest entries beyond ``MAX_TRACKED``."""

    def remember(self, key: str, value: Any) -> None:
        self.pop(key, None)
        self[key] = value
        while len(self) > MAX_TRACKED:
            del self[next(iter(self))]


@dataclass
class Walk:
    generation: int
    total: Any
    pages: dict[str, int] = field(default_factory=dict)


def resources_of(exchange: Exchange, operation_id: str | None) -> list[tuple[str, Mapping[str, Any]]]:
    """The (kind, resource) pairs in a successful answer of a known operation."""
    kind = KIND_BY_OPERATION.get(operation_id or "")
    body = exchange.response_body
    if kind is None or not exchange.ok or not isinstance(body, Mapping):
        return []
    if operation_id == "changePlan":
        body = body.get("subscription")
        if not isinstance(body, Mapping):
            return []
    items = body.get("data") if "data" in body and "id" not in body else [body]
    if not isinstance(items, list):
        return []
    return [(kind, item) for item in items if isinstance(item, Mapping) and isinstance(item.get("id"), str)]


class Observer:
    """Checks each exchange against what was seen before; call ``problems`` once per exchange, in order."""

    def __init__(self) -> None:
        self.owner = Bounded()  # resource id -> entity id it was first seen in
        self.status = Bounded()  # resource id -> last observed status
        self.latest = Bounded()  # plan/subscription id -> last observed document
        self.walks = Bounded()  # paging walk key -> Walk
        self.generation: dict[str, int] = {}

    def problems(self, exchange: Exchange, operation_id: str | None) -> list[str]:
        if not exchange.ok:
            return []
        found: list[str] = []
        body = exchange.response_body
        found += self._arithmetic(body)
        if operation_id == "changePlan":
            found += self._proration(exchange)
        resources = resources_of(exchange, operation_id)
        entity = exchange.entity_id
        if entity:
            found += self._tenancy(resources, entity)
        found += self._transitions(exchange, operation_id, resources)
        if operation_id in ("listQuotes", "listOrders"):
            found += self._paging(exchange, operation_id, entity)
        if exchange.method == "GET":
            found += _status_filter(exchange)
        self._remember(exchange, operation_id, resources, entity)
        return found

    # ------------------------------------------------------------------ one exchange

    def _arithmetic(self, body: Any) -> list[str]:
        """Documents recognised by shape anywhere in the answer: quote/order lines, invoices, prorations.

        (Money being integer minor units is the schema check's job: the spec types every amount.)"""
        found: list[str] = []
        for node in _documents(body):
            lines = node.get("lines")
            if isinstance(lines, list) and lines and isinstance(lines[0], Mapping):
                if "unitPrice" in lines[0]:
                    found += _safe(partial(oracle.problems_sales_document, node))
                elif "amountDue" in node:
                    found += _safe(partial(oracle.problems_invoice, node))
            if "prorationDate" in node and "daysInPeriod" in node:
                found += _safe(partial(oracle.problems_proration_shape, node))
        return found

    def _proration(self, exchange: Exchange) -> list[str]:
        """A change-plan's proration recomputed from the subscription and plan seen before it, when known."""
        body, request = exchange.response_body, exchange.request_body
        sub_id = exchange.path.rstrip("/").split("/")[-2]
        before, proration = self.latest.get(sub_id), body.get("proration") if isinstance(body, Mapping) else None
        if not isinstance(request, Mapping) or not isinstance(proration, Mapping) or not isinstance(before, Mapping):
            return []
        plan = self.latest.get(str(request.get("newPlanId")))
        if not isinstance(plan, Mapping) or before.get("status") not in ("active", "trialing"):
            return []
        if (before.get("currentPeriodStart"), before.get("currentPeriodEnd")) != (
            proration.get("periodStart"),
            proration.get("periodEnd"),
        ):
            return []  # the period moved since the last observation: not decidable

        def compare() -> list[str]:
            when = date.fromisoformat(str(proration["prorationDate"]))
            quantity = request.get("quantity")
            expected = oracle.expected_proration(before, plan, when, quantity if isinstance(quantity, int) else None)
            return oracle.problems_proration(proration, expected)

        return _safe(compare)

    # ------------------------------------------------------------------ across exchanges

    def _tenancy(self, resources: list[tuple[str, Mapping[str, Any]]], entity: str) -> list[str]:
        found = []
        for kind, item in resources:
            owner = self.owner.get(item["id"])
            if owner is not None and owner != entity:
                found.append(f"{kind} {item['id']} belongs to entity {owner} but is in an answer for entity {entity}")
            for field_name, ref_kind in REFERENCES.items():
                ref = item.get(field_name)
                ref_owner = self.owner.get(ref) if isinstance(ref, str) else None
                if ref_owner is not None and ref_owner != entity:
                    found.append(
                        f"{kind} {item['id']} refers to {ref_kind} {ref} of entity {ref_owner} (answer for {entity})"
                    )
        return found

    def _transitions(
        self, exchange: Exchange, operation_id: str | None, resources: list[tuple[str, Mapping[str, Any]]]
    ) -> list[str]:
        found = []
        request = exchange.request_body if isinstance(exchange.request_body, Mapping) else {}
        for kind, item in resources:
            after, before = item.get("status"), self.status.get(item["id"])
            if kind not in GRAPH or not isinstance(after, str):
                continue
            label = f"{kind[:-1]} {item['id']}"
            requested = request.get("status") if operation_id and operation_id.startswith("patch") else None
            if isinstance(requested, str) and after != requested:
                found.append(f"{label}: PATCH asked for status {requested}, the answer says {after}")
            if not isinstance(before, str):
                continue
            silent = _silently(kind, before)
            reachable = _reachable(kind, before)
            if isinstance(requested, str) and requested == after:
                legal = {pre for pre in silent if after == pre or after in PATCH_STEPS[kind].get(pre, frozenset())}
                if not legal:
                    found.append(f"illegal status change of {label}: {before} -> {after} by PATCH")
            elif operation_id == "runDunning" and isinstance(request.get("action"), str):
                steps = DUNNING_STEPS.get(request["action"], {})
                if not any(steps.get(pre) == after for pre in silent):
                    found.append(
                        f"illegal status change of {label}: {before} -> {after} by dunning {request['action']}"
                    )
            elif after not in reachable:
                found.append(f"illegal status change of {label}: {before} -> {after} (no legal sequence leads there)")
        if operation_id in ("deleteQuote", "deleteOrder") and 200 <= exchange.status < 300:
            resource_id = exchange.path.rstrip("/").split("/")[-1]
            before = self.status.get(resource_id)
            kind = "quotes" if operation_id == "deleteQuote" else "orders"
            if isinstance(before, str) and "draft" not in _silently(kind, before):
                found.append(
                    f"{kind[:-1]} {resource_id} was {before}: only a draft may be deleted, got {exchange.status}"
                )
        return found

    def _paging(self, exchange: Exchange, operation_id: str, entity: str | None) -> list[str]:
        body = exchange.response_body
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            return []
        query = exchange.query
        asked = dict(query)
        page, size = _int(asked.get("page", "1")), _int(asked.get("pageSize", "20"))
        found = []
        if page is not None and body.get("page") != page:
            found.append(f"page is {body.get('page')!r}, the request asked for {page}")
        if size is not None and body.get("pageSize") != size:
            found.append(f"pageSize is {body.get('pageSize')!r}, the request asked for {size}")
        total, data = body.get("total"), body["data"]
        if page is not None and size is not None and isinstance(total, int):
            expected = max(0, min(size, total - (page - 1) * size))
            if len(data) != expected:
                found.append(
                    f"page {page} of size {size} with total {total} has {len(data)} items, expected {expected}"
                )
        if page is None or size is None:
            return found
        key = repr((entity, operation_id, sorted((k, v) for k, v in query if k != "page")))
        generation = self.generation.get(entity or "", 0)
        walk = self.walks.get(key)
        if not isinstance(walk, Walk) or walk.generation != generation:
            walk = Walk(generation, total)
        elif walk.total != total:
            found.append(
                f"total changed from {walk.total} to {total} between pages of one walk (no write seen between)"
            )
        for item in data:
            item_id = item.get("id") if isinstance(item, Mapping) else None
            if not isinstance(item_id, str):
                continue
            other = walk.pages.get(item_id)
            if other is not None and other != page:
                found.append(f"item {item_id} is on page {other} and on page {page} of one walk")
            walk.pages[item_id] = page
        self.walks.remember(key, walk)
        return found

    def _remember(
        self,
        exchange: Exchange,
        operation_id: str | None,
        resources: list[tuple[str, Mapping[str, Any]]],
        entity: str | None,
    ) -> None:
        if exchange.method != "GET":
            self.generation[entity or ""] = self.generation.get(entity or "", 0) + 1
        for kind, item in resources:
            if entity and item["id"] not in self.owner:
                self.owner.remember(item["id"], entity)
            if isinstance(item.get("status"), str):
                self.status.remember(item["id"], item["status"])
            if kind in ("plans", "subscriptions"):
                self.latest.remember(item["id"], item)
        if operation_id in ("deleteQuote", "deleteOrder"):
            self.status.pop(exchange.path.rstrip("/").split("/")[-1], None)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _status_filter(exchange: Exchange) -> list[str]:
    body = exchange.response_body
    wanted = dict(exchange.query).get("status")
    if wanted is None or not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        return []
    wrong = [item.get("id") for item in body["data"] if isinstance(item, Mapping) and item.get("status") != wanted]
    return [f"status={wanted} returned items in other statuses: {wrong[:3]}"] if wrong else []
