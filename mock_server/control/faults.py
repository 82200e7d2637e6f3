"""Fault injection for the Sales API: latency (fixed or jittered), an error status, or a dropped connection.

Rules are tried in order; the first rule whose ``operationId`` matches (absent = every Sales API
operation) and whose probability roll succeeds applies: it waits ``latencyMs`` plus a uniform
``0..jitterMs``, then answers ``status`` with an ``{"error"}`` body, or closes the connection
without an answer (``drop``), or, with neither, lets the request through. A ``seed`` makes the
sequence of choices reproducible (every matching rule consumes exactly two random numbers).

An injected error or dropped connection is logged as what it is, one line on the
``mock_server.faults`` logger (level INFO) naming the request, the operation and the rule: a rule
answering 500 is not an internal error, so it gets no traceback (:class:`InjectedFault`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from starlette.types import Send

from mock_server.domain.errors import FieldProblem, InvalidInput
from mock_server.errors import HttpError

_RULE_FIELDS = {"operationId", "latencyMs", "jitterMs", "status", "drop", "probability"}
_MAX_DELAY_MS = 60_000


log = logging.getLogger("mock_server.faults")


class ConnectionDropped(Exception):
    """Raised in-process (no socket to close) when a fault drops the connection."""


class InjectedFault(HttpError):
    """The error answer a fault rule asked for (rendered like any error, never logged as an internal one)."""


@dataclass(frozen=True)
class FaultRule:
    """One rule; times in milliseconds, ``probability`` in [0, 1]."""

    operation_id: str | None = None
    latency_ms: int = 0
    jitter_ms: int = 0
    status: int | None = None
    drop: bool = False
    probability: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """The rule in its API shape, unset fields left out."""
        out: dict[str, Any] = {"latencyMs": self.latency_ms, "jitterMs": self.jitter_ms, "drop": self.drop}
        out["probability"] = self.probability
        if self.operation_id is not None:
            out["operationId"] = self.operation_id
        if self.status is not None:
            out["status"] = self.status
        return out


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: wait ``delay_ms``, then answer ``status`` or drop, or pass."""

    delay_ms: int
    status: int | None
    drop: bool
    rule_index: int

    def injected(self, method: str, path: str, operation_id: str) -> InjectedFault | None:
        """Log the error or dropped connection this decision injects (one line); the error to answer
        (None for a drop or a latency-only rule)."""
        if self.drop:
            log.info(
                "injected fault: %s %s (%s): rule %d dropped the connection",
                method,
                path,
                operation_id,
                self.rule_index,
            )
            return None
        if self.status is None:
            return None
        log.info(
            "injected fault: %s %s (%s): rule %d answered %d", method, path, operation_id, self.rule_index, self.status
        )
        return InjectedFault(f"fault injected by rule {self.rule_index}: status {self.status}", status_code=self.status)


def _int_field(raw: dict[str, Any], name: str, low: int, high: int, where: str, problems: list[FieldProblem]) -> int:
    value = raw.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(FieldProblem(f"{where}/{name}", f"must be an integer in {low}..{high}"))
        return 0
    return value


def parse_rule(raw: Any, where: str, problems: list[FieldProblem]) -> FaultRule | None:
    """A rule from its JSON form, or None with the problems appended (paths start at ``where``)."""
    if not isinstance(raw, dict):
        problems.append(FieldProblem(where, "must be an object"))
        return None
    for name in sorted(set(raw) - _RULE_FIELDS):
        problems.append(FieldProblem(f"{where}/{name}", "unknown property"))
    op = raw.get("operationId")
    if "operationId" in raw and (not isinstance(op, str) or not op):
        problems.append(FieldProblem(f"{where}/operationId", "must be a non-empty string"))
    status = raw.get("status")
    if "status" in raw and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        problems.append(FieldProblem(f"{where}/status", "must be an error status in 400..599"))
    drop = raw.get("drop", False)
    if not isinstance(drop, bool):
        problems.append(FieldProblem(f"{where}/drop", "must be a boolean"))
    prob = raw.get("probability", 1)
    if isinstance(prob, bool) or not isinstance(prob, int | float) or not 0 <= prob <= 1:
        problems.append(FieldProblem(f"{where}/probability", "must be a number in 0..1"))
        prob = 1
    latency = _int_field(raw, "latencyMs", 0, _MAX_DELAY_MS, where, problems)
    jitter = _int_field(raw, "jitterMs", 0, _MAX_DELAY_MS, where, problems)
    if status is not None and drop is True:
        problems.append(FieldProblem(where, "a rule may set status or drop, not both"))
    valid_status = status if isinstance(status, int) and not isinstance(status, bool) else None
    return FaultRule(op if isinstance(op, str) else None, latency, jitter, valid_status, drop is True, float(prob))


class Faults:
    """The active rule set and its random generator."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.seed: int | None = None
        self._random = random.Random()

    def configure(self, document: Any, known_operations: Collection[str] | None = None) -> None:
        """Replace the rules from ``{"rules": [...], "seed"?: int}``; a bad document changes nothing.

        With ``known_operations``, a rule naming any other operationId is refused (a typo never matches).
        """
        problems: list[FieldProblem] = []
        if not isinstance(document, dict):
            raise InvalidInput('the body must be an object {"rules": [...], "seed"?: integer}')
        for name in sorted(set(document) - {"rules", "seed"}):
            problems.append(FieldProblem(name, "unknown property"))
        raw_rules = document.get("rules")
        if not isinstance(raw_rules, list):
            problems.append(FieldProblem("rules", "required, an array of rules"))
            raw_rules = []
        seed = document.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            problems.append(FieldProblem("seed", "must be an integer"))
        rules = [parse_rule(raw, f"rules/{i}", problems) for i, raw in enumerate(raw_rules)]
        if known_operations is not None:
            problems += [
                FieldProblem(f"rules/{i}/operationId", f"no Sales API operation {rule.operation_id!r}")
                for i, rule in enumerate(rules)
                if rule is not None and rule.operation_id is not None and rule.operation_id not in known_operations
            ]
        if problems:
            first = problems[0]
            raise InvalidInput(f"invalid fault rules: {first.path}: {first.message}", details=problems)
        self.rules = [rule for rule in rules if rule is not None]
        self.seed = seed
        self._random = random.Random(seed)

    def clear(self) -> None:
        """Remove every rule and the seed."""
        self.rules = []
        self.seed = None
        self._random = random.Random()

    def to_json(self) -> dict[str, Any]:
        """``{"rules": [...], "seed": int | null}``."""
        return {"rules": [rule.to_json() for rule in self.rules], "seed": self.seed}

    def decide(self, operation_id: str) -> FaultDecision | None:
        """The decision for one request to ``operation_id``, or None when no rule applies."""
        for index, rule in enumerate(self.rules):
            if rule.operation_id is not None and rule.operation_id != operation_id:
                continue
            roll, jitter_roll = self._random.random(), self._random.random()
            if roll >= rule.probability:
                continue
            delay = rule.latency_ms + round(jitter_roll * rule.jitter_ms)
            return FaultDecision(delay, rule.status, rule.drop, index)
        return None


def _find_transport(send: Any, depth: int = 0) -> Any:
    """The server's transport behind ``send``: uvicorn's ``send`` is a method of an object with a
    ``transport``; Starlette's error middleware wraps it in a closure, so closures are searched too."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None or depth > 6:
        return transport
    for cell in getattr(send, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:
            continue
        if callable(content):
            found = _find_transport(content, depth + 1)
            if found is not None:
                return found
    return None


def drop_connection(send: Send) -> bool:
    """Abort the client's socket when served by uvicorn; False when there is no socket (in-process)."""
    transport = _find_transport(send)
    if transport is None or not hasattr(transport, "abort"):
        return False
    transport.abort()
    return True
