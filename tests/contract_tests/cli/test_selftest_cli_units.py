"""The contract suite's CLI vocabulary and its machinery, without a server: options, durations,
exit codes in ``--help``, throttle retries, page sampling, replay placeholders, the clean-up ledger."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests import cleanup, cli, cli_common, throttle
from contract_tests.cli import check
from contract_tests.cli.replay import _path_parameters
from contract_tests.client import SalesApi
from contract_tests.recording import Recording, fill
from contract_tests.target import Target

SHARED = ("--target", "--api-key", "--entity-id", "--readonly-key", "--other-entity-id", "--other-key")
SHARED += ("--admin-token", "--timeout", "--spec")
GENERATE = ("--seed", "--operations", "--read-only", "--allow-writes", "--junit-xml")
CAMPAIGN = ("--shard", "--example-db", "--max-examples")
OWN_OPTIONS = {
    "check": {*SHARED, *GENERATE, *CAMPAIGN, "--profile", "--failures-dir", "--budget", "--verbose"},
    "fuzz": {*SHARED, *GENERATE, *CAMPAIGN, "--duration", "--output"},
    "replay": {*SHARED, "--junit-xml"},  # replays a saved chain: no generator, no selection, always writes
    "proxy": {"--upstream", "--target", "--host", "--port", "--upstream-timeout", "--timeout", "--junit"}
    | {"--junit-xml", "--report", "--record", "--fail-on-violation"},
    "report merge": {"--junit-xml"},
}
OPTION_LINE = re.compile(r"^  (-.*?)(?:  |$)", re.M)  # "  --timeout DURATION  help ..."


def subparsers() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand's parser by its name as typed (``report merge`` included)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found[f"{prefix}{name}"] = child
                    walk(child, f"{prefix}{name} ")

    walk(cli.build_parser(), "")
    return found


def listed_options(text: str) -> set[str]:
    """The long options a ``--help`` text lists, one per option line (aliases included)."""
    listed = set()
    for line in OPTION_LINE.findall(text):
        listed |= {part.split()[0] for part in line.split(", ") if part.startswith("--")}
    return listed - {"--help"}


def test_each_command_help_lists_only_its_own_options() -> None:
    commands = subparsers()
    for name, own in OWN_OPTIONS.items():
        text = commands[name].format_help()
        assert listed_options(text) == own, f"{name} --help lists {sorted(listed_options(text) ^ own)} wrongly"
        assert "--version" not in text and "%(" not in text and "None" not in text, name
    assert "--duration" not in commands["check"].format_help() and "--budget" not in commands["fuzz"].format_help()


def test_each_command_help_marks_its_defaults_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every option with a default says it as ``(default: ...)``; no other wording of a default is left."""
    monkeypatch.setenv("COLUMNS", "400")  # one line per option: no hyphenated value broken across lines
    for name, parser in subparsers().items():
        for action in parser._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or action.dest == "help":
                continue
            text = parser._get_formatter()._expand_help(action)
            where = f"{name} {action.option_strings[0]}: {text!r}"
            if action.default not in (None, False):
                assert "(default: " in text, where
            rest = re.sub(r"\(default: [^)]*\)", "", text)  # what is left must not word a default otherwise
            assert not re.search(r"\(default|default\)|default \$|default \d|(URL|mock) default", rest), where
    help_of = {name: parser.format_help() for name, parser in subparsers().items()}
    assert "(default: 20250301)" in help_of["check"] and "(default: a random one)" in help_of["fuzz"]
    assert "--duration DURATION" in help_of["fuzz"] and "(default: 10m)" in help_of["fuzz"]
    assert "(default: sales-fuzz-report)" in help_of["fuzz"] and "(default: default)" in help_of["check"]
    assert "(default: 4011)" in help_of["proxy"] and "(default: OUT.html with .xml)" in help_of["report merge"]


def test_every_command_documents_its_environment_and_exit_codes() -> None:
    commands = subparsers()
    specs = cli.COMMANDS
    for name, parser in commands.items():
        spec = specs[name.split()[0]]
        text = parser.format_help()
        if name == "report":
            continue  # the group; its one subcommand documents itself
        wanted = [v for v in cli_common.ENVIRONMENT if spec.writes or v != "SALES_API_ALLOW_WRITES"]
        for variable in wanted if spec.target else (spec.environment or {}):
            assert variable in text, f"{name} --help does not name ${variable}"
        for code, meaning in spec.exit_codes.items():
            assert f"  {code}  {meaning}" in text, f"{name} --help does not explain exit {code}"
        assert ("durations:" in text) == ("DURATION" in text), name
    assert "environment variables" not in commands["report merge"].format_help()
    assert "SALES_API_ALLOW_WRITES" not in commands["replay"].format_help()
    assert "1  the failure reproduces" in commands["replay"].format_help()
    assert "reproduces" not in commands["check"].format_help()


def test_durations_are_one_format_everywhere() -> None:
    assert [cli_common.parse_duration(t) for t in ("90s", "10m", "1h", "45", "1.5m")] == [90, 600, 3600, 45, 90]
    for bad in ("", "10x", "-5s", "0", "ten"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli_common.parse_duration(bad)
    parser = cli.build_parser()
    fuzz = parser.parse_args(["fuzz", "--target", "mock", "--duration", "90s", "--timeout", "10s"])
    check = parser.parse_args(["check", "--budget", "2m", "--timeout", "90s"])
    assert (fuzz.duration, fuzz.timeout, check.budget, check.timeout) == (90, 10, 120, 90)


def test_target_defaults_to_the_environment_then_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    args = cli.build_parser().parse_args(["check"])
    assert cli_common.resolve(args, env={}).target == "mock"
    env = {"SALES_API_BASE_URL": "https://staging.example/api/sales/", "SALES_ADMIN_TOKEN": "tok"}
    resolved = cli_common.resolve(args, env=env)
    assert (resolved.target, resolved.admin_token, resolved.timeout) == ("https://staging.example", "tok", 30.0)
    given = cli.build_parser().parse_args(["replay", "f.json", "--target", "http://x", "--admin-token", "t2"])
    assert cli_common.resolve(given, env=env).admin_token == "t2"


def test_check_runs_only_the_tests_named_by_repeated_test_options() -> None:
    """``--test FILE::NAME`` (repeatable): only those tests of the suite (replay, the mutant self-test).

    A file named as failure files recorded before the suite moved to ``contract_tests/suite/`` still names it."""
    argv = ["check", "--test", "contract_tests/test_time.py::test_trial_end_starts_the_first_period"]
    args = cli.build_parser().parse_args([*argv, "--test", "contract_tests/suite/test_invariants_rounding.py"])
    tests = cli.pytest_args(check.run_config(args, cli_common.resolve(args, env={})), Path("pytest.ini"))[:3]
    suite = Path(cli.__file__).parents[1] / "suite"
    assert tests == [
        f"{suite / 'test_time.py'}::test_trial_end_starts_the_first_period",
        str(suite / "test_invariants_rounding.py"),
        "-c",
    ]
    whole = cli.build_parser().parse_args(["check"])
    whole_run = check.run_config(whole, cli_common.resolve(whole, env={}))
    assert cli.pytest_args(whole_run, Path("pytest.ini"))[:2] == [str(suite), "-c"]


def test_fuzz_still_takes_the_old_positional_target() -> None:
    args = cli.build_parser().parse_args(["fuzz", "http://127.0.0.1:1", "--duration", "5s"])
    assert args.legacy_target == "http://127.0.0.1:1" and args.target is None


def test_unknown_operation_id_is_exit_2_listing_the_valid_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "out" / "contract.xml"
    code = cli.main(["check", "--operations", "createQuot,getQuote", "--junit-xml", str(junit)])
    err = capsys.readouterr().err
    assert code == 2 and "unknown operationId createQuot" in err and "createQuote" in err and "listPlans" in err
    xml = junit.read_text()
    assert 'errors="1"' in xml and "unknown operationId createQuot" in xml


@pytest.mark.parametrize("content", [None, "not json {", '{"no": "operation"}'])
def test_an_unreadable_failure_file_is_exit_2_and_a_junit_error(
    tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "failure.json"
    if content is not None:
        path.write_text(content)
    junit = tmp_path / "replay.xml"
    assert cli.main(["replay", str(path), "--junit-xml", str(junit)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(path) in err
    assert "<error" in junit.read_text()


def test_a_usage_error_still_writes_the_junit_file(tmp_path: Path) -> None:
    junit = tmp_path / "usage.xml"
    with pytest.raises(SystemExit) as exited:
        cli.main(["check", "--budget", "soon", "--junit-xml", str(junit)])
    assert exited.value.code == 2 and "usage error" in junit.read_text()


def _mock_transport(handler: Any) -> httpx.Client:
    return httpx.Client(transport=throttle.RetryingTransport(httpx.MockTransport(handler)), base_url="http://t")


def test_throttle_answers_are_retried_with_bounded_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(throttle.time, "sleep", slept.append)
    monkeypatch.setattr(throttle, "STATS", throttle.Stats())
    answers = iter([429, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), headers={"Retry-After": "3600"}, json={})

    with _mock_transport(handler) as client:
        assert client.get("/x").status_code == 200
    assert slept == [throttle.MAX_WAIT, throttle.MAX_WAIT]  # an hour asked for, 10 s waited
    assert throttle.STATS.retried == 2 and "target throttled" in (throttle.STATS.line() or "")


def test_a_persistent_throttle_reaches_the_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(throttle, "STATS", throttle.Stats())
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "slow down"})

    with _mock_transport(handler) as client:
        assert client.get("/x").status_code == 429
    assert len(calls) == throttle.MAX_RETRIES + 1 and throttle.STATS.persisted == 1
    no_header = _mock_transport(lambda request: httpx.Response(503, json={"error": "down"}))
    assert no_header.get("/y").status_code == 503  # no Retry-After: not a throttle, not retried


def test_lists_are_sampled_not_walked() -> None:
    total = 100_000
    requested: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params.get("page", 1)), int(request.url.params["pageSize"])
        requested.append(page)
        data = [{"id": f"q{i}"} for i in range((page - 1) * size, min(total, page * size))]
        return httpx.Response(200, json={"data": data, "total": total, "page": page, "pageSize": size})

    target = Target(name="t", base_url="http://t", api_key="k", entity_id="e")
    api = SalesApi(target, httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t"))
    seen_total, pages = api.sample_pages("/quotes", size=25, samples=3, seed=1)
    assert seen_total == total and 1 in pages and total // 25 in pages and len(requested) <= 5
    with pytest.raises(pytest.skip.Exception, match="more than the 2000"):
        api.list_all("/quotes")
    assert len(requested) <= 6


def test_a_chain_keeps_created_ids_as_placeholders() -> None:
    recording = Recording("ent-1", "ak_secret")
    url = "http://t/api/sales"
    recording.add(
        "POST",
        f"{url}/quotes?entityId=ent-1",
        {"Authorization": "Bearer ak_secret"},
        b"{}",
        201,
        {"id": "quote-123456"},
    )
    body = b'{"quoteId": "quote-123456"}'
    recording.add(
        "POST", f"{url}/orders?entityId=ent-1", {"Authorization": "Bearer ak_secret"}, body, 201, {"id": "order-98765"}
    )
    recording.add(
        "GET", f"{url}/orders/order-98765?entityId=ent-1", {"Authorization": "Bearer ak_secret"}, None, 200, {}
    )
    chain = recording.chain()
    text = json.dumps(chain)
    assert "quote-123456" not in text and "order-98765" not in text and "ent-1" not in text and "ak_secret" not in text
    assert chain[1]["body"] == '{"quoteId": "{{step1.id}}"}' and chain[2]["path"] == "/api/sales/orders/{{step2.id}}"
    assert chain[0]["headers"]["authorization"] == "Bearer {{apiKey}}"
    filled = fill(chain[2], {"step2.id": "o-new", "entityId": "ent-2", "apiKey": "k2"})
    assert filled["path"].endswith("/orders/o-new") and filled["query"] == {"entityId": "ent-2"}
    assert _path_parameters("/quotes/{quoteId}", "/api/sales/quotes/abc") == {"quoteId": "abc"}


def test_the_ledger_survives_a_kill_and_the_sweep_finishes_the_job(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    deleted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1], "status": "draft"})
        deleted.append(request.url.path)
        return httpx.Response(204)

    target = Target(name="t", base_url="http://t", api_key="k", entity_id="e")
    api = SalesApi(target, httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t"))
    janitor = cleanup.Janitor(api, ledger)
    for quote in ("q1", "q2", "q3"):
        janitor.remember("quotes", quote)
    janitor.created = janitor.created[:1]  # q1 cleaned by the run ...
    janitor.clean()
    with open(ledger, "a") as sink:
        sink.write('{"created": "quo')  # ... which was then killed mid-line
    assert cleanup.pending(ledger) == [("quotes", "q2"), ("quotes", "q3")]
    assert cleanup.sweep(ledger, api) == [] and cleanup.pending(ledger) == []
    assert deleted == ["/api/sales/quotes/q1", "/api/sales/quotes/q3", "/api/sales/quotes/q2"]


def test_check_hands_the_suite_one_run_config_and_no_option_on_pytest_s_command_line() -> None:
    from contract_tests.campaign.run_config import RunConfig

    argv = ["check", "--target", "https://staging.example", "--api-key", "ak_secret", "--entity-id", "ent-1"]
    argv += ["--allow-writes", "--seed", "5", "--operations", "getQuote,createQuote", "--profile", "fast"]
    args = cli.build_parser().parse_args([*argv, "--junit-xml", "out.xml", "--shard", "2/3"])
    resolved = cli_common.resolve(args, env={})
    run = check.run_config(args, resolved)
    assert isinstance(run, RunConfig) and run.writes
    assert (run.target, run.api_key, run.entity_id, run.seed, run.profile) == (
        "https://staging.example",
        "ak_secret",
        "ent-1",
        5,
        "fast",
    )
    assert run.operations == ("getQuote", "createQuote") and str(run.shard) == "2/3"
    given = cli.pytest_args(run, Path("pytest.ini"))
    assert not [part for part in given if part.startswith("--sales-")] and "ak_secret" not in given
    assert given[-2:] == ["--junit-xml", "out.xml"]
    mock = cli.build_parser().parse_args(["check", "--read-only"])
    run = check.run_config(mock, cli_common.resolve(mock, env={}))
    assert (run.target, run.api_key, run.read_only, run.writes) == ("mock", None, True, False)
