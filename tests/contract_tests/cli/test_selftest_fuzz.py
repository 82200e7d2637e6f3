"""The long QA campaign against the mock, opt-in: ``pytest -m fuzz tests/contract_tests/cli/test_selftest_fuzz.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.fuzz
def test_fuzz_campaign_against_the_mock_is_clean(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "contract_tests.cli",
        "fuzz",
        "--target",
        "mock",
        "--duration",
        "5m",
        "--seed",
        "7",
    ]
    result = subprocess.run([*command, "--output", str(tmp_path)], capture_output=True, text=True, check=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert result.returncode == 0 and report["failures"] == 0, result.stdout[-4000:]


@pytest.mark.fuzz
def test_fuzz_stops_at_its_deadline(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "contract_tests.cli", "fuzz", "--target", "mock", "--duration", "20s"]
    result = subprocess.run([*command, "--output", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert "fuzz report:" in result.stdout and (tmp_path / "report.json").exists()
