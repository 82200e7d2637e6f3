"""Admin handlers to verify what was sent: find and count journaled requests, one entry in full.

``POST /requests/find`` and ``POST /requests/count`` take a request pattern
(``mock_server.control.patterns``: method, urlPath | urlPathPattern, operationId, entityId,
queryParameters, bodyPatterns). When nothing matches, ``find`` also answers ``nearMisses``: the
closest journaled requests (fewest differing fields) with what differed, like WireMock.

A pattern no request could match is a 400 naming the field, as for stubs
(:func:`mock_server.admin.stubs.pattern_operation`): an unknown ``operationId``, a ``urlPath`` or
``urlPathPattern`` that is the path of no Sales API operation (with ``method``: of no operation of
that method), an ``entityId`` that is no UUID. Otherwise an assertion that something was never
called would pass on a typo.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_server.admin import inputs
from mock_server.admin.stubs import pattern_operation
from mock_server.control import ControlPlane
from mock_server.control.patterns import PATTERN_FIELDS, RequestPattern, bad, parse_pattern
from mock_server.domain.errors import NotFound
from mock_server.runtime import Runtime

NEAR_MISSES = 3
DEFAULT_FIND_LIMIT = 100
MAX_FIND_LIMIT = 10_000


async def _pattern_and_limit(runtime: Runtime, request: Request) -> tuple[RequestPattern, int]:
    body = inputs.obj(await inputs.json_body(request, optional=True), PATTERN_FIELDS | {"limit"})
    limit = inputs.integer(body, "limit", 1, MAX_FIND_LIMIT, DEFAULT_FIND_LIMIT) or DEFAULT_FIND_LIMIT
    pattern = parse_pattern({k: v for k, v in body.items() if k != "limit"}, "pattern")
    pattern_operation(runtime.spec, pattern, "pattern.")
    entity_id = inputs.uuid_text(pattern.entity_id, "pattern.entityId")
    if entity_id is not None:  # the journal holds resolved entity ids in lower case
        pattern = dataclasses.replace(pattern, entity_id=entity_id.lower())
    return pattern, limit


async def find_requests(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /requests/find``: ``{"requests": [entry...], "nearMisses"?: [{"request", "differences"}]}``,
    newest first, at most ``limit`` (default 100) entries with headers and bodies."""
    pattern, limit = await _pattern_and_limit(runtime, request)
    found: list[dict[str, Any]] = []
    scored: list[tuple[int, int, list[str], Any]] = []
    for position, entry in enumerate(plane.journal.entries()):
        differences = pattern.differences(entry.observed())
        if not differences:
            if len(found) < limit:
                found.append(entry.to_json(full=True))
        elif not found:
            scored.append((len(differences), position, differences, entry))
    answer: dict[str, Any] = {"requests": found}
    if not found:
        scored.sort(key=lambda item: (item[0], item[1]))
        answer["nearMisses"] = [
            {"request": entry.to_json(full=True), "differences": differences}
            for _, _, differences, entry in scored[:NEAR_MISSES]
        ]
    return JSONResponse(answer)


async def count_requests(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /requests/count``: ``{"count": N}`` journaled requests matching the pattern."""
    pattern, _ = await _pattern_and_limit(runtime, request)
    count = sum(1 for entry in plane.journal.entries() if pattern.matches(entry.observed()))
    return JSONResponse({"count": count})


async def get_request(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /requests/{requestId}``: one journaled request with its headers and bodies."""
    raw = request.path_params["requestId"]
    if not raw.isdigit() or len(raw) > 18:
        raise bad("requestId", "must be a journal entry id (a positive integer)")
    entry = plane.journal.get(int(raw))
    if entry is None:
        raise NotFound(f"no journaled request {raw} (the journal keeps the last {plane.journal.capacity})")
    return JSONResponse(entry.to_json(full=True))
