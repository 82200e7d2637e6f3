"""Clean up what the suite created on a target: delete drafts, archive plans, cancel subscriptions,
delete temporary entities.

Every created resource is written to a *ledger* (a JSON-lines file) the moment it is created, and
every clean-up outcome after it; whatever ends a run (its end, a deadline, Ctrl-C, SIGTERM, even
SIGKILL), :func:`sweep` can finish the job from the ledger alone.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contract_tests.client import SalesApi
from contract_tests.interrupts import handling
from contract_tests.report import Leftover

KINDS = ("quotes", "orders", "plans", "subscriptions")
ENTITIES = "entities"
CLOSED = "closed"
OTHER = "other"
"""The identity of what the suite creates in the second entity (with its key): the ledger says so."""


class Janitor:
    """Remembers ``(kind, id)`` of every resource the suite created, newest last. ``identity`` None is the
    target's own entity; :data:`OTHER` the second one (``api`` then calls with that entity and its key)."""

    def __init__(self, api: SalesApi, ledger: Path | None = None, identity: str | None = None) -> None:
        self.api = api
        self.identity = identity
        self.created: list[tuple[str, str]] = []
        self.own_ids: set[str] = set()
        self.ledger = ledger
        self.total = 0
        self.leftovers: list[Leftover] = []
        """Everything :meth:`clean` could not remove, by kind and id, with why (closed ones included)."""

    def remember(self, kind: str, resource_id: str) -> None:
        if resource_id in self.own_ids:
            return
        self.created.append((kind, resource_id))
        self.own_ids.add(resource_id)
        self.total += 1
        self._log({"created": kind, "id": resource_id, **({"as": self.identity} if self.identity else {})})

    def forget(self, resource_id: str) -> None:
        """A resource gone by other means (its temporary entity was deleted)."""
        self.created = [(kind, rid) for kind, rid in self.created if rid != resource_id]
        self._log({"cleaned": resource_id})

    def hook(self) -> Callable[[Any, Any, Any], None]:
        """A Schemathesis ``after_call`` hook remembering what generated requests created (201 on a collection)."""

        def after_call(context: Any, case: Any, response: Any) -> None:
            kind = str(case.operation.path).rstrip("/").rsplit("/", 1)[-1]
            if case.method.upper() == "POST" and kind in KINDS and 200 <= response.status_code < 300:
                if (case.query or {}).get("entityId", self.api.target.entity_id) != self.api.target.entity_id:
                    return  # made in a temporary entity, which is deleted as a whole
                try:
                    self.remember(kind, str(response.json()["id"]))
                except (ValueError, KeyError, TypeError):
                    pass

        return after_call

    def clean(self) -> list[str]:
        """Undo what can be undone; return a line for each resource that could not be cleaned (with why).

        Resources the API can only close (archived plans, canceled subscriptions, declined quotes) are not in
        it; :attr:`leftovers` lists both kinds (``closed`` says which)."""
        left: list[str] = []
        cleaners = self._cleaners()
        known = ", ".join(cleaners)
        # Not interrupted by a second SIGTERM (a parent that wants it dead sends SIGKILL).
        with handling({signal.SIGTERM: signal.SIG_IGN}):
            for kind, resource_id in reversed(self.created):
                cleaner = cleaners.get(kind)
                try:
                    problem = cleaner(resource_id) if cleaner else f"not a kind the suite creates ({known})"
                except Exception as exc:  # a dead server must not hide the report
                    problem = f"{type(exc).__name__}: {exc}"
                if problem and problem.startswith(CLOSED):
                    self.leftovers.append(Leftover(kind, resource_id, problem, closed=True))
                    self._log({"closed": kind, "id": resource_id, "why": problem})
                elif problem:
                    left.append(f"{kind} {resource_id}: {problem}")
                    self.leftovers.append(Leftover(kind, resource_id, problem))
                    self._log({"left": kind, "id": resource_id, "why": problem})
                else:
                    self._log({"cleaned": resource_id})
            self.created.clear()
        return left

    def _log(self, entry: dict[str, str]) -> None:
        if self.ledger is not None:
            with open(self.ledger, "ab+") as sink:
                prefix = b""
                if sink.seek(0, os.SEEK_END):
                    sink.seek(-1, os.SEEK_END)
                    prefix = b"" if sink.read(1) == b"\n" else b"\n"  # a line cut short by a kill
                sink.write(prefix + json.dumps(entry).encode() + b"\n")

    def _cleaners(self) -> dict[str, Callable[[str], str | None]]:
        """Kind -> how to clean up one resource of it (None: gone; ``closed: ...``; else the problem)."""
        return {
            ENTITIES: self._clean_entities,
            "quotes": self._clean_quotes,
            "orders": self._clean_orders,
            "plans": self._clean_plans,
            "subscriptions": self._clean_subscriptions,
        }

    def _get(self, path: str) -> dict[str, object] | None:
        response = self.api.call("GET", path)
        return response.json() if response.status_code == 200 else None

    def _clean_entities(self, entity_id: str) -> str | None:
        status = self.api.admin("DELETE", f"/entities/{entity_id}").status_code
        return None if status in (200, 204, 404) else f"DELETE /__admin/entities answered {status}"

    def _clean_quotes(self, quote_id: str) -> str | None:
        quote = self._get(f"/quotes/{quote_id}")
        if quote is None:
            return None
        if quote.get("status") == "draft":
            status = self.api.call("DELETE", f"/quotes/{quote_id}").status_code
            return None if status == 204 else f"DELETE answered {status}"
        if quote.get("status") == "sent":
            # A sent quote cannot be deleted; declining it at least takes it out of the pipeline.
            self.api.call("PATCH", f"/quotes/{quote_id}", json_body={"status": "declined"})
            return "closed: declined (the API deletes only drafts)"
        if quote.get("status") in ("declined", "expired"):
            return f"closed: {quote.get('status')} (the API deletes only drafts)"
        return f"left in status {quote.get('status')} (the API deletes only drafts and cannot close it)"

    def _clean_orders(self, order_id: str) -> str | None:
        order = self._get(f"/orders/{order_id}")
        if order is None:
            return None
        if order.get("status") == "draft":
            status = self.api.call("DELETE", f"/orders/{order_id}").status_code
            return None if status == 204 else f"DELETE answered {status}"
        if order.get("status") == "confirmed":
            status = self.api.call("PATCH", f"/orders/{order_id}", json_body={"status": "canceled"}).status_code
            return "closed: canceled (the API deletes only drafts)" if status == 200 else f"cancel answered {status}"
        if order.get("status") == "canceled":
            return "closed: canceled (the API deletes only drafts)"
        return f"left in status {order.get('status')} (the API deletes only drafts and cannot close it)"

    def _clean_plans(self, plan_id: str) -> str | None:
        status = self.api.call("PATCH", f"/plans/{plan_id}", json_body={"active": False}).status_code
        if status == 404:
            return None
        return "closed: archived (the API cannot delete plans)" if status == 200 else f"archive answered {status}"

    def _clean_subscriptions(self, subscription_id: str) -> str | None:
        response = self.api.call("PATCH", f"/subscriptions/{subscription_id}", json_body={"status": "canceled"})
        if response.status_code == 404:
            return None
        if response.status_code in (200, 409):
            return "closed: canceled (the API cannot delete subscriptions)"
        return f"cancel answered {response.status_code}"


def pending(ledger: Path) -> list[tuple[str, str]]:
    """What the ledger says was created and has no clean-up outcome yet, in creation order."""
    return [(kind, resource_id) for kind, resource_id, _ in _pending(ledger)]


def _pending(ledger: Path) -> list[tuple[str, str, str | None]]:
    """:func:`pending` with the identity each was created with (None: the target's own entity)."""
    created: dict[str, tuple[str, str | None]] = {}
    if not ledger.is_file():
        return []
    for line in ledger.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if "created" in entry:
            created[entry["id"]] = (entry["created"], entry.get("as"))
        else:
            created.pop(entry.get("id") or entry.get("cleaned") or "", None)
    return [(kind, resource_id, identity) for resource_id, (kind, identity) in created.items()]


def leftovers(ledger: Path, outcome: str = "left") -> list[dict[str, str]]:
    """Every ``left`` entry of the ledger: what could not be removed, with why (``closed``: what could only be
    archived, canceled or declined)."""
    found: dict[str, dict[str, str]] = {}
    if ledger.is_file():
        for line in ledger.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if outcome in entry:
                found[entry["id"]] = {"kind": entry[outcome], "id": entry["id"], "why": entry["why"]}
    return list(found.values())


def sweep(ledger: Path, api: SalesApi, other: SalesApi | None = None) -> list[str]:
    """Clean up whatever the ledger lists as created and not yet handled (a killed run's debris); what was
    created in the second entity is cleaned with ``other`` (that entity and its key), else reported as left."""
    janitors = {None: Janitor(api, ledger)} | ({OTHER: Janitor(other, ledger, OTHER)} if other is not None else {})
    left: list[str] = []
    for kind, resource_id, identity in _pending(ledger):
        janitor = janitors.get(identity)
        if janitor is None:
            why = "created in the second entity; cleaning it needs that entity's key (--other-entity-id, --other-key)"
            left.append(f"{kind} {resource_id}: {why}")
            janitors[None]._log({"left": kind, "id": resource_id, "why": why})
            continue
        janitor.created.append((kind, resource_id))
        janitor.own_ids.add(resource_id)
    for janitor in janitors.values():
        left += janitor.clean()
    return left
