"""``create_app(config)``: wires the spec, the store, the fixtures, the docs and the dispatcher. No logic.

Control-plane hooks: the optional package ``mock_server.admin`` may define
``build_routes(runtime) -> list[BaseRoute]`` (mounted before the Sales API),
``build_middleware(runtime) -> list[Middleware]`` (outermost first) and
``lifespan(runtime)`` (an async context manager run around the server's life).
The runtime is ``app.state.runtime``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mock_server import docs, fixtures
from mock_server.config import MockConfig
from mock_server.dispatch import SalesDispatcher
from mock_server.routes import HANDLERS
from mock_server.routes.types import Handler
from mock_server.runtime import Runtime, freeze_state
from mock_server.spec import Spec, SpecError, load_spec
from mock_server.store import Store

log = logging.getLogger("mock_server")


def check_handlers(spec: Spec, handlers: dict[str, Handler]) -> None:
    """Refuse to start unless every spec operation has a handler and every handler an operation."""
    missing = sorted(set(spec.operations) - set(handlers))
    extra = sorted(set(handlers) - set(spec.operations))
    problems = []
    if missing:
        problems.append(f"operations without a handler: {', '.join(missing)}")
    if extra:
        problems.append(f"handlers without an operation: {', '.join(extra)}")
    if problems:
        raise SpecError(f"the spec {spec.path} and the handlers disagree: " + "; ".join(problems))


def build_runtime(config: MockConfig, handlers: dict[str, Handler] | None = None) -> Runtime:
    """Load the spec, check the handlers, load the fixtures into a fresh store."""
    spec = load_spec(config.spec_path)
    chosen = dict(HANDLERS if handlers is None else handlers)
    check_handlers(spec, chosen)
    store = Store()
    fixtures.load_fixtures(store, config.fixtures, config.clock)
    return Runtime(
        config=config, spec=spec, store=store, handlers=chosen, startup_blob=freeze_state(store.snapshot(copy=False))
    )


def create_app(config: MockConfig | None = None, *, handlers: dict[str, Handler] | None = None) -> Starlette:
    """The mock server as an ASGI app. Raises ``SpecError``/``FixtureError`` if it cannot start."""
    runtime = build_runtime(config or MockConfig(), handlers)
    admin_routes, admin_middleware, admin_lifespan = _admin_parts(runtime)
    routes: list[BaseRoute] = [
        Route("/api/sales/{path:path}", SalesDispatcher(runtime)),  # first: the hot path matches at once
        *docs.routes(runtime.spec),
        *admin_routes,
    ]
    middleware: list[Middleware] = [*admin_middleware, _cors()]  # CORS innermost: it wraps `send`
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=_lifespan(runtime, admin_lifespan),
        exception_handlers={HTTPException: _http_error},
    )
    app.state.runtime = runtime
    return app


async def _http_error(_request: Request, error: Exception) -> Response:
    """Starlette's own 404/405 (docs and admin routes) as JSON errors like every other."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    headers = dict(error.headers or {}) if isinstance(error, HTTPException) else {}
    message = {404: "not found", 405: "method not allowed"}.get(status, str(getattr(error, "detail", "error")))
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _cors() -> Middleware:
    """Browsers on any origin (a frontend dev server) may call the mock, with keys or the session cookie."""
    return Middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "x-entity-id", "Idempotency-Key", "Prefer"],
        expose_headers=["WWW-Authenticate", "Allow", "Location"],
        max_age=600,
    )


def _admin_parts(runtime: Runtime) -> tuple[list[BaseRoute], list[Middleware], Callable[..., Any] | None]:
    try:
        from mock_server import admin
    except ModuleNotFoundError as error:
        if error.name != "mock_server.admin":
            raise
        return [], [], None
    build_routes = getattr(admin, "build_routes", None)
    build_middleware = getattr(admin, "build_middleware", None)
    routes = list(build_routes(runtime)) if build_routes else []
    middleware = list(build_middleware(runtime)) if build_middleware else []
    return routes, middleware, getattr(admin, "lifespan", None)


def _lifespan(runtime: Runtime, inner: Callable[..., Any] | None) -> Callable[[Starlette], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if inner is None:
            yield
            return
        async with inner(runtime):
            yield

    return lifespan
