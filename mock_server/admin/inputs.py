"""Small, strict readers for admin request bodies and parameters: every problem is a 400 naming the field."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request

from mock_server.domain.errors import FieldProblem, InvalidInput
from mock_server.domain.money import is_supported_currency
from mock_server.domain.periods import parse_instant
from mock_server.errors import UnsupportedMediaType

MAX_BODY = 8 * 1024 * 1024


async def json_body(request: Request, *, optional: bool = False) -> Any:
    """The parsed JSON body; an empty body is ``{}`` when ``optional``. 400/415 otherwise."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return {}
        raise InvalidInput("a JSON request body is required")
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("the request body must be application/json")
    if len(raw) > MAX_BODY:
        raise InvalidInput(f"the request body is over {MAX_BODY} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidInput("the request body is not valid JSON") from None


def obj(body: Any, allowed: set[str], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``body`` as an object with only ``allowed`` keys and every ``required`` one."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    problems = [FieldProblem(name, "is not an allowed field") for name in sorted(set(body) - allowed)]
    problems += [FieldProblem(name, "is required") for name in required if name not in body]
    if problems:
        raise InvalidInput(f"invalid request: {problems[0].path}: {problems[0].message}", details=problems)
    return body


def text(body: dict[str, Any], name: str, *, max_length: int = 200, default: str | None = None) -> str | None:
    """An optional non-empty string field."""
    value = body.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise _bad(name, f"must be a string of 1..{max_length} characters")
    return value


def integer(body: dict[str, Any], name: str, low: int, high: int, default: int | None = None) -> int | None:
    """An optional integer field within ``low..high``."""
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(name, f"must be an integer in {low}..{high}")
    return value


def instant(body: dict[str, Any], name: str) -> datetime | None:
    """An optional RFC 3339 instant field."""
    value = body.get(name)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_instant(value)
    except ValueError:
        raise _bad(name, "must be an RFC 3339 instant such as 2025-03-01T00:00:00Z") from None


def currency(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A supported ISO 4217 code field (see SALES_DOMAIN.md §1)."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not is_supported_currency(value):
        raise _bad(name, "must be a supported ISO 4217 currency code such as USD")
    return value


def _bad(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"invalid request: {name}: {message}", details=[FieldProblem(name, message)])
