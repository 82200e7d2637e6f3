"""Debian's headless Chromium for the browser tests: where it is, the flags every run here uses, a DOM dump.

CI installs it with ``scripts/ci-system-deps.sh``; elsewhere the tests that need it skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def profile_dir() -> Iterator[str]:
    """A fresh, empty Chromium profile directory, removed afterwards. Chromium's helper processes can
    still write into it for a moment after the browser exits: removal is retried for up to 5 s."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        yield profile
    finally:
        deadline = time.monotonic() + 5
        while True:
            shutil.rmtree(profile, ignore_errors=True)
            if not os.path.exists(profile) or time.monotonic() > deadline:
                break
            time.sleep(0.1)


def dump_dom(url: str, *, budget_ms: int) -> str:
    """The DOM of ``url`` as headless Chromium prints it after ``budget_ms`` of virtual time (a fresh profile)."""
    flags = ["--headless", *QUIET_FLAGS, "--no-first-run", f"--virtual-time-budget={budget_ms}", "--dump-dom"]
    with profile_dir() as profile:
        command = [str(CHROMIUM), *flags, f"--user-data-dir={profile}", url]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": profile}, check=False
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
