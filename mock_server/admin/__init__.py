"""The mock's control plane under ``/__admin`` and its request middlewares (journal, faults, Prefer,
idempotency, state file). ``create_app`` calls ``build_routes``, ``build_middleware`` and ``lifespan``."""

from __future__ import annotations

from mock_server.admin.plane import EXTENSION_KEY, ControlPlane
from mock_server.admin.security import AdminConfigError, check_listen, is_loopback
from mock_server.admin.wiring import build_middleware, build_routes, control_plane, lifespan

__all__ = [
    "EXTENSION_KEY",
    "AdminConfigError",
    "ControlPlane",
    "build_middleware",
    "build_routes",
    "check_listen",
    "control_plane",
    "is_loopback",
    "lifespan",
]
