"""Subscription handlers: ``Call`` -> service -> ``Result``."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result
from mock_server.services import billing, subscriptions


def _sub_id(call: Call) -> str:
    return call.path_params["subscriptionId"]


def list_subscriptions(call: Call) -> Result:
    """GET /subscriptions (optional ``status`` filter)."""
    return Result(200, subscriptions.list_subscriptions(call.entity, call.query.get("status")))


def create_subscription(call: Call) -> Result:
    """POST /subscriptions: 201."""
    return Result(201, subscriptions.create_subscription(call.entity, call.body, call.now))


def patch_subscription(call: Call) -> Result:
    """PATCH /subscriptions/{subscriptionId}."""
    return Result(200, subscriptions.patch(call.entity, _sub_id(call), call.body, call.now))


def generate_invoice(call: Call) -> Result:
    """POST /subscriptions/{subscriptionId}/generate-invoice: 201 new, 200 existing."""
    status, invoice = billing.generate_invoice(call.entity, _sub_id(call), call.body, call.now)
    return Result(status, invoice)


def run_dunning(call: Call) -> Result:
    """POST /subscriptions/{subscriptionId}/dunning."""
    return Result(200, billing.dunning(call.entity, _sub_id(call), call.body, call.now))


def change_plan(call: Call) -> Result:
    """POST /subscriptions/{subscriptionId}/change-plan."""
    return Result(200, billing.change_subscription_plan(call.entity, _sub_id(call), call.body, call.now))


HANDLERS: dict[str, Handler] = {
    "listSubscriptions": list_subscriptions,
    "createSubscription": create_subscription,
    "patchSubscription": patch_subscription,
    "generateInvoice": generate_invoice,
    "runDunning": run_dunning,
    "changePlan": change_plan,
}
