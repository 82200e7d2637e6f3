"""The Sales API dispatcher: one ASGI endpoint for every spec operation.

Per request: route by the spec (404/405) -> body size (413) -> credentials (401) -> scope (403)
-> media type (415) -> strict JSON (400) -> spec validation of parameters and body (400)
-> tenancy (403) -> due time events -> the handler -> JSON answer (validated against the spec
when ``validate_responses`` is on).

What the control plane can read: ``scope["sales"]``, a dict with ``operationId``, ``entityId``,
``requestMatched`` (None until validated), ``responseMatched`` (None unless validated),
``responseProblems`` and ``status``; the same facts are copied to the journal's ``RequestNote``
(``mock_server.journal.note_for(scope)``).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_server import auth, body
from mock_server.errors import render
from mock_server.journal import note_for
from mock_server.routes.types import Call, Result
from mock_server.runtime import ResponseMismatch, Runtime
from mock_server.services.timeline import apply_due_events
from mock_server.spec import problems, validate_body, validate_parameters

log = logging.getLogger("mock_server")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def request_info(scope: Scope) -> dict[str, Any]:
    """The per-request record the dispatcher fills in (created if absent), under ``scope["sales"]``."""
    info: dict[str, Any] = scope.setdefault("sales", {})
    for key in ("operationId", "entityId", "requestMatched", "responseMatched", "status"):
        info.setdefault(key, None)
    info.setdefault("responseProblems", [])
    return info


def scope_headers(scope: Scope) -> dict[str, str]:
    """Request headers with lower-case names (the last of repeated headers wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class SalesDispatcher:
    """ASGI app answering every Sales API path of the spec (and JSON 404/405 for anything else)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = request_info(scope)
        try:
            result = await self._handle(scope, receive, info)
            response = _response(result)
        except ClientDisconnect:
            return  # the client is gone before its body was complete: nothing was done, nobody to answer
        except Exception as error:
            status, payload, headers = render(error)
            if status == 500:
                log.exception("internal error in %s %s", scope.get("method"), scope.get("path"))
            result = Result(status, payload, headers)
            response = _response(result)
        info["status"] = result.status
        if self.runtime.config.validate_responses:
            self._check_response(scope, info, result)
        note = note_for(scope)
        note.operation_id = info["operationId"] or note.operation_id
        note.entity_id = info["entityId"] or note.entity_id
        note.request_valid = info["requestMatched"]
        note.response_valid = info["responseMatched"]
        await response(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, info: dict[str, Any]) -> Result:
        runtime = self.runtime
        method: str = scope["method"]
        operation, raw_path = runtime.spec.match(method, scope["path"])
        info["operationId"] = operation.operation_id
        headers = scope_headers(scope)
        raw_body = await body.read_body(headers, receive)
        principal = auth.authenticate(runtime.store, headers)
        auth.check_scope(principal, method)
        present = bool(raw_body) and method in BODY_METHODS
        payload = None
        if present:
            body.check_media_type(headers)
            payload = body.parse_json(raw_body)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        query = _with_session_entity(principal, headers, query)
        info["requestMatched"] = False
        path_params, params = validate_parameters(operation, raw_path, query, headers)
        validate_body(operation, payload, present)
        info["requestMatched"] = True
        entity = auth.resolve_entity(runtime.store, principal, str(params["entityId"]))
        info["entityId"] = entity.id
        now = entity.clock.now()
        apply_due_events(entity, now)
        handler = runtime.handlers[operation.operation_id]
        return handler(Call(operation.operation_id, entity, path_params, params, payload, now))

    def _check_response(self, scope: Scope, info: dict[str, Any], result: Result) -> None:
        operation = self.runtime.spec.operations.get(info["operationId"] or "")
        if operation is None:
            return
        documented, validator = operation.response_validator(result.status)
        found: list[str] = []
        if not documented:
            found.append(f"status {result.status} is not documented")
        elif validator is not None:
            found.extend(f"{p.path or '(root)'}: {p.message}" for p in problems(validator, result.body))
        elif result.body is not None:
            found.append(f"status {result.status} documents no body but one was sent")
        info["responseMatched"] = not found
        info["responseProblems"] = found
        if found:
            mismatch = ResponseMismatch(operation.operation_id, scope["method"], scope["path"], result.status, found)
            self.runtime.response_mismatches.append(mismatch)
            log.error("RESPONSE DOES NOT MATCH THE SPEC: %s", mismatch)


def _with_session_entity(
    principal: auth.Principal, headers: dict[str, str], query: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    given = [v for k, v in query if k == "entityId"]
    entity = auth.session_entity(principal, headers, given[0] if given else None)
    if entity is not None and not given:
        return [*query, ("entityId", entity)]
    return query


def _json(body: Any) -> bytes:
    """``body`` as JSON bytes: orjson, or the standard library when an integer exceeds 64 bits (sums and
    MRR/ARR of large amounts and quantities can; Python's ints and JSON numbers have no such bound)."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _response(result: Result) -> Response:
    if result.body is None:
        return Response(status_code=result.status, headers=result.headers)
    return Response(
        _json(result.body), status_code=result.status, headers=result.headers, media_type="application/json"
    )
