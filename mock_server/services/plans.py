"""Plan use cases: list, create (code unique per entity), patch (name, description, amount, trialDays, active)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mock_server.domain.errors import Conflict, FieldProblem
from mock_server.services.common import all_json, find, instant, new_id
from mock_server.store import EntityState, Resource

PATCHABLE = ("name", "description", "amount", "trialDays", "active")


def list_plans(entity: EntityState) -> bytes:
    """``{"data": [...]}``, newest first (archived plans included)."""
    return all_json(entity, "plans")


def get_plan(entity: EntityState, plan_id: str) -> Resource:
    """The plan, or 404."""
    return find(entity, "plans", plan_id, "plan")


def create_plan(entity: EntityState, body: dict[str, Any], now: datetime, *, plan_id: str | None = None) -> Resource:
    """A new plan; 409 when ``code`` is already used in this entity. Defaults: intervalCount 1,
    trialDays 0, active true, description null."""
    code = body["code"]
    if code in entity.plan_codes:
        raise Conflict(f"a plan with code {code!r} already exists", [FieldProblem("code", "is already used")])
    stamp = instant(now)
    plan: Resource = {
        "id": plan_id or new_id(),
        "code": code,
        "name": body["name"],
        "description": body.get("description"),
        "currency": body["currency"],
        "amount": int(body["amount"]),
        "interval": body["interval"],
        "intervalCount": int(body.get("intervalCount", 1)),
        "trialDays": int(body.get("trialDays", 0)),
        "active": bool(body.get("active", True)),
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    return entity.add("plans", plan)


def patch_plan(entity: EntityState, plan_id: str, body: dict[str, Any], now: datetime) -> Resource:
    """Change ``name``, ``description``, ``amount``, ``trialDays`` and/or ``active``. Existing
    subscriptions keep their ``unitAmount``."""
    plan = get_plan(entity, plan_id)
    changes = {name: body[name] for name in PATCHABLE if name in body}
    if any(plan[name] != value for name, value in changes.items()):
        plan = entity.edit("plans", plan_id)
        plan.update(changes)
        plan["updatedAt"] = instant(now)
    return plan
