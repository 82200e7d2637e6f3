"""The README works when pasted: every ```` ```bash ```` block runs as written in a fresh shell.

The test starts ``sales-mock serve`` (demo fixtures, real time) on a free port and runs each
block with ``bash -e -o pipefail`` in an empty folder, with only ``PATH`` (the project's
virtualenv first), ``HOME`` and ``LANG`` set: a block must set every variable it uses. The mock's
address in the text (``127.0.0.1:4010``, ``--port 4010``) is replaced by the test's port; a block
that starts a mock of its own (``sales-mock serve ... &``) gets another free port, and whatever
it started is stopped afterwards. The state is reset (``POST /__admin/reset``) before each block.
``curl`` fails on an HTTP error (``--fail-with-body``) unless the call asks for one (``Prefer:
code=...``). Blocks fenced otherwise (```` ```sh ````, ```` ```console ````) are not run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from readme_blocks import Block, plugin_example, runnable

from contract_tests.process import free_port, serve

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = runnable(README)
BIN = Path(sys.executable).parent
DEFAULT_ADDRESS = re.compile(r"(127\.0\.0\.1:|localhost:|--port )4010\b")
STARTS_A_SERVER = re.compile(r"sales-mock serve\b[^\n]*&")
CURL_SHIM = """#!/usr/bin/env bash
# curl that fails on an HTTP error unless the call asks for one (Prefer: code=...)
for arg in "$@"; do case "$arg" in *"Prefer: code="*) exec "{curl}" "$@";; esac; done
exec "{curl}" --fail-with-body --silent --show-error "$@"
"""


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("readme-mock") / "sales-mock.log"
    with serve([str(BIN / "sales-mock"), "serve", "--port", str(port)], port, log_path=log) as url:
        yield url


@pytest.fixture(scope="module")
def shim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    real = subprocess.run(["bash", "-c", "command -v curl"], capture_output=True, text=True, check=False).stdout.strip()
    if not real:
        pytest.skip("curl is not installed")
    folder = tmp_path_factory.mktemp("shims")
    shim = folder / "curl"
    shim.write_text(CURL_SHIM.format(curl=real))
    shim.chmod(0o755)
    return folder


def test_the_readme_has_runnable_examples_and_the_walk_throughs() -> None:
    assert len(BLOCKS) >= 4, "the README's runnable examples are fenced ```bash"
    for heading in ("Quick start", "first ten minutes", "CI service"):
        assert re.search(rf"^#+ .*{heading}", README, re.MULTILINE | re.IGNORECASE), f"no section on {heading!r}"


def test_the_plugin_example_is_the_file_the_suite_runs() -> None:
    """``tests/test_plugin_example.py`` is the README's example, below its module docstring."""
    example = plugin_example(README).text
    assert example.startswith("import ")
    assert (ROOT / "tests" / "test_plugin_example.py").read_text(encoding="utf-8").endswith("\n\n" + example)


@pytest.mark.live
@pytest.mark.parametrize("block", BLOCKS, ids=[block.label for block in BLOCKS])
def test_block_runs_as_written(block: Block, mock_url: str, shim_dir: Path, tmp_path: Path) -> None:
    own = STARTS_A_SERVER.search(block.text) is not None
    port = str(free_port()) if own else mock_url.rsplit(":", 1)[1]
    script = DEFAULT_ADDRESS.sub(lambda match: match.group(1) + port, block.text)
    assert httpx.post(f"{mock_url}/__admin/reset", timeout=10).status_code == 204
    env = {"PATH": f"{shim_dir}:{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(tmp_path)}
    env["LANG"] = "C.UTF-8"
    log = tmp_path / "block-output.log"
    with log.open("w") as sink:  # a file, not a pipe: a server the block leaves behind must not hold it open
        process = subprocess.Popen(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # whatever the block left running in the background
            except ProcessLookupError:
                pass
            process.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert code == 0, (
        f"the README block at {block.label} failed ({'timed out' if code is None else f'exit {code}'}) "
        f"when pasted into a fresh shell:\n--- block ---\n{block.text}--- output (last 3000 characters) ---\n"
        f"{output[-3000:]}"
    )
