"""Dashboard handler. PLACEHOLDER written by the core helper so the registry is complete;
the billing helper owns this file and replaces it (same ``HANDLERS`` contract)."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result


def _not_yet(call: Call) -> Result:
    raise NotImplementedError(call.operation_id)


HANDLERS: dict[str, Handler] = {"getDashboard": _not_yet}
