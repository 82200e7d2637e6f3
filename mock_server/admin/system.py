"""Admin handlers for the whole server: health, reset, state export/import, journal, faults."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import mock_server
from mock_server import persistence, resources, snapshot
from mock_server.admin import inputs
from mock_server.admin.stubs import check_stub
from mock_server.control import ControlPlane
from mock_server.control.stubs import StubBook
from mock_server.domain.errors import InvalidInput, NotFound
from mock_server.runtime import Runtime, release_free_heap

MAX_LIMIT = 10_000


async def health(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /health``: ``{"status": "ok", "version", "uptimeSeconds"}``, and ``stateFile`` when the
    server keeps one (its path, background saves, how long each fork paused the event loop)."""
    uptime = round(runtime.uptime_seconds(), 3)
    answer: dict[str, Any] = {"status": "ok", "version": mock_server.__version__, "uptimeSeconds": uptime}
    if plane.keeper is not None:
        answer["stateFile"] = plane.keeper.status()
    return JSONResponse(answer)


async def admin_spec(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /openapi.yaml``: this API's own spec (the packaged ``openapi/mock-admin.yaml``)."""
    try:
        text = resources.admin_spec_path().read_text(encoding="utf-8")
    except (OSError, resources.ResourceError):
        raise NotFound("the admin spec mock-admin.yaml is not installed") from None
    return Response(text, media_type="application/yaml")


async def reset(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /reset``: every entity, key and session back to the startup fixtures, the stubs back to
    those of ``--stubs`` (none without it); journal, faults and idempotency keys cleared."""
    snapshot.replace(runtime.store, runtime.startup_store())
    release_free_heap()
    plane.stubs.reset()
    plane.idempotency.clear()
    plane.journal.clear()
    plane.faults.clear()
    return Response(status_code=204)


async def export_state(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /state``: the whole store (and the stubs) as one JSON document."""
    data = persistence.state_bytes(runtime.store, plane.sections())  # the state file's layout
    return Response(data, media_type="application/json")


async def import_state(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``PUT /state``: replace the whole store; a bad document is a 400 naming the problem and changes nothing."""
    document = await inputs.json_body(request)
    if isinstance(document, dict) and document.get("stubs"):
        _check_stub_answers(runtime, document["stubs"])
    persistence.full_restore(runtime.store, plane.sections(), document)
    release_free_heap()
    plane.idempotency.clear()
    return Response(status_code=204)


def _check_stub_answers(runtime: Runtime, raw: object) -> None:
    """An imported stub is checked against the spec like a created one."""
    for stubs in StubBook.parse_section(raw).values():
        for stub in stubs:
            check_stub(runtime.spec, stub)


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInput(f"invalid request: limit: must be an integer in 1..{MAX_LIMIT}")
    return int(raw)


async def list_requests(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /requests?entityId=&limit=``: journaled requests, newest first."""
    entity_id = inputs.uuid_text(request.query_params.get("entityId"), "entityId")
    entries = plane.journal.entries(entity_id=entity_id, limit=_limit(request))
    return JSONResponse({"data": [e.to_json() for e in entries], "capacity": plane.journal.capacity})


async def clear_requests(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``DELETE /requests``: forget every journaled request."""
    plane.journal.clear()
    return Response(status_code=204)


async def get_faults(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /faults``: ``{"rules": [...], "seed"}``."""
    return JSONResponse(plane.faults.to_json())


async def put_faults(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``PUT /faults``: replace every rule (and the seed); answers the new rule set."""
    plane.faults.configure(await inputs.json_body(request), known_operations=runtime.spec.operations)
    return JSONResponse(plane.faults.to_json())


async def clear_faults(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``DELETE /faults``: no more faults."""
    plane.faults.clear()
    return Response(status_code=204)
