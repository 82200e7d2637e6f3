"""The mock's control surface under ``/__admin``: entities, keys, customers, clocks, invoices, state,
journal, faults and stubs. ``create_app`` takes ``control_plane_for``, ``add_stub_files`` (``--stubs DIR``),
``build_routes`` and ``lifespan``."""

from __future__ import annotations

from mock_server.admin.security import AdminConfigError, check_listen
from mock_server.admin.stub_files import StubFileError, add_stub_files
from mock_server.admin.wiring import ADMIN_PREFIX, build_routes, control_plane_for, lifespan
from mock_server.origins import is_loopback

__all__ = [
    "ADMIN_PREFIX",
    "AdminConfigError",
    "StubFileError",
    "add_stub_files",
    "build_routes",
    "check_listen",
    "control_plane_for",
    "is_loopback",
    "lifespan",
]
