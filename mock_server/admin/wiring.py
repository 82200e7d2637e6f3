"""What ``create_app`` takes from the admin package: the control plane for a configuration (the state
file loaded, the listen address checked), the ``/__admin`` mount, and the state file's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.routing import BaseRoute, Mount

from mock_server.admin.routes import admin_router
from mock_server.admin.security import check_listen
from mock_server.config import MockConfig
from mock_server.control import ControlPlane
from mock_server.control.journal import Journal
from mock_server.persistence import StateFileKeeper
from mock_server.runtime import Runtime, release_free_heap
from mock_server.store import Store

ADMIN_PREFIX = "/__admin"


def control_plane_for(config: MockConfig, store: Store) -> ControlPlane:
    """A control plane for ``config`` over ``store``, the state file (if any) loaded into the store.

    Raises ``AdminConfigError`` on a non-loopback host or ``--allowed-host '*'`` without a token,
    ``StateFileError`` for a bad state file.
    """
    check_listen(config.host, config.admin_token, config.allowed_hosts)
    plane = ControlPlane(journal=Journal(config.journal_size), token=config.admin_token or None)
    if config.state_file:
        plane.keeper = StateFileKeeper(store, config.state_file, sections=plane.sections())
        plane.keeper.load()
        release_free_heap()
    return plane


def build_routes(runtime: Runtime) -> list[BaseRoute]:
    """The ``/__admin`` mount."""
    return [Mount(ADMIN_PREFIX, app=admin_router(runtime))]


@contextlib.asynccontextmanager
async def lifespan(runtime: Runtime) -> AsyncIterator[None]:
    """Around the server's life: keep the state file in sync (periodically and at shutdown)."""
    keeper = runtime.control.keeper
    if keeper is None:
        yield
        return
    async with keeper.running():
        yield
