"""Dashboard handler: ``Call`` -> service -> ``Result``."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result
from mock_server.services.dashboard import get_dashboard


def dashboard(call: Call) -> Result:
    """GET /dashboard."""
    return Result(200, get_dashboard(call.entity, call.now))


HANDLERS: dict[str, Handler] = {"getDashboard": dashboard}
