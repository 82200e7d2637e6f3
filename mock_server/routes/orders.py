"""Order handlers: ``Call`` -> service -> ``Result``."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result
from mock_server.services import orders
from mock_server.services.common import find_json


def list_orders(call: Call) -> Result:
    """GET /orders: a page, newest first."""
    return Result(200, orders.list_orders(call.entity, call.query))


def create_order(call: Call) -> Result:
    """POST /orders: 201 with the new draft."""
    return Result(201, orders.create_order(call.entity, call.body, call.now))


def get_order(call: Call) -> Result:
    """GET /orders/{orderId}."""
    return Result(200, find_json(call.entity, "orders", call.path_params["orderId"], "order"))


def patch_order(call: Call) -> Result:
    """PATCH /orders/{orderId}."""
    return Result(200, orders.patch_order(call.entity, call.path_params["orderId"], call.body, call.now))


def delete_order(call: Call) -> Result:
    """DELETE /orders/{orderId}: 204."""
    orders.delete_order(call.entity, call.path_params["orderId"], call.now)
    return Result(204)


HANDLERS: dict[str, Handler] = {
    "listOrders": list_orders,
    "createOrder": create_order,
    "getOrder": get_order,
    "patchOrder": patch_order,
    "deleteOrder": delete_order,
}
