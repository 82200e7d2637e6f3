"""``sales-contract`` exit codes and outputs: 0 clean, 1 violation (see the mutant self-test), 2 unusable."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.process import free_port, sales_mock_command, serve

CLI = [sys.executable, "-m", "contract_tests.cli"]
DEMO = ["--entity-id", "497f6eca-6276-4993-bfeb-53cbbbba6f08"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    with serve(sales_mock_command(port), port, log_path=tmp_path_factory.mktemp("cli") / "mock.log") as url:
        yield url


def test_usage_error_is_2() -> None:
    assert run("check", "--no-such-option").returncode == 2


def test_unreachable_target_is_2() -> None:
    result = run("check", "--target", f"http://127.0.0.1:{free_port()}", "--api-key", "ak_x", *DEMO)
    assert result.returncode == 2 and "unreachable" in result.stderr


def test_a_malformed_entity_id_is_2_with_the_servers_reason(mock_url: str, tmp_path: Path) -> None:
    junit = tmp_path / "contract.xml"
    result = run(
        "check",
        "--target",
        mock_url,
        "--api-key",
        "ak_demo_readwrite",
        "--entity-id",
        "not-a-uuid",
        "--junit-xml",
        str(junit),
    )
    assert result.returncode == 2 and 'entityId: "not-a-uuid" is not a "uuid"' in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "not-a-uuid" in junit.read_text()


def test_unreachable_target_writes_the_junit_error_case(tmp_path: Path) -> None:
    junit = tmp_path / "contract.xml"
    url = f"http://127.0.0.1:{free_port()}"
    result = run("fuzz", "--target", url, "--api-key", "ak_x", *DEMO, "--duration", "5s", "--junit-xml", str(junit))
    assert result.returncode == 2 and "unreachable" in result.stderr
    assert 'errors="1"' in junit.read_text() and "unreachable" in junit.read_text()


def test_wrong_key_is_2_not_a_pass(mock_url: str) -> None:
    result = run("check", "--target", mock_url, "--api-key", "ak_wrong", *DEMO)
    assert result.returncode == 2 and "refused the API key" in result.stderr


def test_read_only_check_of_a_url_passes_and_writes_junit(mock_url: str, tmp_path: Path) -> None:
    junit = tmp_path / "contract.xml"
    args = ["--api-key", "ak_demo_readwrite", *DEMO, "--profile", "fast", "--junit-xml", str(junit)]
    result = run("check", "--target", mock_url, "--operations", "listQuotes,getDashboard", *args)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "per operation:" in result.stdout and "listQuotes" in result.stdout and "seed 20250301" in result.stdout
    assert "<testsuite" in junit.read_text()


def test_read_only_run_changes_nothing_on_the_server(mock_url: str) -> None:
    """Safe by default: a URL run without --allow-writes sends no write that the server accepts."""
    httpx.delete(f"{mock_url}/__admin/requests")
    result = run("check", "--target", mock_url, "--api-key", "ak_demo_readwrite", *DEMO, "--profile", "fast")
    assert result.returncode == 0, result.stdout[-3000:]
    journal = httpx.get(f"{mock_url}/__admin/requests", params={"limit": 10000}).json()["data"]
    accepted = [e for e in journal if e["method"] != "GET" and 200 <= e["status"] < 300]
    assert journal and not accepted, accepted[:5]
