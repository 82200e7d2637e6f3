"""The contract as the proxy checks it: operations matched by method and path, validators compiled once.

Written for the proxy from the spec document alone (no code of the mock): local ``$ref``s are
inlined, every JSON schema is compiled with ``jsonschema-rs`` at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
LEAK_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages", "Exception:")
MAX_PROBLEMS_PER_CHECK = 5


@dataclass
class Param:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    validator: Any


@dataclass
class DocumentedResponse:
    """One documented status of an operation: its JSON schema (None: no body) and required headers."""

    validator: Any | None
    content_types: tuple[str, ...]
    required_headers: tuple[str, ...]


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    params: list[Param]
    body_validator: Any | None
    body_required: bool
    responses: dict[str, DocumentedResponse] = field(default_factory=dict)

    def documented(self, status: int) -> DocumentedResponse | None:
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                return self.responses[key]
        return None


@dataclass
class PathItem:
    template: str
    regex: re.Pattern[str]
    operations: dict[str, Operation]


@dataclass
class Match:
    """What a request is in the contract: an operation, a path without that method (405), or nothing (404)."""

    operation: Operation | None
    template: str | None
    allowed: tuple[str, ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)


def _inline(document: dict[str, Any]) -> dict[str, Any]:
    def pointer(ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref}")
        node: Any = document
        for raw in ref[2:].split("/"):
            node = node[raw.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, trail) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in trail:
                raise ValueError(f"recursive $ref {ref} is not supported")
            target = resolve(pointer(ref), (*trail, ref))
            rest = {k: resolve(v, trail) for k, v in node.items() if k != "$ref"}
            return {**target, **rest} if rest and isinstance(target, dict) else target
        return {key: resolve(value, trail) for key, value in node.items()}

    resolved: dict[str, Any] = resolve(document, ())
    return resolved


def _validator(schema: Any) -> Any:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _path_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            pattern += f"(?P<{piece[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(piece)
    return re.compile(f"^{pattern}$")


class Contract:
    """The loaded spec: ``match`` a request, ``request_problems`` and ``response_problems`` of an exchange."""

    def __init__(self, path: Path) -> None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            raise ValueError(f"{path} is not an OpenAPI document with paths")
        resolved = _inline(document)
        self.paths: list[PathItem] = []
        self.operations: dict[str, Operation] = {}
        for template, item in resolved["paths"].items():
            shared = item.get("parameters", [])
            ops: dict[str, Operation] = {}
            for method in METHODS:
                if method in item:
                    op = self._operation(method, template, item[method], shared)
                    ops[method.upper()] = self.operations[op.operation_id] = op
            self.paths.append(PathItem(template, _path_regex(template), ops))
        self.paths.sort(key=lambda p: (p.template.count("{"), p.template))
        self.prefixes = tuple(sorted({"/" + p.template.strip("/").split("/")[0] for p in self.paths}))

    def _operation(self, method: str, template: str, raw: dict[str, Any], shared: list[dict[str, Any]]) -> Operation:
        merged = {(p["in"], p["name"]): p for p in [*shared, *raw.get("parameters", [])]}
        params = [
            Param(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}), _validator(p.get("schema", {})))
            for p in merged.values()
            if p["in"] in ("query", "path")
        ]
        body = raw.get("requestBody") or {}
        schema = (body.get("content") or {}).get("application/json", {}).get("schema")
        responses: dict[str, DocumentedResponse] = {}
        for status, response in (raw.get("responses") or {}).items():
            content = (response or {}).get("content") or {}
            json_schema = content.get("application/json", {}).get("schema")
            headers = tuple(
                name for name, header in ((response or {}).get("headers") or {}).items() if header.get("required")
            )
            responses[str(status)] = DocumentedResponse(
                _validator(json_schema) if json_schema is not None else None, tuple(content), headers
            )
        return Operation(
            raw.get("operationId") or f"{method.upper()} {template}",
            method.upper(),
            template,
            params,
            _validator(schema) if schema is not None else None,
            bool(body.get("required")),
            responses,
        )

    def match(self, method: str, path: str) -> Match:
        allowed: list[str] = []
        template = None
        for item in self.paths:
            found = item.regex.match(path)
            if found is None:
                continue
            op = item.operations.get(method.upper())
            if op is not None:
                return Match(op, item.template, path_params=found.groupdict())
            allowed.extend(item.operations)
            template = template or item.template
        return Match(None, template, tuple(sorted(set(allowed))))

    def covers(self, path: str) -> bool:
        """Is ``path`` under a prefix the contract describes (e.g. ``/api``)? Others are not judged."""
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes)

    # ------------------------------------------------------------------ requests

    def request_problems(self, op: Operation, query: list[tuple[str, str]], body: Any, has_body: bool) -> list[str]:
        """Where the request breaks the contract (the server should then refuse it with a 4xx)."""
        found: list[str] = []
        given = dict(query)
        for param in op.params:
            if param.location != "query":
                continue
            if param.name not in given:
                if param.required:
                    found.append(f"query parameter {param.name} is required")
                continue
            value = _coerce(given[param.name], param.schema)
            for error in list(param.validator.iter_errors(value))[:1]:
                found.append(f"query parameter {param.name}: {error.message}")
        if op.body_validator is not None:
            if not has_body:
                if op.body_required:
                    found.append("the request body is required")
            elif body is _NOT_JSON:
                found.append("the request body is not JSON")
            else:
                found.extend(_schema_problems(op.body_validator, body, "request body"))
        return found

    # ------------------------------------------------------------------ responses

    def response_problems(
        self, match: Match, method: str, status: int, headers: dict[str, str], body: Any, body_bytes: int
    ) -> list[str]:
        """Where the answer breaks the contract: documented status, content type, schema, required headers."""
        op = match.operation
        if op is None:
            return _unrouted_problems(match, method, status, headers, body)
        documented = op.documented(status)
        if documented is None:
            codes = ", ".join(op.responses)
            return [f"status {status} is not documented for {op.operation_id} (documented: {codes})"]
        found: list[str] = []
        for name in documented.required_headers:
            if name.lower() not in headers:
                found.append(f"the {status} answer lacks the required header {name}")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if documented.content_types:
            if content_type not in documented.content_types and method != "HEAD":
                found.append(f"content type {content_type or '(none)'} is not {', '.join(documented.content_types)}")
            elif documented.validator is not None and method != "HEAD":
                if body is _NOT_JSON:
                    found.append("the body is not valid JSON")
                elif body is not _UNCHECKED:
                    found.extend(_schema_problems(documented.validator, body, "response body"))
        elif body_bytes:
            found.append(f"status {status} is documented without a body, but the answer has {body_bytes} bytes")
        if status >= 400 and body not in (_NOT_JSON, _UNCHECKED):
            found.extend(error_body_problems(body))
        return found


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NOT_JSON = _Sentinel("NOT_JSON")
_UNCHECKED = _Sentinel("UNCHECKED")
NOT_JSON: Any = _NOT_JSON
"""A body that is not JSON (the parse failed)."""
UNCHECKED: Any = _UNCHECKED
"""A body too large to keep for checking (streamed through unchecked)."""


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if "number" in kinds:
        try:
            return float(value)
        except ValueError:
            return value
    if "boolean" in kinds and value in ("true", "false"):
        return value == "true"
    return value


def _schema_problems(validator: Any, instance: Any, what: str) -> list[str]:
    if validator.is_valid(instance):
        return []
    found = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(part) for part in error.instance_path) or "(root)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        found.append(f"{what} {where}: {message}")
        if len(found) >= MAX_PROBLEMS_PER_CHECK:
            break
    return found


def error_body_problems(body: Any) -> list[str]:
    """Errors are ``{"error": "<message>"}`` and carry no stack trace or internal name."""
    found = []
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        found.append('an error body must be JSON {"error": "<message>"}')
    text = repr(body)
    leaks = [marker for marker in LEAK_MARKERS if marker in text]
    if leaks:
        found.append(f"the error body leaks internals ({', '.join(leaks)})")
    return found


def _unrouted_problems(match: Match, method: str, status: int, headers: dict[str, str], body: Any) -> list[str]:
    """A request that is no operation: an unknown path must be 404, a known path with another method 405.

    400 is accepted too: a server may refuse a request line it cannot parse (an unknown method, a bad escape)."""
    if status == 400:
        found: list[str] = []
    elif match.template is None:
        if status != 404:
            return [f"{method} of a path the contract does not have must be 404 (or 400), got {status}"]
        found = []
    elif status != 405:
        return [
            f"{method} is not an operation of {match.template} ({', '.join(match.allowed)}): expected 405, got {status}"
        ]
    else:
        found = [] if "allow" in headers else ["the 405 answer lacks the required header Allow"]
    if body not in (_NOT_JSON, _UNCHECKED) and method != "HEAD":
        found.extend(error_body_problems(body))
    elif body is _NOT_JSON:
        found.append('an error body must be JSON {"error": "<message>"}')
    return found
