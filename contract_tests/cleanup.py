"""Clean up what the suite created on a target: delete drafts, archive plans, cancel subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract_tests.client import SalesApi

KINDS = ("quotes", "orders", "plans", "subscriptions")


class Janitor:
    """Remembers ``(kind, id)`` of every resource the suite created, newest last."""

    def __init__(self, api: SalesApi) -> None:
        self.api = api
        self.created: list[tuple[str, str]] = []
        self.own_ids: set[str] = set()

    def remember(self, kind: str, resource_id: str) -> None:
        self.created.append((kind, resource_id))
        self.own_ids.add(resource_id)

    def hook(self) -> Callable[[Any, Any, Any], None]:
        """A Schemathesis ``after_call`` hook remembering what generated requests created (201 on a collection)."""

        def after_call(context: Any, case: Any, response: Any) -> None:
            kind = str(case.operation.path).rstrip("/").rsplit("/", 1)[-1]
            if case.method.upper() == "POST" and kind in KINDS and response.status_code == 201:
                try:
                    self.remember(kind, str(response.json()["id"]))
                except (ValueError, KeyError, TypeError):
                    pass

        return after_call

    def clean(self) -> list[str]:
        """Undo what can be undone; return a line for each resource that could not be cleaned."""
        left: list[str] = []
        for kind, resource_id in reversed(self.created):
            try:
                problem = getattr(self, f"_clean_{kind}")(resource_id)
            except Exception as exc:  # a dead server must not hide the report
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                left.append(f"{kind} {resource_id}: {problem}")
        self.created.clear()
        return left

    def _get(self, path: str) -> dict[str, object] | None:
        response = self.api.call("GET", path)
        return response.json() if response.status_code == 200 else None

    def _clean_quotes(self, quote_id: str) -> str | None:
        quote = self._get(f"/quotes/{quote_id}")
        if quote is None:
            return None
        if quote.get("status") == "draft":
            status = self.api.call("DELETE", f"/quotes/{quote_id}").status_code
            return None if status == 204 else f"DELETE answered {status}"
        return f"left in status {quote.get('status')} (only drafts can be deleted)"

    def _clean_orders(self, order_id: str) -> str | None:
        order = self._get(f"/orders/{order_id}")
        if order is None:
            return None
        if order.get("status") == "draft":
            status = self.api.call("DELETE", f"/orders/{order_id}").status_code
            return None if status == 204 else f"DELETE answered {status}"
        if order.get("status") == "confirmed":
            self.api.call("PATCH", f"/orders/{order_id}", json_body={"status": "canceled"})
            return None
        return f"left in status {order.get('status')}"

    def _clean_plans(self, plan_id: str) -> str | None:
        status = self.api.call("PATCH", f"/plans/{plan_id}", json_body={"active": False}).status_code
        return None if status in (200, 404) else f"archive answered {status}"

    def _clean_subscriptions(self, subscription_id: str) -> str | None:
        response = self.api.call("PATCH", f"/subscriptions/{subscription_id}", json_body={"status": "canceled"})
        return None if response.status_code in (200, 404, 409) else f"cancel answered {response.status_code}"
