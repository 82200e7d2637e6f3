"""Code generators accept the spec: ``scripts/check-generators.sh`` in the default run.

The script generates a Python client (openapi-python-client) and TypeScript types
(openapi-typescript) with zero errors and warnings, type-checks the TypeScript and runs a smoke
scenario with the generated client against the mock (``scripts/generated_client_smoke.py``).
It installs the generators into ``.cache/`` on first use; it needs node and npm (Node.js 20+).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.live]

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm (Node.js 20+)")
def test_generated_clients_build_cleanly_and_drive_the_mock() -> None:
    env = {**os.environ, "MOCK_PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check-generators.sh")],
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
        cwd=ROOT,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "generated client smoke: 9 typed calls answered as documented" in output
    assert "check-generators: OK" in output
