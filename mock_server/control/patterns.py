"""Request patterns in WireMock's vocabulary, shared by stubs and journal verification.

A pattern is a JSON object with any of::

    {"method": "POST" | "ANY",
     "urlPath": "/api/sales/quotes" | "urlPathPattern": "<regex, whole path>",
     "operationId": "createQuote", "entityId": "<uuid>",
     "queryParameters": {"status": {"equalTo": "draft"} | {"matches": "<regex>"}},
     "bodyPatterns": [{"equalToJson": {...}}, {"contains": "text"},
                      {"matchesJsonPath": "$.lines[0].sku"}
                      | {"matchesJsonPath": {"expression": "$.currency", "equalTo": "EUR"}}]}

Every given field must match. :func:`parse_pattern` checks a pattern (400 naming the field);
:meth:`RequestPattern.differences` says what differs, for near-miss reports. Regular expressions
are at most :data:`MAX_REGEX` characters and are matched against the whole path or value.

JSONPath is a small subset: ``$``, ``.name``, ``['name']``, ``[n]`` (negative counts from the end)
and ``[*]``; a path matches when it selects at least one value (and, with ``equalTo``, one of the
values equals it: a string is compared with a string value's text, anything else by JSON value).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from mock_server.domain.errors import FieldProblem, InvalidInput

MAX_REGEX = 500
MAX_TEXT = 64 * 1024
MAX_PATTERNS = 20
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
PATTERN_FIELDS = {"method", "urlPath", "urlPathPattern", "operationId", "entityId", "queryParameters", "bodyPatterns"}
WHOLE_URL_FIELDS = frozenset({"url", "urlPattern"})
"""WireMock's matchers of the path and query together: the mock matches them apart."""
_MISSING = object()


def bad(name: str, message: str) -> InvalidInput:
    """A 400 naming the field."""
    return InvalidInput(f"invalid request: {name}: {message}", details=[FieldProblem(name, message)])


def query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    """``parse_qsl(query, keep_blank_values=True)``; a query without escapes or ``+`` (nearly every
    one) is split directly, which is several times faster."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    return [(name, value) for name, _, value in (part.partition("=") for part in text.split("&") if part)]


@dataclass(frozen=True)
class Observed:
    """What a pattern is matched against: one request, as the pipeline or the journal saw it."""

    method: str
    path: str
    query: bytes
    operation_id: str | None
    entity_id: str | None
    body: bytes

    def query_pairs(self) -> list[tuple[str, str]]:
        return query_pairs(self.query)

    def json_body(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return _MISSING


@dataclass(frozen=True)
class ValuePattern:
    """``{"equalTo": text}`` or ``{"matches": regex}``."""

    equal_to: str | None = None
    regex: re.Pattern[str] | None = None

    def test(self, value: str) -> bool:
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return value == self.equal_to

    def describe(self) -> str:
        return f"matches {self.regex.pattern!r}" if self.regex is not None else f"equals {self.equal_to!r}"


@dataclass(frozen=True)
class BodyPattern:
    """One of ``equalToJson``, ``contains`` or ``matchesJsonPath`` (with an optional ``equalTo``)."""

    kind: str
    value: Any
    path: tuple[str | int, ...] = ()

    def test(self, observed: Observed) -> bool:
        if self.kind == "contains":
            return str(self.value) in observed.body.decode("utf-8", "replace")
        parsed = observed.json_body()
        if parsed is _MISSING:
            return False
        if self.kind == "equalToJson":
            return bool(parsed == self.value)
        found = select(parsed, self.path)
        if self.value is _MISSING:
            return bool(found)
        return any(_same(item, self.value) for item in found)

    def describe(self) -> str:
        if self.kind == "matchesJsonPath":
            path = _path_text(self.path)
            return f"matchesJsonPath {path}" + ("" if self.value is _MISSING else f" equalTo {self.value!r}")
        return f"{self.kind} {json.dumps(self.value)[:200]}"


def _same(item: Any, expected: Any) -> bool:
    if isinstance(expected, str) and not isinstance(item, str):
        return json.dumps(item) == expected
    return bool(item == expected)


@dataclass(frozen=True)
class RequestPattern:
    """A parsed pattern; every field None/empty means "any"."""

    method: str | None = None
    url_path: str | None = None
    url_regex: re.Pattern[str] | None = None
    operation_id: str | None = None
    entity_id: str | None = None
    query: dict[str, ValuePattern] = field(default_factory=dict)
    body: tuple[BodyPattern, ...] = ()

    def matches(self, observed: Observed) -> bool:
        """True when every given field matches (stops at the first difference)."""
        return not self.differences(observed, first_only=True)

    def differences(self, observed: Observed, *, first_only: bool = False) -> list[str]:
        """What differs between the pattern and ``observed``, one line per field."""
        found: list[str] = []
        if self.method not in (None, "ANY") and observed.method != self.method:
            found.append(f"method: expected {self.method}, got {observed.method}")
            if first_only:
                return found
        if self.url_path is not None and observed.path != self.url_path:
            found.append(f"urlPath: expected {self.url_path}, got {observed.path}")
        elif self.url_regex is not None and self.url_regex.fullmatch(observed.path) is None:
            found.append(f"urlPathPattern: {self.url_regex.pattern!r} does not match {observed.path}")
        if found and first_only:
            return found
        if self.operation_id is not None and observed.operation_id != self.operation_id:
            found.append(f"operationId: expected {self.operation_id}, got {observed.operation_id}")
        if self.entity_id is not None and observed.entity_id != self.entity_id:
            found.append(f"entityId: expected {self.entity_id}, got {observed.entity_id}")
        if found and first_only:
            return found
        if self.query:
            given: dict[str, list[str]] = {}
            for name, value in observed.query_pairs():
                given.setdefault(name, []).append(value)
            for name, want in self.query.items():
                values = given.get(name, [])
                if not any(want.test(v) for v in values):
                    found.append(f"queryParameters.{name}: expected a value that {want.describe()}, got {values}")
                    if first_only:
                        return found
        for i, pattern in enumerate(self.body):
            if not pattern.test(observed):
                found.append(f"bodyPatterns[{i}]: {pattern.describe()} does not match the body")
                if first_only:
                    return found
        return found


def compile_regex(value: Any, name: str) -> re.Pattern[str]:
    """A regular expression of at most :data:`MAX_REGEX` characters (400 otherwise)."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_REGEX:
        raise bad(name, f"must be a regular expression of 1..{MAX_REGEX} characters")
    try:
        return re.compile(value)
    except (re.error, RecursionError, OverflowError) as error:
        raise bad(name, f"is not a valid regular expression: {error}") from None


def parse_pattern(raw: Any, where: str = "request", allowed: set[str] | None = None) -> RequestPattern:
    """A :class:`RequestPattern` from its JSON form; 400 naming the first problem."""
    if not isinstance(raw, dict):
        raise bad(where, "must be a JSON object")
    extra = sorted(set(raw) - (allowed or PATTERN_FIELDS))
    if extra:
        if extra[0] in WHOLE_URL_FIELDS:
            raise bad(f"{where}.{extra[0]}", "is not supported: give urlPath or urlPathPattern, and queryParameters")
        raise bad(f"{where}.{extra[0]}", "is not an allowed field")
    nulls = sorted(name for name, value in raw.items() if value is None)
    if nulls:
        raise bad(f"{where}.{nulls[0]}", "must not be null (leave it out)")
    method = raw.get("method")
    if method is not None and (not isinstance(method, str) or method not in METHODS):
        raise bad(f"{where}.method", f"must be one of {sorted(METHODS)}")
    if "urlPath" in raw and "urlPathPattern" in raw:
        raise bad(where, "give urlPath or urlPathPattern, not both")
    url_path = raw.get("urlPath")
    if url_path is not None and (not isinstance(url_path, str) or not url_path.startswith("/") or len(url_path) > 2048):
        raise bad(f"{where}.urlPath", "must be a path starting with / (at most 2048 characters)")
    url_regex = compile_regex(raw["urlPathPattern"], f"{where}.urlPathPattern") if "urlPathPattern" in raw else None
    return RequestPattern(
        method=method,
        url_path=url_path,
        url_regex=url_regex,
        operation_id=_short_text(raw, "operationId", where),
        entity_id=_short_text(raw, "entityId", where),
        query=_query(raw.get("queryParameters"), f"{where}.queryParameters"),
        body=_body_patterns(raw.get("bodyPatterns"), f"{where}.bodyPatterns"),
    )


def _short_text(raw: dict[str, Any], name: str, where: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise bad(f"{where}.{name}", "must be a string of 1..200 characters")
    return value


def _query(raw: Any, where: str) -> dict[str, ValuePattern]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_PATTERNS:
        raise bad(where, f"must be an object of at most {MAX_PATTERNS} parameters")
    found: dict[str, ValuePattern] = {}
    for name, spec in raw.items():
        here = f"{where}.{name}"
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("equalTo", "matches"):
            raise bad(here, 'must be {"equalTo": "text"} or {"matches": "regex"}')
        if "matches" in spec:
            found[name] = ValuePattern(regex=compile_regex(spec["matches"], f"{here}.matches"))
        elif isinstance(spec["equalTo"], str) and len(spec["equalTo"]) <= MAX_TEXT:
            found[name] = ValuePattern(equal_to=spec["equalTo"])
        else:
            raise bad(f"{here}.equalTo", "must be a string")
    return found


def _body_patterns(raw: Any, where: str) -> tuple[BodyPattern, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_PATTERNS:
        raise bad(where, f"must be an array of at most {MAX_PATTERNS} patterns")
    found: list[BodyPattern] = []
    for i, spec in enumerate(raw):
        here = f"{where}[{i}]"
        kinds = ("equalToJson", "contains", "matchesJsonPath")
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in kinds:
            raise bad(here, f"must be an object with exactly one of {', '.join(kinds)}")
        kind, value = next(iter(spec.items()))
        if kind == "contains":
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
                raise bad(f"{here}.contains", f"must be a string of 1..{MAX_TEXT} characters")
            found.append(BodyPattern(kind, value))
        elif kind == "equalToJson":
            found.append(BodyPattern(kind, value))
        else:
            found.append(_json_path_pattern(value, f"{here}.matchesJsonPath"))
    return tuple(found)


def _json_path_pattern(value: Any, where: str) -> BodyPattern:
    expected: Any = _MISSING
    if isinstance(value, dict):
        if set(value) - {"expression", "equalTo"} or "expression" not in value:
            raise bad(where, 'must be "$.path" or {"expression": "$.path", "equalTo": value}')
        expected = value.get("equalTo", _MISSING)
        value = value["expression"]
    return BodyPattern("matchesJsonPath", expected, parse_json_path(value, where))


_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\['([^'\\]*)'\]|\[(\*)\]|\.(\*)")


def parse_json_path(text: Any, where: str) -> tuple[str | int, ...]:
    """``$.a.b[0]['c'][*]`` as steps (``"*"`` for every element or member); 400 for anything else."""
    if not isinstance(text, str) or not text.startswith("$") or len(text) > MAX_REGEX:
        raise bad(where, f"must be a JSONPath starting with $ (at most {MAX_REGEX} characters)")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        found = _STEP.match(text, position)
        if found is None:
            raise bad(where, f"unsupported JSONPath at {text[position:]!r}: use .name, ['name'], [n] or [*]")
        name, index, quoted, star, dot_star = found.groups()
        if index is not None:
            steps.append(int(index))
        elif star is not None or dot_star is not None:
            steps.append("*")
        else:
            steps.append(name if name is not None else quoted)
        position = found.end()
    return tuple(steps)


def select(document: Any, steps: tuple[str | int, ...]) -> list[Any]:
    """The values ``steps`` select in ``document``."""
    current = [document]
    for step in steps:
        following: list[Any] = []
        for item in current:
            if step == "*":
                if isinstance(item, list):
                    following.extend(item)
                elif isinstance(item, dict):
                    following.extend(item.values())
            elif isinstance(step, int):
                if isinstance(item, list) and -len(item) <= step < len(item):
                    following.append(item[step])
            elif isinstance(item, dict) and step in item:
                following.append(item[step])
        current = following
    return current


def _path_text(steps: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else ("[*]" if s == "*" else f".{s}") for s in steps)
