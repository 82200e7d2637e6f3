"""``--shard i/n``: split the suite's deterministic work between n CI jobs, each run exactly once.

The unit of work is one operation in one layer: ``conformance:createQuote`` (every generated case
of that operation), ``security:listQuotes`` (the security scenarios whose first operation is
``listQuotes``), ``stateful:test_stateful_links``, ... Every job collects the same units from the
same contract and options, so every job computes the same plan without talking to the others:
the units sorted by weight (then name) go one by one to the least loaded shard. The shards are
disjoint and together they are the unsharded run.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

CONFORMANCE = "conformance"
LAYERS = {
    "test_conformance.py": CONFORMANCE,
    "test_negative.py": "negative",  # conformance's request rules, one broken at a time
    "test_stateful.py": "stateful",
    "test_security.py": "security",
}
"""Test module -> layer; every other contract test module is an ``invariants`` one (oracle, model, time)."""
DEFAULT_LAYER = "invariants"
# Relative cost of one unit, so that the plan spreads time rather than unit counts. A conformance
# unit runs every generated case of its operation in every mode; the link sequences and the model
# state machine are whole Hypothesis runs.
WEIGHTS = {CONFORMANCE: 3, "stateful": 8}
HEAVY_TESTS = {"test_model_based_quotes_and_plans": 4}


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` (1-based) of ``total``."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    """``2/4`` -> Shard(2, 4); an argparse ``type`` (bad input is a usage error, exit 2)."""
    found = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", str(text))
    if not found:
        raise argparse.ArgumentTypeError(f"not a shard: {text!r} (use i/n, e.g. 1/4)")
    index, total = int(found.group(1)), int(found.group(2))
    if total < 1 or not 1 <= index <= total:
        raise argparse.ArgumentTypeError(f"not a shard: {text!r} (i/n needs 1 <= i <= n)")
    return Shard(index, total)


@dataclass(frozen=True, order=True)
class Unit:
    """One operation (or scenario group) in one layer."""

    layer: str
    name: str

    def __str__(self) -> str:
        return f"{self.layer}:{self.name}"


def plan(weights: Mapping[Unit, int], total: int) -> list[set[Unit]]:
    """The units of each of ``total`` shards: heaviest first to the least loaded shard (lowest index on ties).

    Depends only on the set of units and their weights, never on their order: every job gets the same plan.
    """
    shards: list[set[Unit]] = [set() for _ in range(total)]
    loads = [0] * total
    for unit in sorted(weights, key=lambda u: (-weights[u], u)):
        lightest = min(range(total), key=lambda i: (loads[i], i))
        shards[lightest].add(unit)
        loads[lightest] += weights[unit]
    return shards


def layer_of(item: pytest.Item) -> str:
    return LAYERS.get(Path(str(item.fspath)).name, DEFAULT_LAYER)


def unit_of(item: pytest.Item) -> Unit:
    """A scenario test's unit: its layer and the first operation it is marked with (else the test's name)."""
    marker = item.get_closest_marker("sales_ops")
    name = str(marker.args[0]) if marker is not None and marker.args else getattr(item, "originalname", item.name)
    return Unit(layer_of(item), name)


def spec_operations(spec: Path) -> dict[str, str]:
    """operationId -> HTTP method (upper case) of every operation of the contract."""
    raw = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
    found: dict[str, str] = {}
    for item in (raw.get("paths") or {}).values():
        for method, operation in (item or {}).items():
            if isinstance(operation, dict) and operation.get("operationId"):
                found[str(operation["operationId"])] = method.upper()
    return found


def conformance_units(operations: Mapping[str, str], selected: Iterable[str], writes: bool) -> set[Unit]:
    """One conformance unit per operation the run generates cases for: the selected ones (all when none are),
    and GETs only on a read-only run (whose write operations get ``test_negative``'s cases instead)."""
    chosen = set(selected) or set(operations)
    return {Unit(CONFORMANCE, op) for op, method in operations.items() if op in chosen and (writes or method == "GET")}


@dataclass
class Split:
    """What one shard runs: its units, the pytest items to keep, and the operations of its conformance layer."""

    shard: Shard
    units: set[Unit]
    all_units: set[Unit]
    keep: list[pytest.Item]
    drop: list[pytest.Item]
    conformance_operations: list[str]


def split(
    shard: Shard, items: Sequence[pytest.Item], operations: Mapping[str, str], selected: Iterable[str], writes: bool
) -> Split:
    """Assign every unit of the collected ``items`` (plus one conformance unit per operation) to a shard."""
    # Each item's unit, worked out once; None for a conformance item (its operations are the units).
    item_units = [None if layer_of(item) == CONFORMANCE else unit_of(item) for item in items]
    weights: dict[Unit, int] = {}
    if any(unit is None for unit in item_units):
        weights.update(dict.fromkeys(conformance_units(operations, selected, writes), WEIGHTS[CONFORMANCE]))
    for unit in item_units:
        if unit is not None:
            weights[unit] = weights.get(unit, 0) + WEIGHTS.get(unit.layer, HEAVY_TESTS.get(unit.name, 1))
    mine = plan(weights, shard.total)[shard.index - 1]
    ops = sorted(unit.name for unit in mine if unit.layer == CONFORMANCE)
    keep = [item for item, unit in zip(items, item_units, strict=True) if (bool(ops) if unit is None else unit in mine)]
    kept = {id(item) for item in keep}
    drop = [item for item in items if id(item) not in kept]
    return Split(shard, mine, set(weights), keep, drop, ops)
