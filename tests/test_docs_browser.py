"""``/docs`` in a real headless browser (Debian's chromium): every spec operation is rendered, offline.

CI installs chromium with ``scripts/ci-system-deps.sh``; elsewhere the test is skipped without it.
"""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
SPEC = Path(__file__).resolve().parents[1] / "openapi" / "sales.yaml"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
    "--dump-dom",
]


def _operations() -> dict[str, tuple[str, str]]:
    document = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    found: dict[str, tuple[str, str]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path)
    return found


def _serve() -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", "0", "--fixtures", "empty"]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise AssertionError(f"the mock did not start: {line!r} {process.communicate(timeout=10)}")
    return process, "http://" + line.split("http://", 1)[1].split()[0]


def _dump_dom(url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", url]
        env = {**os.environ, "HOME": profile}
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return html.unescape(result.stdout)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/ci-system-deps.sh installs it)")
def test_docs_render_every_operation_in_a_browser() -> None:
    process, url = _serve()
    try:
        dom = _dump_dom(f"{url}/docs")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    assert "Could not load" not in dom
    operations = _operations()
    assert len(operations) >= 20
    missing = [op for op, (method, path) in operations.items() if op not in dom or path not in dom]
    assert not missing, f"operations not rendered by /docs: {missing}"
