"""Both CLIs: ``--version`` from the package metadata; ``--spec`` / ``--fixtures`` with users' own files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from control_plane_client import client, make_app

from contract_tests.cli import main as contract_main
from mock_server import resources
from mock_server.cli import main as mock_main

MINE = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(("main", "prog"), [(mock_main, "sales-mock"), (contract_main, "sales-contract")])
def test_version(main: object, prog: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--version"])  # type: ignore[operator]
    assert raised.value.code == 0
    assert capsys.readouterr().out == f"{prog} {resources.version()}\n"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "--spec", "{tmp}/missing.yaml"], "cannot read the spec {tmp}/missing.yaml: No such file"),
        (["serve", "--spec", "{tmp}"], "cannot read the spec {tmp}: Is a directory"),
        (["serve", "--fixtures", "{tmp}/missing.yaml"], "cannot read the fixture file {tmp}/missing.yaml"),
        (["serve", "--fixtures", "no_such_fixtures"], "unknown fixtures 'no_such_fixtures': use one of demo, empty"),
    ],
)
def test_mock_unreadable_files_exit_2_with_one_line(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mock_main([part.format(tmp=tmp_path) for part in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sales-mock: error: ")
    assert needle.format(tmp=tmp_path) in err


def test_contract_unreadable_spec_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALES_API_SPEC", "")  # main() sets it for its child processes; undone after the test
    assert contract_main(["check", "--spec", str(tmp_path / "missing.yaml")]) == 2
    assert os.environ["SALES_API_SPEC"].endswith("missing.yaml")
    err = capsys.readouterr().err
    assert err == f"sales-contract check: cannot read the contract {tmp_path}/missing.yaml: No such file or directory\n"


def test_mock_serves_the_users_spec_and_fixtures(tmp_path: Path) -> None:
    """A renamed copy of the spec and a one-entity fixture file of the user's: the mock serves both."""
    spec = tmp_path / "my-contract.yaml"
    shutil.copy(resources.spec_path(), spec)
    fixtures = tmp_path / "my-data.yaml"
    fixtures.write_text(
        f"entities:\n  - id: {MINE}\n    name: Mine\n    baseCurrency: USD\n"
        "    apiKeys: [{key: ak_mine, scopes: ['read:sales']}]\n"
    )
    app = make_app(spec_path=spec, fixtures=str(fixtures))
    assert app.state.runtime.spec.path == spec
    http = client(app)
    mine = http.get("/api/sales/plans", params={"entityId": MINE}, headers={"Authorization": "Bearer ak_mine"})
    assert mine.status_code == 200 and mine.json() == {"data": []}
    demo = {"entityId": "497f6eca-6276-4993-bfeb-53cbbbba6f08"}
    assert (
        http.get("/api/sales/plans", params=demo, headers={"Authorization": "Bearer ak_demo_readonly"}).status_code
        == 401
    )
