"""``--shard i/n``: the shards of a split are disjoint and together they are the whole run."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests.campaign.sharding import Shard, Unit, conformance_units, parse_shard, plan, spec_operations

ROOT = Path(__file__).resolve().parents[3]
UNITS_LINE = re.compile(r"^shard (\d+)/(\d+): (\d+) of (\d+) unit\(s\): (.*)$", re.M)


def test_parse_shard() -> None:
    assert parse_shard("2/4") == Shard(2, 4) and str(parse_shard(" 1 / 1 ")) == "1/1"
    for bad in ("0/2", "3/2", "1/0", "a/b", "1", "-1/2", "1/2/3", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="not a shard"):
            parse_shard(bad)


units_strategy = st.sets(
    st.builds(Unit, st.sampled_from(["conformance", "stateful", "invariants", "security"]), st.text(min_size=1)),
    max_size=40,
)


@given(units=units_strategy, weights=st.lists(st.integers(1, 9), min_size=40, max_size=40), total=st.integers(1, 12))
def test_plan_partitions_the_units_whatever_their_order(units: set[Unit], weights: list[int], total: int) -> None:
    weighted = dict(zip(sorted(units), weights, strict=False))
    shards = plan(weighted, total)
    assert len(shards) == total
    assert set().union(*shards) == set(weighted)
    assert sum(len(shard) for shard in shards) == len(weighted)  # disjoint
    assert plan(dict(reversed(list(weighted.items()))), total) == shards  # every job computes the same plan
    if len(weighted) >= total:
        assert all(shards), "with at least n units no shard is empty"


def test_plan_balances_weight() -> None:
    weighted = {Unit("conformance", f"op{i}"): 3 for i in range(20)} | {Unit("stateful", "links"): 8}
    loads = [sum(weighted[u] for u in shard) for shard in plan(weighted, 3)]
    assert max(loads) - min(loads) <= 3, loads


def test_conformance_units_are_the_selected_operations_and_gets_only_when_read_only() -> None:
    operations = {"listQuotes": "GET", "createQuote": "POST", "getQuote": "GET"}
    assert conformance_units(operations, [], writes=True) == {Unit("conformance", op) for op in operations}
    assert conformance_units(operations, [], writes=False) == {
        Unit("conformance", "listQuotes"),
        Unit("conformance", "getQuote"),
    }
    assert conformance_units(operations, ["createQuote"], writes=True) == {Unit("conformance", "createQuote")}


def collect(shard: str) -> tuple[set[str], set[str]]:
    """The units a shard runs (from its summary line) and the test ids it collected (conformance aside)."""
    command = [sys.executable, "-m", "pytest", "contract_tests", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["--sales-target", "mock", "--sales-shard", shard]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = UNITS_LINE.search(result.stdout)
    assert found, result.stdout[-3000:]
    units = set(found.group(5).split(", "))
    assert len(units) == int(found.group(3))
    tests = {line for line in result.stdout.splitlines() if "::" in line and "test_conformance" not in line}
    return units, tests


def test_shards_are_disjoint_and_their_union_is_the_full_run() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:  # each collection is mostly interpreter start-up
        (everything, all_tests), *shards = pool.map(collect, ["1/1", "1/2", "2/2"])
    operations = spec_operations(ROOT / "openapi" / "sales.yaml")
    assert {u for u in everything if u.startswith("conformance:")} == {f"conformance:{op}" for op in operations}
    assert {u.split(":")[0] for u in everything} == {"conformance", "negative", "stateful", "invariants", "security"}
    units = [u for u, _ in shards]
    tests = [t for _, t in shards]
    assert all(units) and sum(len(u) for u in units) == len(everything) and set().union(*units) == everything
    assert sum(len(t) for t in tests) == len(all_tests) and set().union(*tests) == all_tests


def test_more_shards_than_units_is_a_usage_error() -> None:
    command = [sys.executable, "-m", "contract_tests.cli", "check", "--operations", "getQuote", "--shard", "99/99"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "shard 99/99 has no work" in result.stdout + result.stderr


def test_a_bad_shard_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "contract_tests.cli", "check", "--shard", "3/2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "not a shard" in result.stderr


def test_a_clean_shard_exits_0_and_names_itself() -> None:
    command = [sys.executable, "-m", "contract_tests.cli", "check", "--profile", "fast", "--operations", "getDashboard"]
    result = subprocess.run([*command, "--shard", "2/2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"^shard 2/2: \d+ of \d+ unit", result.stdout, re.M)
    assert re.search(r"PASS .*\(seed 20250301, shard 2/2", result.stdout.splitlines()[-1]), result.stdout[-300:]
