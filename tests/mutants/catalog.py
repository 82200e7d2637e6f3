"""Deliberately broken variants of the mock: each one a realistic regression of a live server.

Every mutant is the real mock app wrapped in an ASGI middleware that rewrites requests or
responses the way a buggy server would answer. The contract suite must fail against each one
(``tests/contract_tests/suite/test_selftest_mutants.py``); ``python tests/mutants/serve.py NAME --port N`` serves one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
OTHER_ENTITY = "f1f5c646-a768-4f15-ab7e-5e3088389de0"
KEYS_BY_ENTITY = {DEMO_ENTITY: "ak_demo_readwrite", OTHER_ENTITY: "ak_other_readwrite"}
Scope = dict[str, Any]


@dataclass
class Exchange:
    """One Sales API request as the middleware sees it, then its response (status, headers, JSON body)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: Any = None
    app: Any = None
    sent: Any = None  # the parsed request body, for mutants that read it (``on_request_body``)
    query_string: str = ""  # as sent (``query`` is parsed: blank values and repeats dropped)

    def is_op(self, method: str, pattern: str) -> bool:
        """``pattern`` like ``/quotes/*``: ``*`` matches one path segment after /api/sales."""
        want = ("/api/sales" + pattern).split("/")
        have = self.path.rstrip("/").split("/")
        if self.method != method or len(want) != len(have):
            return False
        return all(w in ("*", h) for w, h in zip(want, have, strict=True))

    async def inner_get(self, path: str, entity_id: str | None = None) -> Any:
        """GET a Sales API path from the unbroken app with this request's credentials (or, given
        ``entity_id``, with that entity's demo key)."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            auth = f"Bearer {KEYS_BY_ENTITY[entity_id]}" if entity_id else self.headers.get("authorization", "")
            entity = entity_id or self.query.get("entityId", "")
            answer = await client.get("/api/sales" + path, params={"entityId": entity}, headers={"Authorization": auth})
            return answer.json()


RequestHook = Callable[[Exchange], None]
ResponseHook = Callable[[Exchange], Any]
BodyHook = Callable[[Exchange, bytes], bytes]


@dataclass
class Mutant:
    """One variant of the mock. A request hook that sets ``status`` (and ``body``) answers at once: the app never
    sees the request. ``fixtures`` makes the seed data the app starts with (a path, else the demo fixtures);
    ``log`` is what the variant noted, served as JSON at ``GET /__mutant/log`` (not a Sales API path)."""

    name: str
    description: str
    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    on_request_body: BodyHook | None = None
    # The contract tests (``file::name``) that must catch it: the self-test runs only these. Empty: the whole suite.
    tests: tuple[str, ...] = ()
    fixtures: Callable[[], str] | None = None
    log: list[Any] = field(default_factory=list)


LOG_PATH = "/__mutant/log"


class MutantMiddleware:
    """Applies a mutant's request hook, runs the real app, then its response hook on JSON answers."""

    def __init__(self, app: Any, mutant: Mutant) -> None:
        self.app = app
        self.mutant = mutant

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == LOG_PATH:
            await _answer(send, 200, {"data": self.mutant.log})
            return
        if scope["type"] != "http" or not scope["path"].startswith("/api/sales"):
            await self.app(scope, receive, send)
            return
        exchange = Exchange(
            method=scope["method"],
            path=scope["path"],
            # Header values are bytes a fuzzer may fill with anything: latin-1 round-trips every byte.
            query=dict(parse_qsl(scope.get("query_string", b"").decode())),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            app=self.app,
            query_string=scope.get("query_string", b"").decode("latin-1"),
        )
        sent = (dict(exchange.query), dict(exchange.headers))
        if self.mutant.on_request_body:
            receive = await self._rewrite_body(exchange, receive)
        if self.mutant.on_request or self.mutant.on_request_body:
            if self.mutant.on_request:
                self.mutant.on_request(exchange)
            if exchange.status:  # the variant answered itself
                await _answer(send, exchange.status, exchange.body)
                return
        if (exchange.query, exchange.headers) != sent:  # the request as the hooks changed it
            scope = {
                **scope,
                "query_string": urlencode(exchange.query).encode(),
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in exchange.headers.items()],
            }
        if not self.mutant.on_response:
            await self.app(scope, receive, send)
            return
        await self._rewrite(scope, receive, send, exchange)

    async def _rewrite_body(self, exchange: Exchange, receive: Any) -> Any:
        """Read the whole request body, let the mutant rewrite it, and hand the app the new one."""
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = self.mutant.on_request_body(exchange, b"".join(chunks))  # type: ignore[misc]
        exchange.headers["content-length"] = str(len(body))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    async def _rewrite(self, scope: Scope, receive: Any, send: Any, exchange: Exchange) -> None:
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        raw = b"".join(chunks)
        try:
            exchange.body = json.loads(raw) if raw else None
        except ValueError:
            exchange.body = None
        result = self.mutant.on_response(exchange)  # type: ignore[misc]
        if hasattr(result, "__await__"):
            await result
        if exchange.body is not None:
            raw = json.dumps(exchange.body).encode()
        headers = [(k, v) for k, v in exchange.response_headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": exchange.status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


async def _answer(send: Any, status: int, body: Any) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


def new_id() -> str:
    return str(uuid.uuid4())
