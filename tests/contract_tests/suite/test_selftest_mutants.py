"""Self-test of the contract suite: it must fail against every broken server and pass the true mock.

Each mutant (``tests/mutants/defects.py``) is the real mock with one realistic defect, served over
HTTP by ``tests/mutants/serve.py``; ``sales-contract check --target URL`` runs against it with the
focused ``fast`` profile and a fixed seed: the whole suite, or only the tests a mutant names (its
``tests``: the rule it breaks is one scenario's business). Two runs go in parallel to stay within the
CI budget.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from livemock import DEMO_SUITE_ENV

from contract_tests.process import free_port, sales_mock_command, serve

HERE = Path(__file__).resolve().parents[2]  # tests/
sys.path.insert(0, str(HERE / "mutants"))
from defects import MUTANTS  # noqa: E402

SEED = "20250301"
PARALLEL = 2
TRUE_MOCK = "true-mock"


@dataclass
class Run:
    name: str
    exit_code: int
    seconds: float
    output: str
    killed_by: list[str]


def server_command(name: str, port: int) -> list[str]:
    if name == TRUE_MOCK:
        return sales_mock_command(port)
    return [sys.executable, str(HERE / "mutants" / "serve.py"), name, "--port", str(port)]


def check_against(name: str, workdir: Path) -> Run:
    """Serve ``name`` on a free port and run ``sales-contract check`` against it."""
    started = time.monotonic()
    port = free_port()
    with serve(server_command(name, port), port, log_path=workdir / f"{name}.server.log") as url:
        command = [sys.executable, "-m", "contract_tests.cli", "check", "--target", url, "--profile", "fast"]
        command += ["--seed", SEED, "--allow-writes", "--failures-dir", str(workdir / name)]
        for test in MUTANTS[name].tests if name in MUTANTS else ():
            command += ["--test", test]  # the checks meant to catch it, not the whole suite
        result = subprocess.run(
            command, env={**os.environ, **DEMO_SUITE_ENV}, capture_output=True, text=True, timeout=300, check=False
        )
    checks = sorted({json.loads(path.read_text())["check"] for path in (workdir / name).glob("*.json")})
    output = result.stdout[-6000:] + result.stderr[-2000:]
    return Run(name, result.returncode, time.monotonic() - started, output, checks)


@pytest.mark.slow
def test_suite_kills_every_mutant_and_passes_the_true_mock(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    """One test, so that under xdist the whole campaign runs once, in one worker."""
    workdir = tmp_path_factory.mktemp("mutants")
    names = [TRUE_MOCK, *MUTANTS]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = {run.name: run for run in pool.map(lambda n: check_against(n, workdir), names)}
    report(results, workdir, request)
    assert results[TRUE_MOCK].exit_code == 0, f"the suite fails the true mock:\n{results[TRUE_MOCK].output}"
    survivors = [name for name in MUTANTS if results[name].exit_code != 1]
    assert not survivors, "\n\n".join(f"{name} survived:\n{results[name].output}" for name in survivors)


def report(results: dict[str, Run], workdir: Path, request: pytest.FixtureRequest) -> None:
    """Print the kill-rate table (also saved as kill-rate.txt in the run's temporary directory)."""
    killed = [name for name in MUTANTS if results[name].exit_code == 1]
    lines = [f"mutant kill rate: {len(killed)}/{len(MUTANTS)} (true mock: exit {results[TRUE_MOCK].exit_code})"]
    for name, mutant in MUTANTS.items():
        outcome = {1: "killed", 0: "SURVIVED"}.get(results[name].exit_code, f"exit {results[name].exit_code}")
        lines.append(f"  {outcome:<9} {name:<24} {results[name].seconds:5.1f}s  {mutant.description}")
        lines.append(f"            killed by: {', '.join(results[name].killed_by) or '-'}")
    (workdir / "kill-rate.txt").write_text("\n".join(lines) + "\n")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + "\n".join(lines))
