"""Small, strict readers for admin request bodies and parameters: every problem is a 400 naming the field."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request

from mock_server import body
from mock_server.clock import RANGE_TEXT, in_range
from mock_server.domain.errors import FieldProblem, InvalidInput
from mock_server.domain.money import is_supported_currency
from mock_server.domain.periods import parse_instant
from mock_server.errors import UnsupportedMediaType

MAX_BODY = 8 * 1024 * 1024


async def json_body(request: Request, *, optional: bool = False) -> Any:
    """The parsed JSON body; an empty body is ``{}`` when ``optional``. 413 as soon as the body is over
    :data:`MAX_BODY` (never buffered whole first), 400/415 otherwise."""
    raw = await body.read_body(request.headers, request.receive, MAX_BODY)
    if not raw.strip():
        if optional:
            return {}
        raise InvalidInput("a JSON request body is required")
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("the request body must be application/json")
    return body.parse_json(raw)  # strict: no NaN, Infinity, overflowing numbers, lone surrogates or deep nesting


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
    if name not in body:
        return default
    value = body[name]
    if not isinstance(value, str) or not 1 <= len(value) <= max_length or not _encodable(value):
        raise _bad(name, f"must be a string of 1..{max_length} characters")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def integer(body: dict[str, Any], name: str, low: int, high: int, default: int | None = None) -> int | None:
    """An optional integer field within ``low..high``."""
    if name not in body:
        return default
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(name, f"must be an integer in {low}..{high}")
    return value


def instant(body: dict[str, Any], name: str) -> datetime | None:
    """An optional RFC 3339 instant field, within the range of a clock (``mock_server.clock``)."""
    if name not in body:
        return None
    value = body[name]
    try:
        if not isinstance(value, str):
            raise ValueError
        moment = parse_instant(value)
    except ValueError:
        raise _bad(name, "must be an RFC 3339 instant such as 2025-03-01T00:00:00Z") from None
    if not in_range(moment.replace(microsecond=0)):
        raise _bad(name, f"must be an instant within {RANGE_TEXT}")
    return moment


def uuid_text(value: str | None, name: str) -> str | None:
    """An optional UUID parameter, as given."""
    if value is None:
        return None
    try:
        uuid.UUID(value)
    except ValueError:
        raise _bad(name, "must be a UUID") from None
    return value


def currency(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """A supported ISO 4217 code field (see docs/money.md)."""
    if name not in body and not required:
        return None
    value = body.get(name)
    if not isinstance(value, str) or not is_supported_currency(value):
        raise _bad(name, "must be a supported ISO 4217 currency code such as USD")
    return value


def country(body: dict[str, Any], name: str) -> str | None:
    """An optional ISO 3166-1 alpha-2 code field: two uppercase ASCII letters."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, str) or re.fullmatch(r"[A-Z]{2}", value) is None:
        raise _bad(name, "must be an ISO 3166-1 alpha-2 code such as US")
    return value


def _bad(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"invalid request: {name}: {message}", details=[FieldProblem(name, message)])
