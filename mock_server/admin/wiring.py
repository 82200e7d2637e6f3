"""The hooks ``create_app`` looks for: ``build_routes``, ``build_middleware`` and ``lifespan``.

Middlewares, outermost first: journal (records everything but ``/__admin``), faults, ``Prefer``,
idempotency keys; then the Sales API dispatcher. The state file, when configured, is loaded
while the routes are built (so a bad file stops ``create_app``) and saved by the lifespan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from mock_server.admin.plane import EXTENSION_KEY, ControlPlane
from mock_server.admin.routes import admin_router
from mock_server.admin.security import check_listen
from mock_server.errors import HttpError
from mock_server.faults import FaultMiddleware
from mock_server.idempotency import IdempotencyMiddleware
from mock_server.journal import JournalMiddleware
from mock_server.persistence import StateFileKeeper
from mock_server.prefer import OperationIndex, PreferMiddleware
from mock_server.runtime import Runtime

ADMIN_PREFIX = "/__admin"


def control_plane(runtime: Runtime) -> ControlPlane:
    """The runtime's control plane, created (and the state file loaded) on first use.

    Raises ``AdminConfigError`` on a non-loopback host without a token, ``StateFileError`` for a bad state file.
    """
    plane = runtime.extensions.get(EXTENSION_KEY)
    if isinstance(plane, ControlPlane):
        return plane
    config = runtime.config
    check_listen(config.host, config.admin_token)
    plane = ControlPlane(token=config.admin_token or None)
    if config.state_file:
        plane.keeper = StateFileKeeper(runtime.store, config.state_file)
        plane.keeper.load()
    runtime.extensions[EXTENSION_KEY] = plane
    return plane


def resolver(runtime: Runtime) -> Callable[[str, str], str | None]:
    """``(method, path) -> operationId`` by the same spec table the dispatcher routes with."""
    spec = runtime.spec

    def resolve(method: str, path: str) -> str | None:
        try:
            return spec.match(method, path)[0].operation_id
        except HttpError:
            return None

    return resolve


def build_routes(runtime: Runtime) -> list[BaseRoute]:
    """The ``/__admin`` mount."""
    return [Mount(ADMIN_PREFIX, app=admin_router(runtime, control_plane(runtime)))]


def build_middleware(runtime: Runtime) -> list[Middleware]:
    """Journal, faults, Prefer and idempotency middlewares, outermost first."""
    plane = control_plane(runtime)
    resolve = resolver(runtime)
    store = runtime.store

    def now_for(entity_id: str) -> datetime | None:
        entity = store.get_entity(entity_id)
        return entity.clock.now() if entity is not None else None

    return [
        Middleware(JournalMiddleware, journal=plane.journal, resolve=resolve, admin_prefix=ADMIN_PREFIX),
        Middleware(FaultMiddleware, faults=plane.faults, resolve=resolve),
        Middleware(PreferMiddleware, index=OperationIndex(runtime.spec.document), resolve=resolve),
        Middleware(IdempotencyMiddleware, store=plane.idempotency, resolve=resolve, now_for=now_for),
    ]


@contextlib.asynccontextmanager
async def lifespan(runtime: Runtime) -> AsyncIterator[None]:
    """Around the server's life: keep the state file in sync (periodically and at shutdown)."""
    keeper = control_plane(runtime).keeper
    if keeper is None:
        yield
        return
    async with keeper.running():
        yield
