"""Schema plumbing for ``spec.py``: inline local ``$ref``s, and refuse keywords the server does not honour."""

from __future__ import annotations

from typing import Any

SCHEMA_KEYWORDS = frozenset(
    """
    type properties required additionalProperties items prefixItems enum const format minimum maximum
    exclusiveMinimum exclusiveMaximum multipleOf minLength maxLength pattern minItems maxItems uniqueItems
    minProperties maxProperties allOf anyOf oneOf not if then else contains minContains maxContains
    propertyNames patternProperties dependentRequired dependentSchemas unevaluatedProperties unevaluatedItems
    title description example examples default readOnly writeOnly deprecated $comment $schema $id
    discriminator externalDocs contentMediaType contentEncoding
    """.split()
)
"""JSON Schema 2020-12 keywords (validation + annotations) the server honours. ``nullable`` (OpenAPI 3.0)
is deliberately absent: in 3.1 write ``type: [string, "null"]``."""

FORMATS = frozenset(
    """
    date date-time time duration email idn-email hostname idn-hostname ipv4 ipv6 uri uri-reference iri
    iri-reference uuid uri-template json-pointer relative-json-pointer regex
    """.split()
)
"""Formats the validator checks. Anything else would be silently unchecked, so it is refused."""

_SUBSCHEMA = ("additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")


def inline_refs(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with every local ``$ref`` (``#/...``) replaced by its target.

    Raises ValueError on a remote ref, a dangling ref or a cycle (recursive schemas are unsupported).
    """

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, trail) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in trail:
                raise ValueError(f"recursive $ref {ref} is not supported")
            target = resolve(_pointer(document, ref), (*trail, ref))
            siblings = {k: resolve(v, trail) for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(target, dict):
                return {**target, **siblings}
            return target
        return {key: resolve(value, trail) for key, value in node.items()}

    resolved: dict[str, Any] = resolve(document, ())
    return resolved


def _pointer(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, not {ref}")
    node: Any = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"dangling $ref {ref}")
        node = node[part]
    return node


def check_schema(schema: Any, where: str) -> None:
    """Raise ValueError naming the first keyword of ``schema`` (recursively) the server does not honour."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise ValueError(f"{where}: a schema must be an object, not {type(schema).__name__}")
    for key, value in schema.items():
        if key.startswith("x-"):
            continue
        if key not in SCHEMA_KEYWORDS:
            raise ValueError(f"{where}: unsupported schema keyword {key!r}")
        if key == "format" and value not in FORMATS:
            raise ValueError(f"{where}: unsupported format {value!r} (it would not be checked)")
        if key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            raise ValueError(f"{where}: {key} must be a number in OpenAPI 3.1 (boolean is the 3.0 form)")
    for key in _SUBSCHEMA:
        if isinstance(schema.get(key), dict):
            check_schema(schema[key], f"{where}/{key}")
    for key in _SUBSCHEMA_LISTS:
        for i, sub in enumerate(schema.get(key, []) or []):
            check_schema(sub, f"{where}/{key}/{i}")
    for key in _SUBSCHEMA_MAPS:
        for name, sub in (schema.get(key) or {}).items():
            check_schema(sub, f"{where}/{key}/{name}")
