"""``mock_server.resources``: the packaged specs and fixtures, the version, and users' own files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

import mock_server
from contract_tests.target import UsageError
from contract_tests.target import spec_path as contract_spec_path
from mock_server import resources
from mock_server.config import MockConfig
from mock_server.fixtures import FixtureError, read_fixture

ROOT = Path(__file__).resolve().parents[1]


def test_the_packaged_files_are_the_repository_folders_in_an_editable_install() -> None:
    assert resources.spec_path() == ROOT / "openapi" / "sales.yaml"
    assert resources.admin_spec_path() == ROOT / "openapi" / "mock-admin.yaml"
    assert resources.fixture_path("demo") == ROOT / "fixtures" / "demo.yaml"
    assert resources.fixture_names() == sorted(p.stem for p in (ROOT / "fixtures").glob("*.yaml"))
    assert yaml.safe_load(resources.spec_path().read_text(encoding="utf-8"))["openapi"] == "3.1.0"


def test_every_default_goes_through_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALES_MOCK_SPEC", raising=False)
    monkeypatch.delenv("SALES_API_SPEC", raising=False)
    assert MockConfig().spec_path == resources.spec_path()
    assert contract_spec_path() == resources.spec_path()
    assert read_fixture("empty") == read_fixture(str(resources.fixture_path("empty")))


def test_the_version_has_one_source() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert resources.version() == mock_server.__version__ == pyproject["project"]["version"]


def test_unknown_fixture_names_list_the_known_ones() -> None:
    with pytest.raises(resources.ResourceError, match=r"unknown fixtures 'nope': use one of demo, empty"):
        resources.fixture_path("nope")
    with pytest.raises(resources.ResourceError, match="invalid fixture name"):
        resources.fixture_path("../demo")
    with pytest.raises(FixtureError, match="unknown fixtures"):
        read_fixture("nope")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_user_files_must_be_readable(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "missing.yaml" if kind == "missing" else tmp_path
    with pytest.raises(resources.ResourceError) as raised:
        resources.user_file(target, "spec")
    message = str(raised.value)
    assert message.startswith(f"cannot read the spec {target}: ") and "\n" not in message
    readable = tmp_path / "mine.yaml"
    readable.write_text("openapi: 3.1.0\n")
    assert resources.user_file(str(readable), "spec") == readable


def test_the_contract_suite_takes_the_users_spec(tmp_path: Path) -> None:
    mine = tmp_path / "contract.yaml"
    mine.write_text("openapi: 3.1.0\n")
    assert contract_spec_path({"SALES_API_SPEC": str(mine)}) == mine
    with pytest.raises(UsageError, match=r"^cannot read the contract .*missing\.yaml: No such file"):
        contract_spec_path({"SALES_API_SPEC": str(tmp_path / "missing.yaml")})
