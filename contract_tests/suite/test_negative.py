"""Every constraint the contract puts on a request body, violated one at a time, on every write operation.

The base of each case is the operation's first documented example (valid); each variant breaks one
rule the schema states: ``additionalProperties: false``, a required field, a type, an enum, a bound,
a length, a format, a pattern, an item count (also inside line items). A correct server rejects each
with 400 (or 422) and changes nothing, so this runs on read-only targets too; anything a broken
server accepts is remembered and cleaned up. Operations on one resource use an id that does not
exist: validation comes first in the contract, but a server that looks the id up first (404) is
not accused of accepting the body.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import yaml

from contract_tests.client import SalesApi
from contract_tests.target import API_PREFIX, spec_path

Json = dict[str, Any]
REJECTED = (400, 422)
WRONG_TYPE = {"string": 12345, "integer": "7", "number": "7.5", "boolean": "yes", "array": {"a": 1}, "object": [1]}
BAD_FORMAT = {"date": "2025-02-30", "date-time": "yesterday", "uuid": "not-a-uuid", "email": "no at sign"}


@cache
def spec() -> Json:
    loaded: Json = yaml.safe_load(spec_path().read_text())
    return loaded


def resolve(node: Any) -> Any:
    """Follow local ``$ref`` and merge ``allOf`` (one level is what the contract uses)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    if isinstance(node, dict) and "allOf" in node:
        merged: Json = {"type": "object", "properties": {}, "required": []}
        for part in node["allOf"]:
            part = resolve(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
            if part.get("additionalProperties") is False:
                merged["additionalProperties"] = False
        return merged
    return node


def write_operations() -> list[tuple[str, str, str, Json, Json]]:
    """``(operationId, method, path, body schema, base body)`` for every operation with a JSON body."""
    found = []
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            media = resolve(operation["requestBody"])["content"]["application/json"]
            examples = media.get("examples") or {}
            base = resolve(next(iter(examples.values())))["value"] if examples else media.get("example")
            found.append((operation["operationId"], method.upper(), path, resolve(media["schema"]), base))
    return found


def violations(schema: Json, base: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """``(what is broken, body)`` for each rule of ``schema`` that ``base`` can be made to break."""
    schema = resolve(schema)
    if not isinstance(base, dict):
        return
    forms = schema.get("oneOf") or schema.get("anyOf")
    if forms:  # a body of one of several closed forms: break the rules of the form the example fits
        fitting = [resolve(form) for form in forms if _fits(resolve(form), base)]
        if fitting:
            yield from violations(fitting[0], base, where)
        return
    properties = {name: resolve(prop) for name, prop in (schema.get("properties") or {}).items()}
    if schema.get("additionalProperties") is False:
        yield f"{where}unknown field (additionalProperties: false)", {**base, "unexpectedField": 1}
    for name in schema.get("required") or []:
        if name in base:
            yield f"{where}{name} missing (required)", {k: v for k, v in base.items() if k != name}
    for name, prop in properties.items():
        for what, value in _bad_values(prop, base.get(name)):
            yield f"{where}{name}: {what}", {**base, name: value}
        items = resolve(prop.get("items") or {})
        if prop.get("type") == "array" and isinstance(base.get(name), list) and base[name] and items.get("properties"):
            for what, item in violations(items, base[name][0], f"{where}{name}[0]."):
                yield what, {**base, name: [item, *base[name][1:]]}


def _fits(form: Json, body: Json) -> bool:
    """Whether ``body`` has every required field of ``form`` and (for a closed form) no other field."""
    properties = form.get("properties") or {}
    closed = form.get("additionalProperties") is False
    return all(name in body for name in form.get("required") or []) and not (closed and set(body) - set(properties))


def _bad_values(prop: Json, current: Any) -> Iterator[tuple[str, Any]]:
    kind = prop.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    main = next((k for k in kinds if k and k != "null"), None)
    if main in WRONG_TYPE:
        yield f"wrong type (not {main})", WRONG_TYPE[main]
    if "enum" in prop:
        yield "not one of the enum", "not-a-documented-value"
    if "minimum" in prop:
        yield f"below minimum {prop['minimum']}", prop["minimum"] - 1
    if "maximum" in prop:
        yield f"above maximum {prop['maximum']}", prop["maximum"] + 1
    if prop.get("minLength", 0) > 0:
        yield f"shorter than minLength {prop['minLength']}", ""
    if "maxLength" in prop:
        yield f"longer than maxLength {prop['maxLength']}", "x" * (prop["maxLength"] + 1)
    if prop.get("format") in BAD_FORMAT:
        yield f"not a {prop['format']}", BAD_FORMAT[prop["format"]]
    if "pattern" in prop and main == "string":
        yield f"does not match {prop['pattern']}", "!! NOT matching"
    if main == "array" and prop.get("minItems", 0) > 0:
        yield f"fewer than minItems {prop['minItems']}", []
    if main == "array" and "maxItems" in prop and isinstance(current, list) and current:
        yield f"more than maxItems {prop['maxItems']}", [copy.deepcopy(current[0])] * (prop["maxItems"] + 1)


OPERATIONS = write_operations()


@pytest.mark.parametrize(
    ("method", "path", "schema", "base"),
    [pytest.param(m, p, s, b, id=op, marks=pytest.mark.sales_ops(op)) for op, m, p, s, b in OPERATIONS],
)
def test_every_request_constraint_is_enforced(api: SalesApi, method: str, path: str, schema: Json, base: Json) -> None:
    cases = list(violations(schema, base))
    assert cases, f"{method} {path}: no constraint to break, is the schema empty?"
    concrete = path.removeprefix(API_PREFIX)
    for name in ("quoteId", "orderId", "planId", "subscriptionId"):
        concrete = concrete.replace("{" + name + "}", str(uuid.uuid4()))
    by_id = concrete != path.removeprefix(API_PREFIX)
    accepted = []
    for what, body in cases:
        response = api.call(method, concrete, json_body=body)
        if 200 <= response.status_code < 300:
            _remember(api, concrete, response)
        ok = response.status_code in REJECTED or (by_id and response.status_code == 404)
        if not ok:
            accepted.append((what, response))
    if accepted:
        what, response = accepted[0]
        others = "; ".join(item[0] for item in accepted[1:6])
        raise api.violation(
            response,
            f"{len(accepted)} schema-invalid request(s) not rejected with 400/422, first: {what}"
            + (f" (also: {others})" if others else ""),
        )


def _remember(api: SalesApi, path: str, response: Any) -> None:
    """A broken server created something from an invalid request: clean it up with the rest."""
    kind = path.strip("/").split("/")[0]
    try:
        created = response.json()
    except ValueError:
        return
    if api.janitor is not None and path.count("/") == 1 and isinstance(created, dict) and "id" in created:
        api.janitor.remember(kind, str(created["id"]))
