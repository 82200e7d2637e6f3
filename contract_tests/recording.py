"""Failure chains with placeholders: the requests behind a violation as the suite records them (``Recording``),
for ``sales-contract replay`` to send again.

Ids that earlier steps created appear as ``{{step2.id}}``, the entity as ``{{entityId}}`` and the
key as ``{{apiKey}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from contract_tests.target import Target

PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_.]+)\}\}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
SENT_HEADERS = ("content-type", "accept", "prefer", "idempotency-key")


@dataclass
class Step:
    """One request of a chain: what was sent (with placeholders) and how the server answered then."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str | None
    status: int
    ids: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "ids"}


OTHER_CREDENTIALS = {"readonly_key": "readonlyKey", "other_entity_id": "otherEntityId", "other_key": "otherKey"}
"""A target's other credentials -> their placeholders in a chain (``{{otherKey}}``): never saved as they are."""


def other_credentials(target: Target) -> dict[str, str]:
    """The values of ``target``'s other credentials -> their placeholder names, for :class:`Recording`."""
    values = {getattr(target, name): placeholder for name, placeholder in OTHER_CREDENTIALS.items()}
    return {value: placeholder for value, placeholder in values.items() if value}


@dataclass
class Recording:
    """Requests as they were sent, turned into a placeholder chain by :meth:`chain`; ``others`` maps the values
    of the target's other credentials (read-only key, second entity and its key) to their placeholder names."""

    entity_id: str
    api_key: str
    others: Mapping[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def add(
        self, method: str, url: str, headers: Mapping[str, Any], body: bytes | str | None, status: int, answer: Any
    ) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        kept = {name.lower(): str(value) for name, value in headers.items() if name.lower() in SENT_HEADERS}
        auth = next((str(v) for k, v in headers.items() if k.lower() == "authorization"), None)
        if auth is not None:
            kept["authorization"] = auth
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        ids = answer_ids(answer) if 200 <= status < 300 else {}
        self.steps.append(Step(method.upper(), parts.path, query, kept, text or None, status, ids))

    def add_httpx(self, response: httpx.Response) -> None:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        request = response.request
        self.add(request.method, str(request.url), request.headers, request.content, response.status_code, answer)

    def chain(self) -> list[dict[str, Any]]:
        """The steps with every id an earlier answer held (created or listed), the entity and the key
        replaced by placeholders: ``{{step2.id}}``, ``{{step1.data.3.id}}``, ``{{entityId}}``, ``{{apiKey}}``."""
        names: dict[str, str] = {}
        out = []
        for index, step in enumerate(self.steps, start=1):
            data = json.loads(json.dumps(step.as_json()))
            out.append(_substitute(data, self._replacements(names)))
            for where, value in step.ids.items():
                names.setdefault(value, f"{{{{step{index}.{where}}}}}")
        return out

    def _replacements(self, names: Mapping[str, str]) -> dict[str, str]:
        found = dict(names)
        found.update({value: f"{{{{{name}}}}}" for value, name in self.others.items()})
        found[self.entity_id] = "{{entityId}}"
        found[self.api_key] = "{{apiKey}}"
        return found


MAX_IDS = 500


def answer_ids(answer: Any) -> dict[str, str]:
    """``{"id": "q1", "data.0.id": "c1", ...}``: where an answer holds ids, by JSON path (bounded)."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if len(found) >= MAX_IDS:
            return
        if isinstance(node, Mapping):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key == "id" and isinstance(value, str) and len(value) >= 8:
                    found[where] = value
                elif isinstance(value, (Mapping, list)):
                    walk(value, where)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}.{index}" if path else str(index))

    walk(answer, "")
    return found


def _substitute(node: Any, replacements: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        for old, new in replacements.items():
            if old:
                node = node.replace(old, new)
        return node
    if isinstance(node, dict):
        return {key: _substitute(value, replacements) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, replacements) for value in node]
    return node


def fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), node)
    if isinstance(node, dict):
        return {key: fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(value, values) for value in node]
    return node


# -- The command ---------------------------------------------------------------------------------
