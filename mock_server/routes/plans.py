"""Plan handlers: ``Call`` -> service -> ``Result``."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result
from mock_server.services import plans


def list_plans(call: Call) -> Result:
    """GET /plans."""
    return Result(200, plans.list_plans(call.entity))


def create_plan(call: Call) -> Result:
    """POST /plans: 201."""
    return Result(201, plans.create_plan(call.entity, call.body, call.now))


def patch_plan(call: Call) -> Result:
    """PATCH /plans/{planId}."""
    return Result(200, plans.patch_plan(call.entity, call.path_params["planId"], call.body, call.now))


HANDLERS: dict[str, Handler] = {
    "listPlans": list_plans,
    "createPlan": create_plan,
    "patchPlan": patch_plan,
}
