"""Debian's headless Chromium for the browser tests: where it is, the flags every run here uses, a DOM dump.

CI installs it with ``scripts/ci-system-deps.sh``; elsewhere the tests that need it skip.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/ci-system-deps.sh installs it)"
)
# no sandbox (containers), no GPU, no QUIC, none of Chromium's own background traffic
QUIET_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def dump_dom(url: str, *, budget_ms: int) -> str:
    """The DOM of ``url`` as headless Chromium prints it after ``budget_ms`` of virtual time (a fresh profile)."""
    flags = ["--headless", *QUIET_FLAGS, "--no-first-run", f"--virtual-time-budget={budget_ms}", "--dump-dom"]
    with tempfile.TemporaryDirectory() as profile:
        command = [str(CHROMIUM), *flags, f"--user-data-dir={profile}", url]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": profile}, check=False
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
