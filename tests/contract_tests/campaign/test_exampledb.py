"""``--example-db``: which databases are accepted, how a bad one is refused, what Hypothesis gets."""

from __future__ import annotations

from pathlib import Path

import hypothesis
import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

from contract_tests.campaign.exampledb import activated, open_database, redacted
from contract_tests.cli import main
from contract_tests.process import free_port
from contract_tests.target import UsageError


def test_passwords_are_redacted() -> None:
    assert redacted("redis://:s3cret@cache.internal:6379/2") == "redis://:***@cache.internal:6379/2"
    assert redacted("redis://ci:s3cret@cache.internal/0") == "redis://ci:***@cache.internal/0"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redacted("/var/cache/db") == "/var/cache/db"


def test_a_directory_database_stores_and_replays(tmp_path: Path) -> None:
    database = open_database(str(tmp_path / "nested" / "db"))
    assert isinstance(database, DirectoryBasedExampleDatabase)
    database.save(b"key", b"value")
    assert list(open_database(str(tmp_path / "nested" / "db")).fetch(b"key")) == [b"value"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://cache.internal/db", "unsupported URL"),
        ("redis://127.0.0.1:{port}/0", "is unusable"),
        ("redis://:hunter2@127.0.0.1:{port}/0", "is unusable"),
    ],
)
def test_unusable_databases_are_usage_errors(url: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as raised:
        open_database(url.format(port=free_port()))
    assert "hunter2" not in str(raised.value)


def test_a_file_is_not_a_database_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="cannot use the directory"):
        open_database(str(tmp_path / "file"))


def test_activated_gives_hypothesis_the_database_and_restores_the_profile(tmp_path: Path) -> None:
    before = hypothesis.settings.get_current_profile_name()
    database = open_database(str(tmp_path))
    with activated(database):
        assert hypothesis.settings.default.database == database
        assert not hypothesis.settings.default.derandomize
    assert hypothesis.settings.get_current_profile_name() == before


def test_check_refuses_an_unreachable_database_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    assert main(["check", "--operations", "getQuote", "--example-db", url]) == 2
    err = capsys.readouterr().err
    assert "is unusable" in err and "hunter2" not in err
