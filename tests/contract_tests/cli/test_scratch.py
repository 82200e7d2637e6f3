"""Scratch entities: ``check``, ``fuzz`` and ``replay`` against a mock over HTTP, without an entity, work in
entities of their own and delete them however the run ends; the demo entity stays exactly as it was."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from livemock import answering

from contract_tests import cli
from contract_tests.cli import scratch
from contract_tests.cli_common import Resolved
from contract_tests.process import free_port, sales_mock_command, serve

HERE = Path(__file__).resolve().parents[2]  # tests/
CLI = [sys.executable, "-m", "contract_tests.cli"]
DEMO = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
ENV = {name: value for name, value in os.environ.items() if not name.startswith(("SALES_API_", "SALES_ADMIN"))}
ENV["PYTHONUNBUFFERED"] = "1"
FOCUS = ["--profile", "fast", "--operations", "createPlan,listQuotes"]  # a few seconds, and it writes


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    with serve(sales_mock_command(port), port, log_path=tmp_path_factory.mktemp("scratch") / "mock.log") as url:
        yield url


@pytest.fixture(scope="module")
def broken_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A mutant whose 400 answers leak a traceback: generated invalid requests find it at once."""
    port = free_port()
    command = [sys.executable, str(HERE / "mutants" / "serve.py"), "error_leaks_trace", "--port", str(port)]
    with serve(command, port, log_path=tmp_path_factory.mktemp("broken") / "server.log") as url:
        yield url


def census(url: str) -> dict[str, Any]:
    """The demo entity's plans, quotes, orders and subscriptions (id -> status), and every entity's id."""
    found: dict[str, Any] = {}
    for kind in ("plans", "quotes", "orders", "subscriptions"):
        params = {"entityId": DEMO, "pageSize": 100} if kind in ("quotes", "orders") else {"entityId": DEMO}
        body = httpx.get(
            f"{url}/api/sales/{kind}", params=params, headers={"Authorization": "Bearer ak_demo_readwrite"}
        ).json()
        assert len(body["data"]) == body.get("total", len(body["data"])), "the demo entity outgrew one page"
        found[kind] = {item["id"]: item.get("status", item.get("active")) for item in body["data"]}
    found["entities"] = sorted(e["entityId"] for e in httpx.get(f"{url}/__admin/entities").json()["data"])
    return found


def scratch_ids(output: str) -> list[str]:
    found = re.search(r"scratch entity (\S+) \(and (\S+) for the cross-entity checks\)", output)
    assert found, output[-3000:]
    return [found.group(1), found.group(2)]


def test_check_of_a_mock_url_leaves_the_demo_entity_as_it_was(mock_url: str) -> None:
    before = census(mock_url)
    result = subprocess.run(
        [*CLI, "check", "--target", mock_url, *FOCUS], env=ENV, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    made = scratch_ids(result.stdout)
    assert "(fast profile, writes" in result.stdout  # the entity is the run's own: it writes by default
    created = re.search(r"cleanup: (\d+) resource\(s\) created", result.stdout)
    assert created and int(created.group(1)) > 0, "the run wrote nothing: the census would prove nothing"
    assert f"sales-contract check: deleted the scratch entities {made[0]}, {made[1]}" in result.stdout
    assert census(mock_url) == before  # not one plan, quote, order or subscription more; no entity left
    assert not set(made) & set(before["entities"])


def test_an_interrupted_check_deletes_its_scratch_entities(mock_url: str) -> None:
    before = census(mock_url)
    command = [*CLI, "check", "--target", mock_url, "--profile", "fast"]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(census(mock_url)["entities"]) < len(before["entities"]) + 2:
        time.sleep(0.2)
    assert process.poll() is None, "the check ended before it was interrupted"
    time.sleep(1)  # into the suite
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2 and "interrupted" in output, output[-3000:]
    assert "deleted the scratch entities" in output
    assert census(mock_url)["entities"] == before["entities"]


def test_fuzz_of_a_mock_url_works_in_scratch_entities(mock_url: str, tmp_path: Path) -> None:
    before = census(mock_url)
    command = [*CLI, "fuzz", "--target", mock_url, "--duration", "4s", "--max-examples", "3", "--output", str(tmp_path)]
    result = subprocess.run([*command, *FOCUS[2:]], env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    made = scratch_ids(result.stdout.splitlines()[0])
    rounds = (tmp_path / "round-1.log").read_text()
    assert "(fuzz profile, writes" in rounds
    assert f"sales-contract fuzz: deleted the scratch entities {made[0]}, {made[1]}" in result.stdout
    assert census(mock_url) == before


def test_a_failure_found_in_a_scratch_entity_replays_in_another(broken_url: str, tmp_path: Path) -> None:
    before = census(broken_url)
    failures = tmp_path / "failures"
    command = [*CLI, "check", "--target", broken_url, "--profile", "fast", "--operations", "createPlan"]
    found = subprocess.run(
        [*command, "--failures-dir", str(failures)], env=ENV, capture_output=True, text=True, timeout=300
    )
    assert found.returncode == 1, found.stdout[-3000:]
    saved = [json.loads(path.read_text()) | {"path": path} for path in failures.glob("*.json")]
    mine = next(f for f in saved if f["kind"] == "check" and f["scope"] == "scratch")
    assert scratch_ids(found.stdout)[0] not in json.dumps(mine["chain"])  # the deleted entity: a placeholder
    replayed = subprocess.run(
        [*CLI, "replay", str(mine["path"]), "--target", broken_url], env=ENV, capture_output=True, text=True
    )
    assert replayed.returncode == 1 and "REPRODUCES" in replayed.stdout, replayed.stdout + replayed.stderr
    assert "in a scratch entity" in replayed.stdout and "deleted the scratch entity" in replayed.stdout
    assert census(broken_url) == before


def test_a_failure_that_names_its_entitys_resources_is_not_replayed_in_a_scratch_entity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SALES_API_KEY", "SALES_API_ENTITY_ID"):
        monkeypatch.delenv(name, raising=False)
    quote = "0b6c1f8e-5a2d-4c3b-9e7f-1a2b3c4d5e6f"
    record = {"operation": "getQuote", "check": "not_a_server_error", "kind": "check", "scope": "entity"}
    chain = [{"method": "GET", "path": f"/api/sales/quotes/{quote}", "query": {"entityId": "{{entityId}}"}}]
    path = tmp_path / "0001.json"
    path.write_text(json.dumps({**record, "chain": chain}))
    assert cli.main(["replay", str(path), "--target", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert f"names its resources ({quote}), which a scratch entity does not have" in err
    assert f"--api-key ak_demo_readwrite --entity-id {DEMO}" in err


@pytest.mark.parametrize(
    ("status", "token", "problem"),
    [
        (404, None, "a URL target needs an entity: name one with --api-key and --entity-id"),
        (
            401,
            None,
            "the target's /__admin needs a token to make a scratch entity (401): pass the mock's --admin-token",
        ),
        (401, "wrong", "the target's /__admin refused the admin token (401), so no scratch entity"),
    ],
)
def test_a_url_without_an_entity_and_no_usable_admin_is_exit_2(
    status: int, token: str | None, problem: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SALES_API_KEY", "SALES_API_ENTITY_ID", "SALES_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with answering(status) as url:  # /__admin/health answers this, as a live server (404) or a mock with a token
        assert cli.main(["check", "--target", url, *(["--admin-token", token] if token else [])]) == 2
    assert problem in capsys.readouterr().err


def test_only_a_url_without_an_entity_gets_scratch_entities(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolved(target: str, entity: str | None) -> Resolved:
        return Resolved(target, None, entity, None, 30.0, [])

    assert scratch.wanted(resolved("http://127.0.0.1:4010", None))
    assert not scratch.wanted(resolved("http://127.0.0.1:4010", DEMO))
    assert not scratch.wanted(resolved("mock", None))  # the mock in this process lives and dies with the run
    made = scratch.Scratch(scratch.Entity("e1", "ak_1", "ak_1r"), scratch.Entity("e2", "ak_2", "ak_2r"))
    assert made.applied(resolved("http://x", None)) == Resolved("http://x", "ak_1", "e1", None, 30.0, [])
    monkeypatch.setenv("SALES_API_OTHER_KEY", "theirs")
    monkeypatch.delenv("SALES_API_OTHER_ENTITY_ID", raising=False)
    with scratch.exported(made):
        assert os.environ["SALES_API_OTHER_KEY"] == "ak_2" and os.environ["SALES_API_OTHER_ENTITY_ID"] == "e2"
        assert os.environ["SALES_API_READONLY_KEY"] == "ak_1r"
    assert os.environ["SALES_API_OTHER_KEY"] == "theirs" and "SALES_API_OTHER_ENTITY_ID" not in os.environ
