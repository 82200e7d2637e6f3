"""Admin handlers for an entity's stubs: create (checked against the spec), list, delete.

A stub's answer must be one the spec documents for its operation and status, unless the stub says
``"allowInvalid": true``. The operation is the one its ``operationId`` names or, without one, the one
operation whose method and path the request pattern can match (``method`` + ``urlPath`` route to one;
a ``urlPathPattern`` may match the paths of several operations, which is a 400 naming them). An
inferred operation is written into the stub's ``request.operationId``, so the stub answers only
requests of that operation.

:func:`pattern_operation` is the same check for journal verification (``admin/verification.py``): a
pattern naming an operation, a path or a method that no request could have is a 400 naming the
field, never a silent "nothing matched".
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_server.admin import inputs
from mock_server.admin.entities import entity_of
from mock_server.control import ControlPlane
from mock_server.control.patterns import METHODS, RequestPattern, bad
from mock_server.control.stubs import Stub, parse_stub
from mock_server.domain.errors import FieldProblem, InvalidInput, NotFound
from mock_server.runtime import Runtime
from mock_server.spec import Operation, Spec, problems

SALES_PREFIX = "/api/sales/"
SAMPLE_SEGMENTS = ("3fa85f64-5717-4562-b3fc-2c963f66afa6", "1", "x")
"""Values put in a path template's parameters to see whether a ``urlPathPattern`` can match its paths."""
_PARAMETER = re.compile(r"\{[^}/]+\}")
_ANY_METHOD = tuple(sorted(METHODS - {"ANY"}))


def pattern_operation(spec: Spec, pattern: RequestPattern, where: str) -> tuple[Operation | None, list[Operation]]:
    """(the operation ``pattern`` names or can only match, the operations its method and path can
    match); a 400 naming the field (``where`` + ``operationId`` / ``method`` / ``urlPath`` /
    ``urlPathPattern``) when no request of the Sales API could match it. The first is None when the
    pattern names no operation and matches several (or, without a path, any)."""
    named = _named_operation(spec, pattern, where)
    if pattern.url_path is None and pattern.url_regex is None:
        return named, [named] if named else []
    if named is not None and pattern.url_regex is not None:
        return named, [named]  # a regular expression can be anything: the named operation is trusted
    candidates = matching_operations(spec, pattern)
    if not candidates:
        raise _no_operation(spec, pattern, where)
    if named is not None:
        if named not in candidates:
            ids = ", ".join(o.operation_id for o in candidates)
            raise bad(f"{where}operationId", f"{_request_text(pattern)} routes to {ids}, not to {named.operation_id}")
        return named, [named]
    return (candidates[0] if len(candidates) == 1 else None), candidates


def _named_operation(spec: Spec, pattern: RequestPattern, where: str) -> Operation | None:
    if pattern.operation_id is None:
        return None
    named = spec.operations.get(pattern.operation_id)
    if named is None:
        close = difflib.get_close_matches(pattern.operation_id, list(spec.operations), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise bad(f"{where}operationId", f"{pattern.operation_id} is no Sales API operation{hint}")
    if pattern.method not in (None, "ANY") and named.method.upper() != pattern.method:
        raise bad(f"{where}method", f"{named.operation_id} is a {named.method.upper()}")
    return named


def matching_operations(spec: Spec, pattern: RequestPattern) -> list[Operation]:
    """The operations whose method and path template the pattern's ``method`` and ``urlPath`` /
    ``urlPathPattern`` can match, in spec order. A regular expression is tried on the paths of every
    template (its parameters filled with :data:`SAMPLE_SEGMENTS`) and on its own text."""
    methods = _ANY_METHOD if pattern.method in (None, "ANY") else (pattern.method,)
    if pattern.url_path is not None:
        paths = [pattern.url_path]
    elif pattern.url_regex is not None:
        regex = pattern.url_regex
        tried = [regex.pattern]
        tried += [_PARAMETER.sub(sample, entry.template) for entry in spec.paths for sample in SAMPLE_SEGMENTS]
        paths = [path for path in tried if regex.fullmatch(path) is not None]
    else:
        return []
    found: dict[str, Operation] = {}
    for path in paths:
        for method in methods:
            operation_id = spec.resolve(method, path)
            if operation_id is not None:
                found.setdefault(operation_id, spec.operations[operation_id])
    order = list(spec.operations)
    return sorted(found.values(), key=lambda o: order.index(o.operation_id))


def _request_text(pattern: RequestPattern) -> str:
    method = "" if pattern.method in (None, "ANY") else f"{pattern.method} "
    if pattern.url_regex is not None:
        return f"{method}urlPathPattern {pattern.url_regex.pattern!r}"
    return f"{method}{pattern.url_path}"


def _no_operation(spec: Spec, pattern: RequestPattern, where: str) -> InvalidInput:
    """The 400 for a method and path that no Sales API operation has."""
    method = "" if pattern.method in (None, "ANY") else f"{pattern.method} "
    if pattern.url_path is not None:
        path = pattern.url_path
        if not path.startswith(SALES_PREFIX):
            return bad(f"{where}urlPath", f"must be a Sales API path under {SALES_PREFIX}")
        hint = " (put query parameters in queryParameters)" if "?" in path else ""
        other = sorted({m for m in _ANY_METHOD if spec.resolve(m, path) is not None})
        if method and other:
            return bad(f"{where}method", f"{method}{path} is no Sales API operation: the path takes {', '.join(other)}")
        return bad(f"{where}urlPath", f"{method}{path} is no Sales API operation{hint}")
    text = pattern.url_regex.pattern if pattern.url_regex is not None else ""
    message = (
        f"{text!r} matches the path of no {method}Sales API operation (paths start with {SALES_PREFIX}; "
        "name its operationId if it should match one)"
    )
    return bad(f"{where}urlPathPattern", message)


def check_stub(spec: Spec, stub: Stub) -> Stub:
    """The stub checked against the spec: its operation (named, or inferred and then written into its
    ``request.operationId``) and, unless it allows invalid answers, its answer; 400 naming the problem."""
    operation, candidates = pattern_operation(spec, stub.pattern, "request.")
    if operation is None:
        if stub.allow_invalid:
            return stub
        ids = ", ".join(o.operation_id for o in candidates)
        message = f"is required: {_request_text(stub.pattern)} can match {ids} (name the one whose answer this is)"
        raise bad("request.operationId", message)
    if stub.pattern.operation_id is None:
        stub.pattern = dataclasses.replace(stub.pattern, operation_id=operation.operation_id)
        stub.definition["request"] = {**stub.definition["request"], "operationId": operation.operation_id}
    if not stub.allow_invalid:
        check_response(operation, stub)
    return stub


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


def build_stub(spec: Spec, raw: Any) -> Stub:
    """Parse a definition and check it against the spec (:func:`check_stub`)."""
    return check_stub(spec, parse_stub(raw))


async def create_stub(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities/{entityId}/stubs``: 201 with the stub (its ``id``)."""
    entity = entity_of(runtime, request)
    raw = await inputs.json_body(request)
    if isinstance(raw, dict) and ("id" in raw or "remaining" in raw):
        raise bad("id" if "id" in raw else "remaining", "is set by the mock")
    stub = plane.stubs.add(entity.id, build_stub(runtime.spec, raw))
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
