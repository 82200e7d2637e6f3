"""The ``/__admin`` routes: one table, one guard (Host, Origin, token, JSON writes), one error renderer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router

from mock_server.admin import entities, stubs, system, ui, verification
from mock_server.admin.security import guard
from mock_server.control import ControlPlane
from mock_server.errors import BadRequest, MethodNotAllowed, RouteNotFound, error_response
from mock_server.origins import OriginPolicy
from mock_server.runtime import Runtime

log = logging.getLogger("mock_server.admin")

AdminHandler = Callable[[Runtime, ControlPlane, Request], Awaitable[Response]]

ROUTES: list[tuple[str, str, AdminHandler]] = [
    ("GET", "/health", system.health),
    ("GET", "/openapi.yaml", system.admin_spec),
    ("GET", "/entities", entities.list_entities),
    ("POST", "/entities", entities.create_entity),
    ("DELETE", "/entities/{entityId}", entities.delete_entity),
    ("POST", "/entities/{entityId}/api-keys", entities.add_api_key),
    ("POST", "/entities/{entityId}/customers", entities.add_customer),
    ("GET", "/entities/{entityId}/clock", entities.get_clock),
    ("POST", "/entities/{entityId}/clock/advance", entities.advance_clock),
    ("GET", "/entities/{entityId}/invoices", entities.list_invoices),
    ("POST", "/entities/{entityId}/invoices/{invoiceId}/pay", entities.pay_invoice),
    ("POST", "/entities/{entityId}/stubs", stubs.create_stub),
    ("GET", "/entities/{entityId}/stubs", stubs.list_stubs),
    ("DELETE", "/entities/{entityId}/stubs", stubs.delete_stubs),
    ("DELETE", "/entities/{entityId}/stubs/{stubId}", stubs.delete_stub),
    ("POST", "/reset", system.reset),
    ("GET", "/state", system.export_state),
    ("PUT", "/state", system.import_state),
    ("GET", "/requests", system.list_requests),
    ("DELETE", "/requests", system.clear_requests),
    ("POST", "/requests/find", verification.find_requests),
    ("POST", "/requests/count", verification.count_requests),
    ("GET", "/requests/{requestId}", verification.get_request),
    ("GET", "/faults", system.get_faults),
    ("PUT", "/faults", system.put_faults),
    ("DELETE", "/faults", system.clear_faults),
]


def _endpoint(
    runtime: Runtime, policy: OriginPolicy, handlers: dict[str, AdminHandler], *, token_needed: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    allowed = sorted(handlers)
    plane = runtime.control

    async def endpoint(request: Request) -> Response:
        try:
            guard(request, policy, plane.token if token_needed else None)
            method = "GET" if request.method == "HEAD" and "GET" in handlers else request.method
            handler = handlers.get(method)
            if handler is None:
                raise MethodNotAllowed(f"method {request.method} is not allowed on {request.url.path}", allowed)
            response = await handler(runtime, plane, request)
            _settle(runtime, request)
            return response
        except ClientDisconnect:  # the client left before its body was complete: nothing was done, no one reads this
            return error_response(BadRequest("the request body was not complete"))
        except Exception as error:
            response = error_response(error)
            if response.status_code == 500:
                log.exception("internal error in admin %s %s", request.method, request.url.path)
            return response

    return endpoint


def _settle(runtime: Runtime, request: Request) -> None:
    """Pack what the request unpacked in the entity it named (``mock_server.packed``; a clock advance
    may touch every subscription). Other admin requests leave resources packed (reset, state import)
    or create a small entity (``demo``/``empty`` fixtures)."""
    entity_id = request.path_params.get("entityId")
    if entity_id is not None:
        entity = runtime.store.get_entity(str(entity_id))
        if entity is not None:
            entity.settle(runtime.store.live_limit)


def admin_router(runtime: Runtime) -> Router:
    """A router for everything under ``/__admin`` (mount it there). Every answer is JSON and carries no
    CORS headers: a foreign Host is 421, a foreign Origin 403, a non-JSON write 415, unknown paths 404,
    wrong methods 405 with ``Allow``; with a token set, everything needs it (401)."""
    config = runtime.config
    policy = OriginPolicy(config.host, tuple(config.allowed_hosts), tuple(config.cors_origins))
    by_path: dict[str, dict[str, AdminHandler]] = {}
    for method, path, handler in ROUTES:
        by_path.setdefault(path, {})[method] = handler
    routes: list[BaseRoute] = [
        Route(path, _endpoint(runtime, policy, h), methods=_ALL_METHODS) for path, h in by_path.items()
    ]
    for path in ui.PATHS:  # the web UI's static files: no token (the page asks for it, then sends it)
        routes.append(
            Route(path, _endpoint(runtime, policy, {"GET": ui.serve}, token_needed=False), methods=_ALL_METHODS)
        )
    catch_all = _endpoint(runtime, policy, dict.fromkeys(_ALL_METHODS, _unknown))
    routes.append(Route("/{rest:path}", catch_all, methods=_ALL_METHODS))
    return Router(routes=routes)


_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _unknown(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    raise RouteNotFound(f"no such admin path: {request.url.path}")
