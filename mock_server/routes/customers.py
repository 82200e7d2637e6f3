"""Customer handlers: ``Call`` -> service -> ``Result``."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result
from mock_server.services import customers


def list_customers(call: Call) -> Result:
    """GET /customers."""
    return Result(200, customers.list_customers(call.entity))


HANDLERS: dict[str, Handler] = {"listCustomers": list_customers}
