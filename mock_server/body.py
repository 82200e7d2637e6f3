"""Reading and parsing request bodies: the 1 MiB limit (413), the media type (415), strict JSON (400)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive

from mock_server.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 1024 * 1024
"""Largest accepted request body: 1 MiB."""

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects a JSON body may have (the Sales API's bodies need four levels;
a state document with a stub's answer in it about ten): deeper documents are a 400, never a
``RecursionError`` in whatever walks them later."""


async def read_body(headers: Mapping[str, str], receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body; 413 as soon as ``Content-Length`` or the bytes streamed exceed ``limit``.

    A client that disconnects before the body is complete raises ``ClientDisconnect``: a truncated
    body is never acted on."""
    declared = headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def check_media_type(headers: dict[str, str]) -> None:
    """415 unless the body is declared ``application/json`` (parameters such as charset allowed)."""
    content_type = headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = media_type or "none"
        raise UnsupportedMediaType(f"the request body must be application/json (got {shown})")
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType("the request body must be UTF-8 encoded JSON")


def parse_json(raw: bytes, *, exact_integers: bool = False) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, finite numbers, at most :data:`MAX_DEPTH`
    levels deep. Integral numbers (``2``, ``2.0``, ``2e0``) become ``int`` so money and counts are never
    floats. 400 otherwise.

    ``exact_integers`` (the Sales API, whose numbers are all integers): a number whose text is not
    integral but whose nearest float is (``2.9999999999999999999`` reads as ``3.0``) stays the exact
    ``Decimal``, so the spec's ``type: integer`` refuses it (400 naming the field) instead of the
    server rounding it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not valid UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=_parse_exact if exact_integers else _parse_number,
        )
        if "\\u" in text:
            _reject_lone_surrogates(value)
    except _JsonProblem as problem:
        raise BadRequest(f"malformed JSON: {problem}") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except ValueError:
        raise BadRequest("malformed JSON: a number is too large") from None
    except RecursionError:
        raise BadRequest(_TOO_DEEP) from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):  # only a long text can be deep
        raise BadRequest(_TOO_DEEP)
    return value


_TOO_DEEP = f"malformed JSON: nested deeper than {MAX_DEPTH} levels of arrays and objects"


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests arrays and objects deeper than :data:`MAX_DEPTH` (walked without recursion)."""
    level: list[Any] = [value]
    for _depth in range(MAX_DEPTH):
        deeper: list[Any] = []
        for node in level:
            if type(node) is dict:
                deeper.extend(v for v in node.values() if type(v) is dict or type(v) is list)
            elif type(node) is list:
                deeper.extend(v for v in node if type(v) is dict or type(v) is list)
        if not deeper:
            return False
        level = deeper
    return True


class _JsonProblem(ValueError):
    pass


_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_lone_surrogates(node: Any) -> None:
    """A ``\\ud800``-style escape that is not half of a pair is no Unicode text: reject it."""
    if isinstance(node, str):
        if _SURROGATE.search(node):
            raise _JsonProblem("a \\u escape is a lone surrogate, not a character")
    elif isinstance(node, dict):
        for key, value in node.items():
            _reject_lone_surrogates(key)
            _reject_lone_surrogates(value)
    elif isinstance(node, list):
        for item in node:
            _reject_lone_surrogates(item)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonProblem(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not a JSON number")


def _parse_number(literal: str) -> int | float:
    try:
        number = Decimal(literal)
    except InvalidOperation:
        raise _JsonProblem(f"bad number {literal}") from None
    if number.is_finite() and number.adjusted() <= 30 and number == number.to_integral_value():
        return int(number)
    value = float(literal)
    if not math.isfinite(value) or number.adjusted() > 30:
        raise _JsonProblem(f"number {literal[:40]} is out of range")
    return value


def _parse_exact(literal: str) -> int | float | Decimal:
    """``_parse_number``, except that a number the float would make integral keeps its exact value."""
    value = _parse_number(literal)
    if type(value) is float and value.is_integer():  # integral texts became int: this text is not integral
        return Decimal(literal)
    return value
