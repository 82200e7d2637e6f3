"""Quote handlers: ``Call`` -> service -> ``Result``."""

from __future__ import annotations

from mock_server.routes.types import Call, Handler, Result
from mock_server.services import quotes
from mock_server.services.common import find_json


def list_quotes(call: Call) -> Result:
    """GET /quotes: a page, newest first."""
    return Result(200, quotes.list_quotes(call.entity, call.query))


def create_quote(call: Call) -> Result:
    """POST /quotes: 201 with the new draft."""
    return Result(201, quotes.create_quote(call.entity, call.body, call.now))


def get_quote(call: Call) -> Result:
    """GET /quotes/{quoteId}."""
    return Result(200, find_json(call.entity, "quotes", call.path_params["quoteId"], "quote"))


def patch_quote(call: Call) -> Result:
    """PATCH /quotes/{quoteId}."""
    return Result(200, quotes.patch_quote(call.entity, call.path_params["quoteId"], call.body, call.now))


def delete_quote(call: Call) -> Result:
    """DELETE /quotes/{quoteId}: 204."""
    quotes.delete_quote(call.entity, call.path_params["quoteId"])
    return Result(204)


HANDLERS: dict[str, Handler] = {
    "listQuotes": list_quotes,
    "createQuote": create_quote,
    "getQuote": get_quote,
    "patchQuote": patch_quote,
    "deleteQuote": delete_quote,
}
