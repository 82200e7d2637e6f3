"""The wheel carries the specs, the fixtures and the docs assets, and its metadata names one version.

The full check (install the wheel in a fresh virtualenv outside the repository, serve, check, run
the README's plugin example) is ``scripts/check-wheel.sh``, run by ``.ci/run``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _source_copy(destination: Path) -> Path:
    """The files git knows of (committed or not, minus ignored ones): no stale build/ folder leaks in."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.mark.slow
def test_the_wheel_carries_the_data_files(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files are part of the project")
    source = _source_copy(tmp_path / "src")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--wheel-dir",
        str(tmp_path / "dist"),
        str(source),
    ]
    built = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((ROOT / "openapi").glob("*.yaml")):
        assert f"mock_server/_openapi/{path.name}" in names
    for path in sorted((ROOT / "fixtures").glob("*.yaml")):
        assert f"mock_server/_fixtures/{path.name}" in names
    for path in sorted((ROOT / "mock_server" / "static").rglob("*")):
        if path.is_file():
            assert f"mock_server/static/{path.relative_to(ROOT / 'mock_server' / 'static')}" in names
    assert {"mock_server/py.typed", "contract_tests/py.typed", "mock_server/resources.py"} <= names
    assert not any(name.startswith(("tests/", "openapi/", "fixtures/", "benchmarks/")) for name in names)

    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    dist_info = f"axiomatic_sales_contract-{version}.dist-info"
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    for line in ("sales-mock = mock_server.cli:main", "sales-contract = contract_tests.cli:main"):
        assert line in entry_points
    assert "sales_mock = mock_server.pytest_plugin" in entry_points


def test_ci_uses_the_wheel_outside_the_repository() -> None:
    """.ci/run clones into an empty folder and calls the wheel check (which must exist and be bash)."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "git clone" in ci and "bash scripts/check-wheel.sh" in ci
    script = (ROOT / "scripts" / "check-wheel.sh").read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    for step in ("sales-mock --version", "sales-contract --version", "sales-contract check --target mock", "pytest"):
        assert step in script
