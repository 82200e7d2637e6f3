"""The pytest plugin's spec/fixture options, as a user's own project uses them (a pytest run of its own)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server import resources
from mock_server.pytest_plugin import chosen_files

MINE = "11111111-2222-4333-8444-555555555555"
USER_TEST = f'''
import httpx


def test_my_fixtures_and_spec(sales_mock_server, sales_mock_config):
    assert sales_mock_config.spec_path.name == "my-contract.yaml"
    answer = httpx.get(
        sales_mock_server.url + "/api/sales/plans",
        params={{"entityId": "{MINE}"}},
        headers={{"Authorization": "Bearer ak_mine"}},
    )
    assert answer.status_code == 200 and answer.json() == {{"data": []}}
'''


def _project(tmp_path: Path, ini: str) -> Path:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(resources.spec_path(), project / "data" / "my-contract.yaml")
    (project / "data" / "mine.yaml").write_text(
        f"entities:\n  - id: {MINE}\n    name: Mine\n    baseCurrency: USD\n"
        "    apiKeys: [{key: ak_mine, scopes: ['read:sales']}]\n"
    )
    (project / "pytest.ini").write_text(f"[pytest]\n{ini}")
    (project / "test_mine.py").write_text(USER_TEST)
    return project


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_ini_paths_are_relative_to_the_ini_file_and_the_command_line_wins(tmp_path: Path) -> None:
    """One pytest run (they are slow): the spec from the ini, the fixtures from the command line
    (the ini names a missing fixture file, which is never read)."""
    project = _project(tmp_path, "sales_mock_spec = data/my-contract.yaml\nsales_mock_fixtures = data/missing.yaml\n")
    result = _pytest(project, "--sales-mock-fixtures", str(project / "data" / "mine.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


class _Config:
    """The few ``pytest.Config`` methods the plugin reads."""

    def __init__(self, root: Path, options: dict[str, str | None], ini: dict[str, str]) -> None:
        self.options, self.ini = options, ini
        self.inipath: Path | None = root / "pytest.ini"
        self.rootpath = root

    def getoption(self, name: str, default: object = None) -> object:
        return self.options.get(name, default)

    def getini(self, name: str) -> str:
        return self.ini.get(name, "")


@pytest.mark.parametrize(
    ("options", "ini", "message"),
    [
        ({"sales_mock_fixtures": "data/missing.yaml"}, {}, "cannot read the fixture file (sales_mock_fixtures) data/"),
        ({}, {"sales_mock_fixtures": "missing.yaml"}, "cannot read the fixture file (sales_mock_fixtures) {root}/miss"),
        ({"sales_mock_fixtures": "nosuchname"}, {}, "unknown fixtures 'nosuchname': use one of demo, empty"),
        ({}, {"sales_mock_spec": "nope.yaml"}, "cannot read the spec (sales_mock_spec) {root}/nope.yaml: No such file"),
    ],
)
def test_unreadable_files_are_one_line_usage_errors(
    tmp_path: Path, options: dict[str, str | None], ini: dict[str, str], message: str
) -> None:
    with pytest.raises(pytest.UsageError) as raised:
        chosen_files(_Config(tmp_path, options, ini))  # type: ignore[arg-type]
    text = str(raised.value)
    assert text.startswith("sales_mock: ") and "\n" not in text
    assert message.format(root=tmp_path) in text


def test_defaults_and_names(tmp_path: Path) -> None:
    assert chosen_files(_Config(tmp_path, {}, {})) == (None, None)  # type: ignore[arg-type]
    assert chosen_files(_Config(tmp_path, {"sales_mock_fixtures": "empty"}, {})) == (None, "empty")  # type: ignore[arg-type]
    assert chosen_files(_Config(tmp_path, {}, {"sales_mock_fixtures": "empty"})) == (None, "empty")  # type: ignore[arg-type]
