"""Correct servers the suite must not accuse, but that a careless suite would trip over.

* ``strict_parameters``: the mock answering 400 to every query parameter the contract does not document
  for the operation (the contract allows a server to refuse unknown parameters). Request bodies are as strict
  already: every body schema is closed (``additionalProperties: false``) and the mock rejects an unknown
  property. Each refusal is noted at ``GET /__mutant/log`` (method, path, the parameters, and whether
  Schemathesis generated the request: its negative cases add unknown parameters on purpose), so a test can
  prove that nothing the suite sends of its own carries an undocumented parameter.
* ``empty_second_entity``: the demo data, but the second entity (Other Co) holds its customers only: no
  plans, quotes, orders or subscriptions (customers come from outside the Sales API, which cannot create
  them). A cross-entity rule finds nothing of theirs to probe unless the run creates it there.
* ``bare_second_entity``: the second entity holds nothing at all, not even a customer: not even a run that
  may write can give the cross-entity rules something to bite on there.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from catalog import OTHER_ENTITY, Exchange, Mutant

from mock_server.resources import fixture_path, spec_path

METHODS = ("get", "post", "put", "patch", "delete")


@cache
def documented_queries() -> list[tuple[str, re.Pattern[str], frozenset[str]]]:
    """``(method, path pattern, documented query parameters)`` of every operation of the contract."""
    raw = yaml.safe_load(spec_path().read_text(encoding="utf-8"))
    shared = raw.get("components", {}).get("parameters", {})
    found = []
    for template, item in raw["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "/?$")
        for method in METHODS:
            if method not in item:
                continue
            names = set()
            for parameter in [*item.get("parameters", []), *item[method].get("parameters", [])]:
                if "$ref" in parameter:
                    parameter = shared[parameter["$ref"].rsplit("/", 1)[-1]]
                if parameter["in"] == "query":
                    names.add(parameter["name"])
            found.append((method.upper(), pattern, frozenset(names)))
    return found


def undocumented(method: str, path: str, query: str) -> list[str]:
    """The parameters of the query string ``query`` that the operation of ``method path`` does not document
    (none for a path the contract lacks: routing answers that one)."""
    sent = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
    for wanted, pattern, names in documented_queries():
        if wanted == method and pattern.match(path):
            return sorted(sent - names)
    return []


def refuse_undocumented_parameters(ex: Exchange) -> None:
    """A strict framework: an unknown query parameter is a 400 naming it, before anything else."""
    extra = undocumented(ex.method, ex.path, ex.query_string)
    if extra:
        generated = "x-schemathesis-testcaseid" in ex.headers  # a case Schemathesis generated, not the suite's own
        STRICT.log.append({"method": ex.method, "path": ex.path, "parameters": extra, "generated": generated})
        ex.status = 400
        details = [{"path": name, "message": "not a documented query parameter"} for name in extra]
        ex.body = {"error": f"unknown query parameter(s): {', '.join(extra)}", "details": details}


def _without(*kinds: str) -> Callable[[], str]:
    """A fixture maker: the demo fixtures without the second entity's ``kinds``, written to a file (its path)."""

    def make() -> str:
        fixtures: dict[str, Any] = yaml.safe_load(fixture_path("demo").read_text(encoding="utf-8"))
        for entity in fixtures["entities"]:
            if entity["id"] == OTHER_ENTITY:
                for kind in kinds:
                    entity.pop(kind, None)
        target = Path(tempfile.mkdtemp(prefix="second-entity-")) / "fixtures.yaml"
        target.write_text(yaml.safe_dump(fixtures, sort_keys=False), encoding="utf-8")
        return str(target)

    return make


SALES_DATA = ("plans", "quotes", "orders", "subscriptions")


STRICT = Mutant(
    "strict_parameters",
    "every undocumented query parameter is a 400 (a correct server)",
    on_request=refuse_undocumented_parameters,
)
EMPTY_SECOND_ENTITY = Mutant(
    "empty_second_entity", "the second entity holds customers only (a correct server)", fixtures=_without(*SALES_DATA)
)
BARE_SECOND_ENTITY = Mutant(
    "bare_second_entity",
    "the second entity holds nothing, not even a customer (a correct server)",
    fixtures=_without(*SALES_DATA, "customers"),
)
