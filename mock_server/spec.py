"""Load ``openapi/sales.yaml`` once, index its operations and compile every validator at start.

The spec drives the server: routing (404/405), parameter coercion and validation, request body
validation and (optionally) response validation all come from it. Anything the server cannot
honour (an unsupported schema keyword, a parameter style it does not parse) is a ``SpecError``
at start-up, never a silent skip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import jsonschema_rs

from mock_server.domain.errors import FieldProblem
from mock_server.domain.periods import parse_date
from mock_server.errors import BadRequest, MethodNotAllowed, RouteNotFound
from mock_server.memo import DEFAULT_LIMIT, Memo, MemoTable
from mock_server.spec_schema import check_schema, inline_refs

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCALAR_COERCE = {"integer", "number", "boolean", "string"}
ACCEPTED_CACHE = DEFAULT_LIMIT
"""Valid raw values each parameter remembers (``Parameter.accepted``), and valid queries each
operation remembers (``Operation.valid_queries``): tables of the spec's ``Memo``."""
ACCEPTED_LENGTH = 128
"""Longest raw value a parameter remembers (UUIDs, numbers and enum values are far shorter)."""
QUERY_LENGTH = 256
"""Longest query (names and values) an operation remembers."""
DATE_RANGE = "0001-01-01..9999-12-31"
"""The dates the server can hold: ``format: date`` accepts only these (RFC 3339 alone would allow year 0000)."""
_DATE_SHAPE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_date(text: str) -> bool:
    """``format: date``: ``YYYY-MM-DD``, a real day of the calendar, within :data:`DATE_RANGE`."""
    if _DATE_SHAPE.fullmatch(text) is None:
        return False
    try:
        parse_date(text)
    except ValueError:  # 0000-01-01, 2025-02-29, ...
        return False
    return True


FORMATS = {"date": _is_date}
"""Formats the server checks itself instead of the validator's own (which knows nothing of ``DATE_RANGE``)."""


_UNKNOWN: Any = object()


class SpecError(Exception):
    """The spec cannot drive the server; the server refuses to start."""


@dataclass
class Parameter:
    """One query/path/header parameter with its compiled validator."""

    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    validator: Any
    scalar_type: str
    default: Any = None
    has_default: bool = False
    accepted: MemoTable = field(default_factory=lambda: MemoTable("parameter"), repr=False)
    """Raw value -> its coerced value, for values that passed validation (a table of the spec's
    ``Memo``: most requests repeat a few entity ids, page sizes and resource ids)."""

    def check(self, raw: str, found: list[FieldProblem]) -> Any:
        """``raw`` coerced to the parameter's type; its problems are added to ``found``."""
        accepted = self.accepted
        value = accepted.lookup(raw, _UNKNOWN)
        if value is not _UNKNOWN:
            return value
        value = coerce(raw, self.scalar_type)
        if self.schema.get("format") == "uuid" and isinstance(value, str):
            value = value.lower()  # UUIDs compare case-insensitively; ids are stored lower-case
        if not self.validator.is_valid(value):  # the common case needs no error iterator
            found.extend(FieldProblem(self.name, p.message) for p in problems(self.validator, value))
            return value
        if len(raw) <= ACCEPTED_LENGTH:  # a flood of long values cannot fill memory
            accepted.remember(raw, value)
        return value


@dataclass
class Operation:
    """One operation of the spec, with everything compiled that a request needs."""

    operation_id: str
    method: str
    path: str
    parameters: list[Parameter]
    body_validator: Any | None
    body_required: bool
    responses: dict[str, Any | None] = field(default_factory=dict)
    """Status code (``"200"``, ``"4XX"``, ``"default"``) -> JSON body validator (None: no body)."""
    response_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Status code -> the response object itself (``$ref``s inlined), for ``Prefer`` answers."""
    valid_queries: MemoTable = field(default_factory=lambda: MemoTable("queries"), repr=False)
    """Query (name, value) pairs that passed validation -> the query parameters they give (a table
    of the spec's ``Memo``: clients repeat the same few queries)."""
    path_and_header: tuple[Parameter, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        self.path_and_header = tuple(p for p in self.parameters if p.location != "query")

    def response_validator(self, status: int) -> tuple[bool, Any | None]:
        """(documented?, validator) for an answer with ``status``."""
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                return True, self.responses[key]
        return False, None


@dataclass
class PathEntry:
    """One path of the spec: its segments (``/``-separated), literal or a parameter name."""

    template: str
    literals: tuple[tuple[int, str], ...]
    """(position, text) of every literal segment."""
    names: tuple[tuple[int, str], ...]
    """(position, parameter name) of every templated segment (``{name}``)."""
    operations: dict[str, Operation]

    def bind(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters when ``parts`` (a path split at ``/`` whose literal segments are this
        template's) fills every parameter, else None. A parameter is one whole, non-empty segment."""
        params = {name: parts[position] for position, name in self.names}
        if not all(params.values()):
            return None
        return params


@dataclass
class Spec:
    """The loaded spec: the raw document (for serving), operations by id, and the path table."""

    path: Path
    document: dict[str, Any]
    yaml_text: str
    operations: dict[str, Operation]
    paths: list[PathEntry]
    """Literal paths before templated ones (``/a/new`` before ``/a/{id}``), then by template."""
    _routes: dict[int, list[tuple[Callable[[list[str]], Any], dict[Any, list[PathEntry]]]]] = field(
        default_factory=dict, init=False, repr=False
    )
    """Segment count -> [(a request's segments at the literal positions of some templates, those
    segments' texts -> the templates)]: a request path is looked up, not matched against every template."""
    memo: Memo = field(default_factory=Memo, init=False, repr=False)
    """What validating requests remembers: every operation's and parameter's table, and the
    pipeline's parsed query strings."""

    def __post_init__(self) -> None:
        for operation in self.operations.values():
            operation.valid_queries = self.memo.table(f"{operation.operation_id} queries")
            for param in operation.parameters:
                param.accepted = self.memo.table(f"{operation.operation_id} {param.location} {param.name}")
        tables: dict[tuple[int, tuple[int, ...]], dict[tuple[str, ...], list[PathEntry]]] = {}
        for entry in self.paths:
            length = len(entry.literals) + len(entry.names)
            positions = tuple(position for position, _text in entry.literals)
            texts = tuple(text for _position, text in entry.literals)
            tables.setdefault((length, positions), {}).setdefault(texts, []).append(entry)
        for (length, positions), table in tables.items():
            self._routes.setdefault(length, []).append((_segments_at(positions), table))

    def _candidates(self, path: str) -> list[tuple[PathEntry, dict[str, str]]]:
        """The spec paths ``path`` is an instance of, in the order of ``self.paths``, with their parameters."""
        parts = path.split("/")
        found: list[PathEntry] = []
        for literal_segments, table in self._routes.get(len(parts), ()):
            found += table.get(literal_segments(parts), ())
        if len(found) > 1:
            found.sort(key=self.paths.index)
        bound = []
        for entry in found:
            params = entry.bind(parts)
            if params is not None:
                bound.append((entry, params))
        return bound

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for ``method path`` and its raw path parameters; 404/405 ``HttpError`` otherwise."""
        candidates = self._candidates(path)
        wanted = method.lower()
        for entry, params in candidates:
            operation = entry.operations.get(wanted)
            if operation is not None:
                return operation, params
        if candidates:
            allowed = sorted({m.upper() for entry, _params in candidates for m in entry.operations})
            raise MethodNotAllowed(f"method {method} is not allowed on {path}", allowed)
        raise RouteNotFound(f"no such path: {path}")

    def resolve(self, method: str, path: str) -> str | None:
        """The operationId of ``method path``, or None when it is no spec operation."""
        wanted = method.lower()
        for entry, _params in self._candidates(path):
            operation = entry.operations.get(wanted)
            if operation is not None:
                return operation.operation_id
        return None


def load_spec(path: Path) -> Spec:
    """Load, check and compile the spec at ``path`` (cached by path and modification time)."""
    try:
        stat = path.stat()
    except OSError as error:
        raise SpecError(f"cannot read the spec {path}: {error.strerror}") from None
    return _load_cached(str(path), stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _load_cached(path: str, _mtime: int) -> Spec:
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(text, Loader=loader)
    except yaml.YAMLError as error:
        raise SpecError(f"the spec {path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise SpecError(f"the spec {path} has no paths")
    try:
        resolved = inline_refs(document)
    except ValueError as error:
        raise SpecError(f"the spec {path}: {error}") from None
    operations, entries = _index(resolved)
    return Spec(path=Path(path), document=document, yaml_text=text, operations=operations, paths=entries)


def _index(resolved: dict[str, Any]) -> tuple[dict[str, Operation], list[PathEntry]]:
    operations: dict[str, Operation] = {}
    entries: list[PathEntry] = []
    for template, item in resolved["paths"].items():
        shared = item.get("parameters", [])
        by_method: dict[str, Operation] = {}
        for method in METHODS:
            if method not in item:
                continue
            raw = item[method]
            operation_id = raw.get("operationId")
            if not operation_id:
                raise SpecError(f"{method.upper()} {template} has no operationId")
            if operation_id in operations:
                raise SpecError(f"operationId {operation_id} is used twice")
            operation = _compile_operation(operation_id, method, template, raw, shared)
            operations[operation_id] = by_method[method] = operation
        entries.append(_path_entry(template, by_method))
    # Literal segments win over templated ones (e.g. /a/new before /a/{id}).
    entries.sort(key=lambda e: (e.template.count("{"), e.template))
    return operations, entries


def _segments_at(positions: tuple[int, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """A function giving the tuple of a split path's segments at ``positions`` (at least one)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda parts: (parts[only],)
    return itemgetter(*positions)


def _path_entry(template: str, operations: dict[str, Operation]) -> PathEntry:
    literals: list[tuple[int, str]] = []
    names: list[tuple[int, str]] = []
    for position, segment in enumerate(template.split("/")):
        if segment.startswith("{") and segment.endswith("}") and segment.count("{") == 1:
            names.append((position, segment[1:-1]))
        elif "{" in segment or "}" in segment:
            raise SpecError(f"path {template}: a path parameter must be a whole segment ({segment})")
        else:
            literals.append((position, segment))
    return PathEntry(template, tuple(literals), tuple(names), operations)


def _compile(schema: Any, where: str) -> Any:
    try:
        check_schema(schema, where)
    except ValueError as error:
        raise SpecError(str(error)) from None
    try:
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=True, formats=FORMATS)
    except Exception as error:  # the Rust side raises ValueError subclasses with a message
        raise SpecError(f"{where}: invalid schema: {error}") from None


def _compile_operation(
    operation_id: str, method: str, template: str, raw: dict[str, Any], shared: list[dict[str, Any]]
) -> Operation:
    where = f"{operation_id} ({method.upper()} {template})"
    merged = {(p["in"], p["name"]): p for p in [*shared, *raw.get("parameters", [])]}
    parameters = [_compile_parameter(p, where) for p in merged.values() if p["in"] != "cookie"]
    body_validator, body_required = None, False
    body = raw.get("requestBody")
    if body is not None:
        content = body.get("content", {})
        if "application/json" not in content:
            raise SpecError(f"{where}: request body must be application/json")
        body_validator = _compile(content["application/json"].get("schema", {}), f"{where} request body")
        body_required = bool(body.get("required", False))
    responses: dict[str, Any | None] = {}
    for status, response in raw.get("responses", {}).items():
        content = (response or {}).get("content") or {}
        schema = content.get("application/json", {}).get("schema") if content else None
        responses[str(status)] = _compile(schema, f"{where} response {status}") if schema is not None else None
    objects = {str(status): response or {} for status, response in raw.get("responses", {}).items()}
    return Operation(operation_id, method, template, parameters, body_validator, body_required, responses, objects)


def _compile_parameter(raw: dict[str, Any], where: str) -> Parameter:
    name, location = raw["name"], raw["in"]
    schema = raw.get("schema")
    if not isinstance(schema, dict):
        raise SpecError(f"{where}: parameter {name} has no schema (content-typed parameters are unsupported)")
    types = schema.get("type", "string")
    candidates = [t for t in (types if isinstance(types, list) else [types]) if t != "null"]
    scalar = candidates[0] if candidates else "string"
    if scalar not in _SCALAR_COERCE:
        raise SpecError(f"{where}: parameter {name} has type {scalar}; only scalar parameters are supported")
    return Parameter(
        name=name,
        location=location,
        required=bool(raw.get("required", location == "path")),
        schema=schema,
        validator=_compile(schema, f"{where} parameter {name}"),
        scalar_type=scalar,
        default=schema.get("default"),
        has_default="default" in schema,
    )


def coerce(value: str, scalar_type: str) -> Any:
    """A query/path/header string as the parameter's schema type, or unchanged if it does not parse
    (then the validator reports the type error)."""
    if scalar_type == "integer" and re.fullmatch(r"[+-]?\d{1,30}", value):
        return int(value)
    if scalar_type == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if scalar_type == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def problems(validator: Any, instance: Any, prefix: str = "") -> list[FieldProblem]:
    """Every schema violation of ``instance`` as ``FieldProblem`` with a path like ``lines/0/quantity``."""
    found: list[FieldProblem] = []
    for error in validator.iter_errors(instance):
        base = [prefix] if prefix else []
        base += [str(p) for p in error.instance_path]
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            found.append(FieldProblem("/".join([*base, str(kind.property)]), "is required"))
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            found.extend(FieldProblem("/".join([*base, str(n)]), "is not an allowed field") for n in kind.unexpected)
        elif isinstance(kind, _ALTERNATIVES):
            found.append(FieldProblem("/".join(base), _alternatives(kind, prefix)))
        else:
            message = _message(error)
            found.append(FieldProblem("/".join(base), message if len(message) <= 300 else message[:300] + "..."))
    return found


def _message(error: Any) -> str:
    """The validator's message, or the server's own for a date it cannot hold."""
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Format) and kind.format == "date":
        return f"must be a date YYYY-MM-DD within {DATE_RANGE} (got {str(error.instance)[:40]!r})"
    return str(error.message)


_ALTERNATIVES = (jsonschema_rs.ValidationErrorKind.AnyOf, jsonschema_rs.ValidationErrorKind.OneOfNotValid)


def _alternatives(kind: Any, prefix: str) -> str:
    """What each branch of a failed ``anyOf``/``oneOf`` lacks, instead of the validator's dump of the
    whole instance: ``fits none of the allowed forms: (1) quoteId is required; (2) ...``."""
    forms = []
    for branch in kind.context:
        parts = []
        for sub in branch:
            path = "/".join([prefix] * bool(prefix) + [str(p) for p in sub.instance_path])
            sub_kind = sub.kind
            if isinstance(sub_kind, jsonschema_rs.ValidationErrorKind.Required):
                parts.append(f"{'/'.join([path] * bool(path) + [str(sub_kind.property)])} is required")
            elif isinstance(sub_kind, jsonschema_rs.ValidationErrorKind.FalseSchema):
                parts.append(f"{path} is not allowed")
            elif isinstance(sub_kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
                # a closed form names the other form's fields: "quoteId is not allowed"
                parts.extend(f"{'/'.join([path] * bool(path) + [str(n)])} is not allowed" for n in sub_kind.unexpected)
            else:
                parts.append(f"{path}: {_message(sub)}" if path else _message(sub))
        forms.append(", ".join(parts))
    message = "fits none of the allowed forms: " + "; ".join(f"({n}) {form}" for n, form in enumerate(forms, 1))
    return message if len(message) <= 300 else message[:300] + "..."


def validate_parameters(
    operation: Operation, path_params: dict[str, str], query: Sequence[tuple[str, str]], headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(path params, query params) coerced to their types with defaults; ``BadRequest`` naming every bad one.

    A parameter given more than once is an error; undeclared query parameters are ignored. A query
    that passed before (``Operation.valid_queries``) leaves only the path and header parameters to check.
    """
    pairs = query if isinstance(query, tuple) else tuple(query)
    known = operation.valid_queries.lookup(pairs)
    if known is not None:
        found: list[FieldProblem] = []
        path_out, _query_out = _check(operation.path_and_header, path_params, {}, set(), headers, found)
        if not found:
            return path_out, dict(known)
    given = dict(query)
    repeated: set[str] = set()
    if len(given) != len(query):  # some name is given more than once
        seen: set[str] = set()
        for key, _value in query:
            (repeated if key in seen else seen).add(key)
        given = {key: value for key, value in reversed(query)}  # the first value counts
    found = []
    path_out, query_out = _check(operation.parameters, path_params, given, repeated, headers, found)
    if found:
        raise BadRequest(_summary(found), details=found)
    if sum(len(name) + len(value) for name, value in pairs) <= QUERY_LENGTH:  # bounded memory
        operation.valid_queries.remember(pairs, query_out)
    return path_out, dict(query_out)


def _check(
    parameters: Sequence[Parameter],
    path_params: dict[str, str],
    given: dict[str, str],
    repeated: set[str],
    headers: dict[str, str],
    found: list[FieldProblem],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(path, query) values of ``parameters``, with defaults; their problems are added to ``found``."""
    path_out: dict[str, Any] = {}
    query_out: dict[str, Any] = {}
    for param in parameters:
        location = param.location
        if location == "path":
            raw = path_params.get(param.name)
        elif location == "header":
            raw = headers.get(param.name.lower())
        else:
            raw = given.get(param.name)
            if raw is not None and param.name in repeated:
                found.append(FieldProblem(param.name, "is given more than once"))
        out = path_out if location == "path" else query_out if location == "query" else None
        if raw is None:
            if param.required:
                found.append(FieldProblem(param.name, "is required"))
            elif param.has_default and out is not None:
                out[param.name] = param.default
            continue
        value = param.check(raw, found)
        if out is not None:
            out[param.name] = value
    return path_out, query_out


def validate_body(operation: Operation, body: Any, present: bool) -> None:
    """``BadRequest`` naming every field of ``body`` that breaks the operation's request schema."""
    if operation.body_validator is None:
        if present:
            raise BadRequest("this operation takes no request body")
        return
    if not present:
        if operation.body_required:
            raise BadRequest("a JSON request body is required", details=[FieldProblem("body", "is required")])
        return
    try:
        found = [] if operation.body_validator.is_valid(body) else problems(operation.body_validator, body)
    except (ValueError, OverflowError):
        raise BadRequest("the request body cannot be validated: a number out of range or nesting too deep") from None
    if found:
        raise BadRequest(_summary(found), details=found)


def _summary(found: list[FieldProblem]) -> str:
    first = found[0]
    where = f"{first.path}: " if first.path else ""
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"invalid request: {where}{first.message}{more}"
