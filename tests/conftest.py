"""Shared fixtures for the mock's own tests: app and client factories over ASGI, with every
Sales API response validated against the spec (a mismatch fails the test)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.routes.types import Handler
from mock_server.runtime import Runtime

pytest_plugins = ["pytester"]  # tests of the pytest plugin run small pytest projects (test_plugin.py)

DEMO = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
OTHER = "f1f5c646-a768-4f15-ab7e-5e3088389de0"
RW = "ak_demo_readwrite"
RO = "ak_demo_readonly"
OTHER_RW = "ak_other_readwrite"
ACME = "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10"  # USD, 825 bps
BERLIN = "8a2d4e61-1c3b-4f5a-8e7d-2b9c0a1d3e4f"  # EUR, 1900 bps
TOKYO = "5b7e9c13-2d4f-4a6b-9c8d-7e1f2a3b4c5d"  # JPY, 1000 bps
NORTHWIND = "6b8d0f2a-4c6e-4a8b-9d0f-1a3c5e7b9d2f"  # USD, 0 bps
FROZEN = "2025-03-01T00:00:00Z"


class _LoopTransport(httpx.BaseTransport):
    """Runs each request through the ASGI app on one private event loop."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self._loop.run_until_complete(run())

    def close(self) -> None:
        self._loop.close()


class Api:
    """A synchronous client of one app, with Sales API helpers (``/api/sales`` prefix, ``entityId``, key)."""

    def __init__(self, app: Starlette, asgi: Any = None) -> None:
        self.app = app
        self.http = httpx.Client(transport=_LoopTransport(asgi or app), base_url="http://localhost")

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = RW,
        entity: str | None = DEMO,
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """``method /api/sales<path>?entityId=<entity>`` with ``Authorization: Bearer <key>``."""
        query = dict(params or {})
        if entity is not None:
            query.setdefault("entityId", entity)
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {key}")
        return self.http.request(method, "/api/sales" + path, params=query, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.call("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("DELETE", path, **kwargs)

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        """The JSON body, asserting the status."""
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None

    def quote(self, customer: str = ACME, **fields: Any) -> dict[str, Any]:
        """Create a quote (one line 2 x 1000 unless ``lines`` given) and return it."""
        body = {"customerId": customer, "lines": [{"description": "Item", "quantity": 2, "unitPrice": 1000}], **fields}
        created: dict[str, Any] = self.ok(self.post("/quotes", body), 201)
        return created

    def accepted_quote(self, **fields: Any) -> dict[str, Any]:
        quote = self.quote(**fields)
        self.ok(self.patch(f"/quotes/{quote['id']}", {"status": "sent"}))
        accepted: dict[str, Any] = self.ok(self.patch(f"/quotes/{quote['id']}", {"status": "accepted"}))
        return accepted

    def order(self, customer: str = ACME, **fields: Any) -> dict[str, Any]:
        body = {
            "customerId": customer,
            "orderDate": "2025-03-01",
            "lines": [{"description": "Item", "quantity": 1, "unitPrice": 500}],
            **fields,
        }
        created: dict[str, Any] = self.ok(self.post("/orders", body), 201)
        return created

    def close(self) -> None:
        self.http.close()


AppFactory = Callable[..., Api]


@pytest.fixture
def make_api() -> Iterator[AppFactory]:
    """A factory of fresh apps (response validation on) and their clients; fails the test on any
    response that does not match the spec. Every resource is packed again after each request
    (``live_resources=0``, ``mock_server.packed``), so the tests cover what a large state does."""
    made: list[Api] = []

    def factory(
        fixtures: str = "demo", clock: str = FROZEN, handlers: dict[str, Handler] | None = None, **options: Any
    ) -> Api:
        options.setdefault("validate_responses", True)
        options.setdefault("live_resources", 0)
        api = Api(create_app(MockConfig(fixtures=fixtures, clock=clock, **options), handlers=handlers))
        made.append(api)
        return api

    yield factory
    mismatches = [m for api in made for m in api.runtime.response_mismatches]
    for api in made:
        api.close()
    assert not mismatches, f"responses that do not match the spec: {mismatches}"


@pytest.fixture
def api(make_api: AppFactory) -> Api:
    """A fresh app with the demo fixtures and the clock frozen at 2025-03-01T00:00:00Z."""
    return make_api()
