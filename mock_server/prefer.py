"""``Prefer: code=NNN`` and ``Prefer: example=NAME``: answer a Sales API request with a documented response.

For frontends that need to render error states: the answer is the spec's response for that status
(its named or first example, else the schema's example, else ``{"error": <the response's
description>}`` for an error, else a body synthesized from the schema), sent without running the
operation, so no state changes. A code or example the operation does not document is a 400 that
lists what it does document. Requests that do not match a spec operation pass through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.journal import note_for

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PARAM = re.compile(r"\\\{[^}]+\\\}")


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


def deref(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (``#/...``) until ``node`` is not a reference."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


class OperationIndex:
    """The spec's operations: resolve (method, path) to an operationId; look up responses."""

    def __init__(self, spec: dict[str, Any], base_path: str = "") -> None:
        self.spec = spec
        self._routes: list[tuple[str, re.Pattern[str], str]] = []
        self.operations: dict[str, dict[str, Any]] = {}
        for template, item in (spec.get("paths") or {}).items():
            pattern = re.compile("^" + _PARAM.sub("[^/]+", re.escape(base_path + template)) + "$")
            for method in _METHODS:
                operation = item.get(method) if isinstance(item, dict) else None
                if isinstance(operation, dict) and operation.get("operationId"):
                    self._routes.append((method.upper(), pattern, operation["operationId"]))
                    self.operations[operation["operationId"]] = operation
        # literal segments first, so /quotes/search wins over /quotes/{id}
        self._routes.sort(key=lambda route: route[1].pattern.count("[^/]+"))

    def resolve(self, method: str, path: str) -> str | None:
        """The operationId for a request, or None when no operation matches."""
        for route_method, pattern, operation_id in self._routes:
            if route_method == method.upper() and pattern.match(path):
                return operation_id
        return None

    def responses(self, operation_id: str) -> dict[str, dict[str, Any]]:
        """Status key (``"200"``, ``"4XX"``, ``"default"``) to the dereferenced response object."""
        raw = self.operations[operation_id].get("responses") or {}
        return {str(code): deref(self.spec, response) for code, response in raw.items()}


def _media(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content") or {}
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    return media if isinstance(media, dict) else {}


def synthesize(spec: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """A small value that fits ``schema``: its example, else built from type, format and required fields."""
    schema = deref(spec, schema)
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
            return synthesize(spec, schema[key][0], depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: synthesize(spec, props.get(name, {}), depth + 1) for name in schema.get("required", [])}
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


class PreferError(Exception):
    """The preference cannot be honoured (answered 400)."""


def _pick_code(responses: dict[str, Any], code: str, operation_id: str) -> str:
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


def choose(index: OperationIndex, operation_id: str, prefs: dict[str, str]) -> tuple[int, Any]:
    """(status, body) for the preferences; body None means no content. Raises :class:`PreferError`."""
    responses = index.responses(operation_id)
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
    return status, _body(index.spec, responses[key], status, name)


def _body(spec: dict[str, Any], response: dict[str, Any], status: int, name: str | None) -> Any:
    media = _media(response)
    if media is None:
        return None
    examples = media.get("examples") or {}
    if name is not None:
        return deref(spec, examples[name]).get("value")
    if "example" in media:
        return media["example"]
    if examples:
        return deref(spec, next(iter(examples.values()))).get("value")
    schema = deref(spec, media.get("schema", {}))
    if status >= 400 and not (isinstance(schema, dict) and (schema.get("example") or schema.get("examples"))):
        return {"error": str(response.get("description") or f"status {status}")}
    return synthesize(spec, schema)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class PreferMiddleware:
    """Answers Sales API requests that carry ``Prefer: code=`` or ``Prefer: example=`` from the spec."""

    def __init__(self, app: ASGIApp, index: OperationIndex, resolve: Callable[[str, str], str | None]) -> None:
        self.app = app
        self.index = index
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = _header(scope, b"prefer") if scope["type"] == "http" else None
        prefs = parse_prefer(header) if header else {}
        operation_id = self.resolve(str(scope["method"]), str(scope["path"])) if prefs else None
        if operation_id is None or not ({"code", "example"} & set(prefs)):
            await self.app(scope, receive, send)
            return
        note_for(scope).operation_id = operation_id
        await self._answer(operation_id, prefs)(scope, receive, send)

    def _answer(self, operation_id: str, prefs: dict[str, str]) -> Response:
        try:
            status, body = choose(self.index, operation_id, prefs)
        except PreferError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        applied = ", ".join(f"{k}={prefs[k]}" for k in ("code", "example") if k in prefs)
        headers = {"Preference-Applied": applied}
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="axiomatic-sales"'
        if body is None or status in (204, 304):
            return Response(status_code=status, headers=headers)
        return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)
