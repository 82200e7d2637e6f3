"""Admin handlers for an entity's stubs: create (checked against the spec), list, delete.

A stub's answer must be one the spec documents for its operation and status, unless the stub says
``"allowInvalid": true``. The operation is the one ``method`` + ``urlPath`` route to; a stub with a
``urlPathPattern`` must name its ``operationId`` (a regular expression can match paths of several
operations, whose answers differ), and then only answers requests of that operation.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_server.admin import inputs
from mock_server.admin.entities import entity_of
from mock_server.control import ControlPlane
from mock_server.control.patterns import bad
from mock_server.control.stubs import Stub, parse_stub
from mock_server.domain.errors import FieldProblem, InvalidInput, NotFound
from mock_server.errors import HttpError
from mock_server.runtime import Runtime
from mock_server.spec import Operation, Spec, problems

SALES_PREFIX = "/api/sales/"


def operation_of(spec: Spec, stub: Stub) -> Operation | None:
    """The spec operation a stub answers for; None when it allows invalid answers and names none."""
    pattern = stub.pattern
    by_id = spec.operations.get(pattern.operation_id) if pattern.operation_id else None
    if pattern.operation_id and by_id is None:
        raise bad("request.operationId", f"{pattern.operation_id} is no Sales API operation")
    if pattern.url_path is not None:
        if not pattern.url_path.startswith(SALES_PREFIX):
            raise bad("request.urlPath", f"must be a Sales API path under {SALES_PREFIX}")
        try:
            routed, _ = spec.match(pattern.method or "GET", pattern.url_path)
        except HttpError as error:
            raise bad(
                "request.urlPath", f"{pattern.method} {pattern.url_path} is no Sales API operation: {error}"
            ) from None
        if by_id is not None and by_id is not routed:
            raise bad("request.operationId", f"{pattern.method} {pattern.url_path} is {routed.operation_id}")
        return routed
    if by_id is None:
        if stub.allow_invalid:
            return None
        raise bad("request.operationId", "is required with urlPathPattern (the answer is checked against it)")
    if by_id.method.upper() != pattern.method:
        raise bad("request.method", f"{by_id.operation_id} is a {by_id.method.upper()}")
    return by_id


def check_response(operation: Operation, stub: Stub) -> None:
    """400 naming how the stub's answer differs from what the spec documents for its status."""
    documented, validator = operation.response_validator(stub.status)
    if not documented:
        codes = ", ".join(sorted(operation.responses))
        raise bad("response.status", f"{stub.status} is not documented for {operation.operation_id} ({codes})")
    if validator is None:
        if stub.has_body:
            raise bad("response.jsonBody", f"{operation.operation_id} documents no body for status {stub.status}")
        return
    if not stub.has_body:
        raise bad("response.jsonBody", f"{operation.operation_id} documents a JSON body for status {stub.status}")
    found = problems(validator, stub.json_body, "response.jsonBody")
    if found:
        details = [FieldProblem(p.path or "response.jsonBody", p.message) for p in found]
        first = details[0]
        message = f"the answer does not fit the spec of {operation.operation_id} {stub.status}: {first.path}: "
        raise InvalidInput(message + first.message + ' (send "allowInvalid": true to stub it anyway)', details)


def build_stub(runtime: Runtime, raw: Any) -> Stub:
    """Parse a definition and check it against the spec (unless it allows invalid answers)."""
    stub = parse_stub(raw)
    operation = operation_of(runtime.spec, stub)
    if operation is not None and not stub.allow_invalid:
        check_response(operation, stub)
    return stub


async def create_stub(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities/{entityId}/stubs``: 201 with the stub (its ``id``)."""
    entity = entity_of(runtime, request)
    raw = await inputs.json_body(request)
    if isinstance(raw, dict) and ("id" in raw or "remaining" in raw):
        raise bad("id" if "id" in raw else "remaining", "is set by the mock")
    stub = plane.stubs.add(entity.id, build_stub(runtime, raw))
    return JSONResponse(stub.to_json(), status_code=201)


async def list_stubs(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /entities/{entityId}/stubs``: ``{"data": [stub]}`` in matching order."""
    entity = entity_of(runtime, request)
    return JSONResponse({"data": [s.to_json() for s in plane.stubs.of(entity.id)]})


async def delete_stub(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``DELETE /entities/{entityId}/stubs/{stubId}``."""
    entity = entity_of(runtime, request)
    stub_id = request.path_params["stubId"]
    if not plane.stubs.remove(entity.id, stub_id):
        raise NotFound(f"no stub {stub_id}")
    return Response(status_code=204)


async def delete_stubs(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``DELETE /entities/{entityId}/stubs``: every stub of the entity."""
    plane.stubs.forget_entity(entity_of(runtime, request).id)
    return Response(status_code=204)
