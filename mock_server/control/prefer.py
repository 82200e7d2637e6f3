"""``Prefer: code=NNN`` and ``Prefer: example=NAME``: answer a Sales API request with a documented response.

For frontends that need to render error states: the answer is the spec's response for that status
(its named or first example, else the schema's example, else ``{"error": <the response's
description>}`` for an error, else a body synthesized from the schema), sent without running the
operation, so no state changes. A code or example the operation does not document is a 400 that
lists what it does document.

The pipeline consults it only after the request was authenticated, scoped, validated and its
resources found, so a preference never hides a 401/403/400/404 the plain request would get.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server.errors import BadRequest, error_body


def parse_prefer(header: str) -> dict[str, str]:
    """RFC 7240 preferences as ``{name: value}`` (names lower-cased, quotes removed, parameters dropped)."""
    found: dict[str, str] = {}
    for item in header.split(","):
        token = item.split(";", 1)[0].strip()
        if not token:
            continue
        name, _, value = token.partition("=")
        found.setdefault(name.strip().lower(), value.strip().strip('"'))
    return found


def _media(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content") or {}
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    return media if isinstance(media, dict) else {}


def synthesize(schema: Any, depth: int = 0) -> Any:
    """A small value that fits ``schema`` (``$ref``s already inlined): its example, else built from type,
    format and required fields."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("const", "example"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf", "allOf"):
        if schema.get(key):
            return synthesize(schema[key][0], depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: synthesize(props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "string":
        return {"date": "2025-03-01", "date-time": "2025-03-01T00:00:00Z", "uuid": _UUID}.get(
            str(schema.get("format")), "string"
        )
    return None


_UUID = "00000000-0000-4000-8000-000000000000"


class PreferError(BadRequest):
    """The preference cannot be honoured (answered 400)."""


def _pick_code(responses: Mapping[str, Any], code: str, operation_id: str) -> str:
    documented = sorted(k for k in responses if k != "default")
    if not (code.isdigit() and len(code) == 3):
        raise PreferError(
            f"Prefer: code={code} is not an HTTP status; documented for {operation_id}: {', '.join(documented)}"
        )
    if code in responses:
        return code
    if f"{code[0]}XX" in responses:
        return f"{code[0]}XX"
    raise PreferError(f"Prefer: code={code} is not documented for {operation_id}; documented: {', '.join(documented)}")


def _example_names(response: dict[str, Any]) -> list[str]:
    media = _media(response) or {}
    return list((media.get("examples") or {}).keys())


def wanted(prefs: Mapping[str, str]) -> bool:
    """True when the preferences ask for a documented response (``code`` or ``example``)."""
    return "code" in prefs or "example" in prefs


def choose(responses: Mapping[str, Any], operation_id: str, prefs: Mapping[str, str]) -> tuple[int, Any]:
    """(status, body) for the preferences, from the operation's response objects (status key to the
    response object, ``$ref``s inlined); body None means no content. Raises :class:`PreferError`."""
    name = prefs.get("example")
    if "code" in prefs:
        keys = [_pick_code(responses, prefs["code"], operation_id)]
    else:
        keys = [k for k in responses if k != "default"]
    if name is not None:
        keys = [k for k in keys if name in _example_names(responses[k])]
        if not keys:
            names = sorted({n for r in responses.values() for n in _example_names(r)})
            raise PreferError(f"Prefer: example={name} is not documented for {operation_id}; examples: {names}")
    key = keys[0]
    status = int(prefs["code"]) if "code" in prefs else int(key.replace("XX", "00"))
    return status, _body(responses[key], status, name)


def _body(response: dict[str, Any], status: int, name: str | None) -> Any:
    media = _media(response)
    if media is None:
        return None
    examples = media.get("examples") or {}
    if name is not None:
        return examples[name].get("value")
    if "example" in media:
        return media["example"]
    if examples:
        return next(iter(examples.values())).get("value")
    schema = media.get("schema", {})
    if status >= 400 and not (isinstance(schema, dict) and (schema.get("example") or schema.get("examples"))):
        return error_body(str(response.get("description") or f"status {status}"))
    return synthesize(schema)
