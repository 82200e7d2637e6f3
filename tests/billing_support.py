"""Test support for the billing HTTP tests: the ASGI app, and a fresh entity per test with a frozen
clock (2025-03-01T00:00:00Z), a read-write key, and helpers to make customers, plans and
subscriptions and to call the Sales API. Every response is validated against the spec."""

from __future__ import annotations

import asyncio
import functools
import json
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.clock import EntityClock
from mock_server.config import MockConfig
from mock_server.services import billing, customers, subscriptions
from mock_server.store import READ_SCOPE, WRITE_SCOPE, EntityState

START = "2025-03-01T00:00:00Z"
BASE = "/api/sales"


class _LoopTransport(httpx.BaseTransport):
    """Each request through the ASGI app on one private event loop (Starlette's TestClient warns)."""

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            return httpx.Response(response.status_code, headers=response.headers, content=await response.aread())

        return self._loop.run_until_complete(run())

    def close(self) -> None:
        self._loop.close()


@functools.cache
def shared_app() -> Starlette:
    """One app for every billing test (no fixtures loaded, clock frozen at 2025-03-01, responses validated)."""
    empty = Path(tempfile.mkdtemp(prefix="billing-fixtures-")) / "none.json"
    empty.write_text(json.dumps({"entities": []}))
    return create_app(MockConfig(fixtures=str(empty), clock=START, validate_responses=True, live_resources=0))


@dataclass
class Api:
    """One entity of the app and a client authorised for it."""

    client: httpx.Client
    entity: EntityState
    key: str

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None, **query: Any) -> Any:
        params = {"entityId": self.entity.id, **query}
        headers = {"Authorization": f"Bearer {self.key}"}
        response = self.client.request(method, BASE + path, params=params, json=body, headers=headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response.json() if response.content else None

    # factories ---------------------------------------------------------------------------------

    def customer(self, currency: str = "USD", tax: int = 0, credit: int = 0) -> dict[str, Any]:
        body = {"name": f"Customer {uuid.uuid4().hex[:6]}", "currency": currency, "taxRateBps": tax}
        body["creditBalance"] = credit
        return customers.create_customer(self.entity, body, self.entity.clock.now())

    def plan(self, amount: int, interval: str = "month", count: int = 1, currency: str = "USD", **extra: Any) -> Any:
        body = {
            "code": f"p-{uuid.uuid4().hex[:10]}",
            "name": extra.pop("name", f"Plan {amount}"),
            "currency": currency,
            "amount": amount,
            "interval": interval,
            "intervalCount": count,
            **extra,
        }
        return self.call("POST", "/plans", body, expect=201)

    def subscribe(self, plan: dict[str, Any], customer: dict[str, Any], **extra: Any) -> Any:
        body = {"planId": plan["id"], "customerId": customer["id"], **extra}
        return self.call("POST", "/subscriptions", body, expect=201)

    # shortcuts ---------------------------------------------------------------------------------

    def patch(self, sub: dict[str, Any], body: dict[str, Any], expect: int = 200) -> Any:
        return self.call("PATCH", f"/subscriptions/{sub['id']}", body, expect=expect)

    def invoice(self, sub: dict[str, Any], body: dict[str, Any] | None = None, expect: int = 201) -> Any:
        return self.call("POST", f"/subscriptions/{sub['id']}/generate-invoice", body, expect=expect)

    def dunning(self, sub: dict[str, Any], action: str, expect: int = 200, **extra: Any) -> Any:
        return self.call("POST", f"/subscriptions/{sub['id']}/dunning", {"action": action, **extra}, expect=expect)

    def change(self, sub: dict[str, Any], plan: dict[str, Any], expect: int = 200, **extra: Any) -> Any:
        body = {"newPlanId": plan["id"], **extra}
        return self.call("POST", f"/subscriptions/{sub['id']}/change-plan", body, expect=expect)

    def get(self, sub: dict[str, Any]) -> dict[str, Any]:
        found = [s for s in self.call("GET", "/subscriptions", expect=200)["data"] if s["id"] == sub["id"]]
        assert len(found) == 1
        return found[0]

    def advance(self, days: int = 0, months: int = 0) -> None:
        billing.advance_clock(self.entity, days=days, months=months)

    def pay(self, invoice: dict[str, Any]) -> dict[str, Any]:
        return subscriptions.pay_invoice(self.entity, invoice["id"], self.entity.clock.now())

    def balance(self, customer: dict[str, Any]) -> int:
        return int(self.entity.read("customers", customer["id"])["creditBalance"])


def entity_api() -> Iterator[Api]:
    """A fresh entity (clock frozen at 2025-03-01T00:00:00Z) of the shared app, and its client.
    Use it as a fixture: ``bill = pytest.fixture(entity_api)``."""
    billing_app = shared_app()
    runtime = billing_app.state.runtime
    entity = EntityState(
        id=str(uuid.uuid4()), name="Billing test", base_currency="USD", clock=EntityClock.from_mode(START)
    )
    runtime.store.add_entity(entity)
    key = f"ak_test_{uuid.uuid4().hex}"
    runtime.store.add_api_key(key, entity.id, {READ_SCOPE, WRITE_SCOPE})
    before = len(runtime.response_mismatches)
    with httpx.Client(transport=_LoopTransport(billing_app), base_url="http://localhost") as client:
        yield Api(client, entity, key)
    mismatches = runtime.response_mismatches[before:]
    runtime.store.remove_entity(entity.id)
    assert not mismatches, f"responses that do not match the spec: {mismatches}"
