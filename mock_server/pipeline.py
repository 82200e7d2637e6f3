"""The Sales API request pipeline: one ASGI endpoint, one request context, one order of steps.

Every request under ``/api/sales`` is answered by :meth:`SalesPipeline.__call__`, which works out
the operation, path parameters, credential, entity, parsed body and the entity's clock once, in a
:class:`RequestContext`, and runs these steps in this order (``ARCHITECTURE.md`` explains why):

 1. route             the spec operation (404; 405 with ``Allow``); a CORS preflight is answered here
 2. body              at most 1 MiB (413)
 3. authenticate      API key, or the session cookie from an allowed origin (401 + WWW-Authenticate);
                      ``Authorization`` or ``x-entity-id`` given twice is a 400
 4. scope             the credential's scope covers the method (403)
 5. media type, JSON  a body must be ``application/json`` (415) and strict JSON (400)
 6. validate          parameters and body against the spec (400 with ``details``); the entity is
                      named by ``entityId`` or by the session's ``x-entity-id`` (400 when neither)
 7. tenancy           the credential belongs to that entity (403)
 7b. stubs            a stub of that entity matching the request answers it (no state change)
 8. resources         every id in the path names one of that entity's resources (404)
 9. idempotency       ``Idempotency-Key`` on a POST: the stored answer is replayed (or 409)
10. Prefer            ``code=``/``example=``: the documented response, no state change
11. faults            injected latency, error status or dropped connection
12. due time events   the entity's clock catches up (trial ends, renewals, dunning, expiry)
13. handler           one service call
then, with the answer: remember it for the idempotency key, check it against the spec
(``--validate-responses``), add CORS headers, send it, and journal the exchange.

Every error raised by any step leaves through :func:`mock_server.errors.render`, the one renderer.
So nothing answers before authentication, scopes, validation and tenancy have had their say: a
``Prefer`` header, an idempotency key or a fault rule never turns a 401/403/400/404 into anything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from mock_server import auth, body
from mock_server.control.faults import ConnectionDropped, InjectedFault, drop_connection
from mock_server.control.idempotency import (
    REPLAYED_HEADER,
    Reservation,
    StoredResponse,
    check_key,
    credential_digest,
    fingerprint,
)
from mock_server.control.journal import JournalEntry, bounded, bounded_headers
from mock_server.control.patterns import Observed, query_pairs
from mock_server.control.prefer import choose, parse_prefer, wanted
from mock_server.control.stubs import STUB_HEADER
from mock_server.domain.errors import FieldProblem, NotFound
from mock_server.errors import BadRequest, render
from mock_server.memo import MemoTable
from mock_server.origins import OriginPolicy
from mock_server.packed import to_json
from mock_server.routes.types import Call, Result
from mock_server.runtime import ResponseMismatch, Runtime
from mock_server.services.timeline import apply_due_events
from mock_server.spec import QUERY_LENGTH, Operation, problems, validate_body, validate_parameters
from mock_server.store import EntityState

log = logging.getLogger("mock_server")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

PATH_RESOURCES: dict[str, tuple[str, str]] = {
    "quoteId": ("quotes", "quote"),
    "orderId": ("orders", "order"),
    "planId": ("plans", "plan"),
    "subscriptionId": ("subscriptions", "subscription"),
    "customerId": ("customers", "customer"),
}
"""Path parameter -> (store collection, label): step 8 answers 404 for an id the entity does not hold."""


@dataclass(slots=True)
class RequestContext:
    """Everything the steps learn about one request, worked out once. ``None`` means "not known (yet)".

    Each field is written by one step only, named beside it (``arrival``: ``from_scope``; ``answer``:
    ``SalesPipeline.__call__`` once the answer is known); later steps only read it."""

    method: str  # arrival
    path: str  # arrival
    query_string: bytes  # arrival
    headers: dict[str, str]  # arrival
    started: float = field(default_factory=time.perf_counter)  # arrival
    arrived: float = field(default_factory=time.time)  # arrival
    operation: Operation | None = None  # 1 route
    raw_path_params: dict[str, str] = field(default_factory=dict)  # 1 route
    raw_body: bytes = b""  # 2 body
    body_present: bool = False  # 5 media type, JSON
    body: Any = None  # 5 media type, JSON
    principal: auth.Principal | None = None  # 3 authenticate
    path_params: dict[str, Any] = field(default_factory=dict)  # 6 validate
    query: dict[str, Any] = field(default_factory=dict)  # 6 validate
    entity: EntityState | None = None  # 7 tenancy
    now: datetime | None = None  # 7 tenancy: the entity's clock then (steps 10-13 carry their own reading)
    request_valid: bool | None = None  # 6 validate
    response_valid: bool | None = None  # answer (``--validate-responses``)
    status: int = 0  # answer
    stub_id: str | None = None  # 7b stubs
    stub_checked: bool = True  # 7b stubs
    response_headers: list[tuple[bytes, bytes]] | None = None  # answer
    response_body: bytes | None = None  # answer
    repeated: frozenset[str] = frozenset()  # arrival
    """Header names the request gave more than once."""

    @classmethod
    def from_scope(cls, scope: Scope) -> RequestContext:
        raw = scope.get("headers", [])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
        ctx = cls(str(scope["method"]).upper(), str(scope["path"]), scope.get("query_string", b""), headers)
        if len(headers) != len(raw):  # some name came twice (rare): which ones
            counts = Counter(k.decode("latin-1").lower() for k, _v in raw)
            ctx.repeated = frozenset(name for name, count in counts.items() if count > 1)
        return ctx

    @property
    def operation_id(self) -> str | None:
        return self.operation.operation_id if self.operation is not None else None

    def entity_id(self) -> str | None:
        """The resolved entity, else the ``entityId`` the request named (for the journal)."""
        if self.entity is not None:
            return self.entity.id
        given = [v for k, v in query_pairs(self.query_string) if k == "entityId" and v]
        return given[0] if given else self.headers.get(auth.ENTITY_HEADER)


class SalesPipeline:
    """The ASGI app for every path under ``/api/sales``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.control = runtime.control
        config = runtime.config
        self.origins = OriginPolicy(config.host, tuple(config.allowed_hosts), tuple(config.cors_origins))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = RequestContext.from_scope(scope)
        origin = ctx.headers.get("origin")
        if ctx.method == "OPTIONS" and origin is not None and "access-control-request-method" in ctx.headers:
            await _send(send, 204, self.origins.preflight_headers(origin), None)
            return
        try:
            result = await self.handle(ctx, receive, send)
        except ClientDisconnect:  # the client left before its body was complete: nothing was done
            self._journal(ctx)
            return
        except ConnectionDropped:
            self._journal(ctx)  # in-process: no socket to close, so the caller sees the exception
            raise
        except Exception as error:
            result = self._error(ctx, error)
        if result is None:  # a fault dropped the connection
            self._journal(ctx)
            return
        ctx.status = result.status
        payload = result.body if isinstance(result.body, bytes) or result.body is None else to_json(result.body)
        if self.runtime.config.validate_responses:
            self._check_response(ctx, result, payload)
        if ctx.entity is not None:  # the answer is encoded: the resources it read may be packed again
            ctx.entity.settle(self.store.live_limit)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in result.headers.items()]
        headers += self.origins.cors_headers(origin, result.headers if ctx.stub_id else ())
        ctx.response_headers, ctx.response_body = headers, payload
        await _send(send, result.status, headers, payload)
        self._journal(ctx)

    async def handle(self, ctx: RequestContext, receive: Receive, send: Send) -> Result | None:
        """Steps 1-13 in order; None when a fault dropped the connection."""
        runtime = self.runtime
        # 1. route
        ctx.operation, ctx.raw_path_params = runtime.spec.match(ctx.method, ctx.path)
        operation = ctx.operation
        # 2. body size (a GET or DELETE that announces no body has none: nothing to wait for)
        announced = ctx.headers.get("content-length", "0") != "0" or "transfer-encoding" in ctx.headers
        if announced or ctx.method in BODY_METHODS:
            ctx.raw_body = await body.read_body(ctx.headers, receive)
        # 3. authenticate (one credential, one entity header); 4. scope
        if ctx.repeated:
            auth.check_single(ctx.repeated)
        origin = ctx.headers.get("origin")
        cookie_ok = origin is None or self.origins.credentials_allowed(origin)
        ctx.principal = principal = auth.authenticate(runtime.store, ctx.headers, cookie_allowed=cookie_ok)
        auth.check_scope(principal, ctx.method)
        # 5. media type and JSON syntax
        ctx.body_present = bool(ctx.raw_body) and ctx.method in BODY_METHODS
        if ctx.body_present:
            body.check_media_type(ctx.headers)
            ctx.body = body.parse_json(ctx.raw_body, exact_integers=True)
        # 6. validate against the spec; the entity the request names
        ctx.request_valid = False
        query = _with_session_entity(principal, ctx.headers, _query(ctx.query_string, runtime.spec.memo.queries))
        ctx.path_params, ctx.query = validate_parameters(operation, ctx.raw_path_params, query, ctx.headers)
        validate_body(operation, ctx.body, ctx.body_present)
        entity_id = ctx.query.get("entityId")
        if entity_id is None:
            raise BadRequest(
                "name the entity: the entityId query parameter, or the x-entity-id header with a session cookie",
                details=[FieldProblem("entityId", "is required")],
            )
        ctx.request_valid = True
        # 7. tenancy
        ctx.entity = entity = auth.resolve_entity(runtime.store, principal, str(entity_id))
        ctx.now = now = entity.clock.now()
        # 7b. stubs of this entity
        if self.control.stubs.by_entity.get(entity.id):
            stubbed = await self._stubbed(ctx, entity)
            if stubbed is not None:
                return stubbed
        # 8. resources named in the path
        _check_path_resources(entity, ctx.path_params)
        # 9. idempotency: replay a stored answer, or hold the key for this request until it ends
        key = ctx.headers.get("idempotency-key") if ctx.method == "POST" else None
        if key is None:
            return await self._run(ctx, operation, entity, now, send, None)
        check_key(key)
        credential = credential_digest(principal.kind, principal.credential)
        print_ = fingerprint(ctx.method, ctx.path, ctx.query_string, ctx.raw_body)
        async with self.control.idempotency.reserve((entity.id, credential, key), print_, now) as reservation:
            stored = reservation.replay
            if stored is not None:
                return Result(stored.status, stored.body, {**stored.headers, REPLAYED_HEADER: "true"})
            return await self._run(ctx, operation, entity, now, send, reservation)

    async def _run(
        self,
        ctx: RequestContext,
        operation: Operation,
        entity: EntityState,
        now: datetime,
        send: Send,
        held: Reservation | None,
    ) -> Result | None:
        """Steps 10-13 at ``now`` (the entity's clock at step 7). Only the handler's answer is kept for
        an idempotency key ``held`` (a ``Prefer`` answer, a fault or an error leaves the key to be
        forgotten when the reservation ends)."""
        # 10. Prefer
        prefer = ctx.headers.get("prefer")
        if prefer is not None:
            prefs = parse_prefer(prefer)
            if wanted(prefs):
                return _preferred(operation, prefs)
        # 11. faults
        decision = self.control.faults.decide(operation.operation_id) if self.control.faults.rules else None
        if decision is not None:
            if decision.delay_ms:
                await asyncio.sleep(decision.delay_ms / 1000)
            fault = decision.injected(ctx.method, ctx.path, operation.operation_id)
            if decision.drop:
                if not drop_connection(send):
                    raise ConnectionDropped(f"fault rule {decision.rule_index} dropped the connection")
                await asyncio.sleep(0)
                return None
            if fault is not None:
                raise fault
            now = entity.clock.now()  # the latency took time on a real clock
        # 12. due time events; 13. the handler
        apply_due_events(entity, now)
        handler = self.runtime.handlers[operation.operation_id]
        try:
            result = handler(Call(operation.operation_id, entity, ctx.path_params, ctx.query, ctx.body, now))
        except Exception as error:
            result = self._error(ctx, error)
        if held is not None:  # encoded once: the answer sent and the one kept are the same bytes
            payload = result.body if isinstance(result.body, bytes) or result.body is None else to_json(result.body)
            result.body = payload
            held.keep(StoredResponse(result.status, dict(result.headers), payload))
        return result

    async def _stubbed(self, ctx: RequestContext, entity: EntityState) -> Result | None:
        observed = Observed(ctx.method, ctx.path, ctx.query_string, ctx.operation_id, entity.id, ctx.raw_body)
        stub = self.control.stubs.answer(entity.id, observed)
        if stub is None:
            return None
        ctx.stub_id = stub.id
        ctx.stub_checked = not stub.allow_invalid
        if stub.delay_ms:
            await asyncio.sleep(stub.delay_ms / 1000)
        payload = to_json(stub.json_body) if stub.has_body else None
        return Result(stub.status, payload, {**stub.headers, STUB_HEADER: stub.id})

    def _error(self, ctx: RequestContext, error: Exception) -> Result:
        status, payload, headers = render(error)
        if status == 500 and not isinstance(error, InjectedFault):
            log.exception("internal error in %s %s", ctx.method, ctx.path)
        return Result(status, payload, headers)

    def _check_response(self, ctx: RequestContext, result: Result, payload: bytes | None) -> None:
        operation = ctx.operation
        if operation is None:
            return
        documented, validator = operation.response_validator(result.status)
        found: list[str] = []
        if not documented:
            found.append(f"status {result.status} is not documented")
        elif validator is not None:
            instance = None if payload is None else json.loads(payload)  # what is sent, as a client reads it
            found.extend(f"{p.path or '(root)'}: {p.message}" for p in problems(validator, instance))
        elif payload is not None:
            found.append(f"status {result.status} documents no body but one was sent")
        ctx.response_valid = not found
        if found and ctx.stub_checked:
            mismatch = ResponseMismatch(operation.operation_id, ctx.method, ctx.path, result.status, found)
            self.runtime.response_mismatches.append(mismatch)
            log.error("RESPONSE DOES NOT MATCH THE SPEC: %s", mismatch)

    def _journal(self, ctx: RequestContext) -> None:
        entry = JournalEntry(  # positional: this runs for every request
            ctx.arrived,
            ctx.method,
            ctx.path,
            ctx.operation_id,
            ctx.entity_id(),
            ctx.status,
            round((time.perf_counter() - ctx.started) * 1000, 1),
            ctx.request_valid,
            ctx.response_valid,
            ctx.query_string,
            bounded_headers(ctx.headers),
            bounded(ctx.raw_body),
            ctx.response_headers,
            bounded(ctx.response_body) if ctx.response_body else None,
            ctx.stub_id,
        )
        self.control.journal.record(entry)


def _query(query_string: bytes, remembered: MemoTable) -> Sequence[tuple[str, str]]:
    """The query's (name, value) pairs; short queries (nearly all: they repeat) are remembered
    (``remembered``: the spec memo's ``queries``)."""
    if len(query_string) > QUERY_LENGTH:
        return query_pairs(query_string)
    pairs: tuple[tuple[str, str], ...] | None = remembered.lookup(query_string)
    if pairs is None:
        pairs = tuple(query_pairs(query_string))
        remembered.remember(query_string, pairs)
    return pairs


def _with_session_entity(
    principal: auth.Principal, headers: dict[str, str], query: Sequence[tuple[str, str]]
) -> Sequence[tuple[str, str]]:
    if principal.kind != "session":  # an API key names its entity with entityId
        return query
    given = [v for k, v in query if k == "entityId"]
    entity = auth.session_entity(principal, headers, given[0] if given else None)
    if entity is not None and not given:
        return [*query, ("entityId", entity)]
    return query


def _check_path_resources(entity: EntityState, path_params: dict[str, Any]) -> None:
    for name, value in path_params.items():
        known = PATH_RESOURCES.get(name)
        if known is not None and not entity.has(known[0], str(value)):
            raise NotFound(f"no {known[1]} {value}")


def _preferred(operation: Operation, prefs: dict[str, str]) -> Result:
    status, payload = choose(operation.response_objects, operation.operation_id, prefs)
    applied = ", ".join(f"{k}={prefs[k]}" for k in ("code", "example") if k in prefs)
    headers = {"Preference-Applied": applied}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="axiomatic-sales"'
    if status in (204, 304):
        payload = None
    return Result(status, payload, headers)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], payload: bytes | None) -> None:
    raw = list(headers)
    if payload is not None:
        raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", str(len(payload or b"")).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload or b""})
