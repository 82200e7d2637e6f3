"""``create_app(config)``: wires the spec, the store, the fixtures, the control plane, the Sales API
pipeline, the admin API and the docs. No logic.

The Sales API (``/api/sales/...``) is answered by :class:`mock_server.pipeline.SalesPipeline`
directly from the outermost layer, so its requests pass through no router or middleware of
Starlette's; everything else (``/__admin``, ``/docs``, ``/openapi.*``) is routed by Starlette.
The runtime is ``app.state.runtime``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from mock_server import admin, docs, fixtures, snapshot
from mock_server.config import MockConfig
from mock_server.errors import HttpError, error_response
from mock_server.pipeline import SalesPipeline
from mock_server.routes import HANDLERS
from mock_server.routes.types import Handler
from mock_server.runtime import FrozenState, Runtime, release_free_heap
from mock_server.spec import Spec, SpecError, load_spec
from mock_server.store import Store

SALES_PREFIX = "/api/sales/"


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
    """Load the spec, check the handlers, load the fixtures into a fresh store, then the state file and
    the stub files (if any)."""
    spec = load_spec(config.spec_path)
    chosen = dict(HANDLERS if handlers is None else handlers)
    check_handlers(spec, chosen)
    # The fixtures load into a scratch store, which is frozen (the copy /__admin/reset returns to)
    # and dropped; the store then starts from that copy, as a reset would: resources packed, and
    # none of the loading's short-lived objects scattered among them.
    scratch = Store()
    fixtures.load_fixtures(scratch, config.fixtures, config.clock)
    startup = FrozenState(snapshot.encoded_chunks(scratch))
    del scratch
    store = Store(config.live_resources)
    snapshot.replace(store, startup.thaw())
    release_free_heap()
    fixture_entities = list(store.entities)
    control = admin.control_plane_for(config, store)
    runtime = Runtime(config=config, spec=spec, store=store, handlers=chosen, startup=startup, control=control)
    if config.stubs_dir is not None:
        admin.add_stub_files(runtime, config.stubs_dir, fixture_entities)
    return runtime


def create_app(config: MockConfig | None = None, *, handlers: dict[str, Handler] | None = None) -> Starlette:
    """The mock server as an ASGI app. Raises ``SpecError``/``FixtureError``/``StateFileError``/``AdminConfigError``/
    ``StubFileError`` if it cannot start."""
    runtime = build_runtime(config or MockConfig(), handlers)
    routes: list[BaseRoute] = [
        *docs.routes(runtime.spec, runtime.config.spec_path.parent / "mock-admin.yaml"),
        *admin.build_routes(runtime),
    ]
    app = _SalesApp(
        SalesPipeline(runtime),
        routes=routes,
        lifespan=_lifespan(runtime, admin.lifespan),
        exception_handlers={HTTPException: _http_error},
    )
    app.state.runtime = runtime
    return app


class _SalesApp(Starlette):
    """Starlette for the docs and ``/__admin``; Sales API requests go straight to the pipeline, which
    renders every error itself, so they skip Starlette's middleware stack and router."""

    def __init__(self, pipeline: SalesPipeline, **options: Any) -> None:
        super().__init__(**options)
        self.pipeline = pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(SALES_PREFIX):
            await self.pipeline(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


async def _http_error(_request: Request, error: Exception) -> Response:
    """Starlette's own 404/405 (docs and admin routes) through the one error renderer."""
    if not isinstance(error, HTTPException):
        return error_response(error)
    message = {404: "not found", 405: "method not allowed"}.get(error.status_code, str(error.detail))
    return error_response(HttpError(message, status_code=error.status_code, headers=error.headers))


def _lifespan(runtime: Runtime, inner: Callable[[Runtime], Any]) -> Callable[[Starlette], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with inner(runtime):
            yield

    return lifespan
