"""A fuzz round gets its campaign's options as one ``RunConfig`` file, its only argument, with no secret in it."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from contract_tests import cli, cli_common
from contract_tests.campaign.run_config import RunConfig
from contract_tests.cli import round as fuzz_round
from contract_tests.cli.fuzz import Campaign
from contract_tests.process import free_port
from contract_tests.target import UsageError

SECRETS = ("ak_main_secret", "ak_other_secret", "ak_ro_secret", "tok_admin_secret", "dbpass_secret")


def test_a_fuzz_round_gets_one_config_file_and_no_secret_on_its_command_line_or_in_the_file(tmp_path: Path) -> None:
    argv = ["fuzz", "--target", "http://127.0.0.1:9", "--api-key", SECRETS[0], "--entity-id", "ent-1"]
    argv += ["--other-entity-id", "ent-2", "--other-key", SECRETS[1], "--readonly-key", SECRETS[2]]
    argv += ["--admin-token", SECRETS[3], "--example-db", f"redis://:{SECRETS[4]}@127.0.0.1:1/0", "--shard", "2/3"]
    args = cli.build_parser().parse_args([*argv, "--operations", "listQuotes", "--max-examples", "4", "--allow-writes"])
    args.output = str(tmp_path)
    campaign = Campaign(args, cli_common.resolve(args, env={}))
    config = replace(campaign.config, seed=12, budget=30.5, junit_xml=str(tmp_path / "junit" / "round-1.xml"))
    path = tmp_path / "round-1.json"

    command = campaign._round_command(config, path)

    assert command == [sys.executable, "-m", "contract_tests.cli.round", str(path)]
    text = path.read_text()
    assert not [secret for secret in SECRETS if secret in text or secret in " ".join(command)]
    env = campaign._round_env(config)
    assert {env[name] for name in config.secrets_env()} == {*SECRETS[:4], "ent-1", "ent-2", config.example_db}
    back = RunConfig.from_json(text, env)
    assert back == config
    assert (back.profile, back.seed, str(back.shard), back.operations) == ("fuzz", 12, "2/3", ("listQuotes",))
    assert back.writes and back.example_db == f"redis://:{SECRETS[4]}@127.0.0.1:1/0"
    assert (back.failures_dir, back.ledger) == (str(tmp_path / "failures"), str(tmp_path / "ledger.jsonl"))
    with pytest.raises(UsageError, match=r"\$SALES_API_KEY"):
        RunConfig.from_json(text, env={})


def test_a_config_without_secrets_round_trips_and_a_bad_one_is_a_usage_error() -> None:
    plain = RunConfig(target="mock", profile="fuzz", seed=3, tests=("a.py::t",), verbose=True)
    assert RunConfig.from_json(plain.to_json(), env={"SALES_API_KEY": "ignored"}) == plain
    for bad in ("not json", "[]", '{"secrets": [], "shard": null, "operations": [], "tests": [], "color": 1}'):
        with pytest.raises(UsageError, match="not a run config"):
            RunConfig.from_json(bad, env={})


def test_a_round_on_an_unusable_target_exits_2_with_its_junit_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    junit = tmp_path / "junit" / "round-1.xml"
    config = RunConfig(target=f"http://127.0.0.1:{free_port()}", api_key="k", entity_id="e", junit_xml=str(junit))
    path = tmp_path / "round-1.json"
    path.write_text(config.to_json())
    assert fuzz_round.main([str(path), "--extra"]) == cli_common.EXIT_USAGE
    assert fuzz_round.main([str(tmp_path / "missing.json")]) == cli_common.EXIT_USAGE
    monkeypatch.delenv("SALES_API_KEY", raising=False)
    monkeypatch.setenv("SALES_API_ENTITY_ID", "e")
    assert fuzz_round.main([str(path)]) == cli_common.EXIT_USAGE
    assert "names $SALES_API_KEY: not set" in capsys.readouterr().err and not junit.exists()

    monkeypatch.setenv("SALES_API_KEY", "k")
    assert fuzz_round.main([str(path)]) == cli_common.EXIT_USAGE

    assert "is unreachable" in capsys.readouterr().err and "is unreachable" in junit.read_text()
