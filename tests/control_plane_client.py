"""In-process helpers for the control-plane tests: a fresh app, a synchronous httpx client over ASGI,
and an entity made through the admin API. (Starlette's TestClient warns; warnings are errors here.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from starlette.applications import Starlette

from mock_server.app import create_app
from mock_server.config import MockConfig

FROZEN = "2025-03-01T00:00:00Z"


class _SyncASGI(httpx.BaseTransport):
    """Runs each request through the ASGI app on a fresh event loop."""

    def __init__(self, app: Starlette) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            response = await self._transport.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run(run())


def make_app(**options: Any) -> Starlette:
    """A fresh mock (empty fixtures, clock frozen at 2025-03-01 unless overridden)."""
    settings: dict[str, Any] = {"fixtures": "empty", "clock": FROZEN}
    settings.update(options)
    return create_app(MockConfig(**settings))


def client(app: Starlette, **headers: str) -> httpx.Client:
    """A synchronous client for ``app``."""
    return httpx.Client(transport=_SyncASGI(app), base_url="http://localhost", headers=headers)


def new_entity(http: httpx.Client, **body: Any) -> dict[str, Any]:
    """``POST /__admin/entities``; the 201 answer."""
    answer = http.post("/__admin/entities", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for an API key."""
    return {"Authorization": f"Bearer {key}"}


def create_plan(http: httpx.Client, entity: dict[str, Any], code: str = "basic", **extra: Any) -> httpx.Response:
    """``POST /api/sales/plans`` with the entity's read+write key."""
    body = {"code": code, "name": "Basic", "currency": "USD", "amount": 2000, "interval": "month"}
    headers = {**bearer(entity["apiKeys"]["readWrite"]), **extra.pop("headers", {})}
    return http.post("/api/sales/plans", params={"entityId": entity["entityId"]}, json=body | extra, headers=headers)


def sales_get(http: httpx.Client, entity: dict[str, Any], path: str, key: str = "readOnly") -> httpx.Response:
    """``GET /api/sales{path}`` for the entity with its read-only (or ``key``) API key."""
    return http.get(
        f"/api/sales{path}", params={"entityId": entity["entityId"]}, headers=bearer(entity["apiKeys"][key])
    )


def comparable_state(state: dict[str, Any]) -> dict[str, Any]:
    """A state export less ``extras.billing`` (a derived index billing rebuilds on import, so an
    entity that was never imported lacks it)."""
    copied: dict[str, Any] = json.loads(json.dumps(state))
    for entity in copied["entities"]:
        entity.get("extras", {}).pop("billing", None)
    return copied
