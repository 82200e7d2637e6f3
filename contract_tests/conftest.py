"""pytest wiring of the contract suite: options, the target fixture, the schema, the recorder.

By default every contract test runs twice: against the mock's ASGI app in this process, and
against the mock started as a separate process on 127.0.0.1 (or ``SALES_API_BASE_URL`` when
set). ``--sales-target mock|URL`` selects one target (this is what ``sales-contract`` does).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.schemas import BaseSchema

from contract_tests import campaign
from contract_tests.campaign import progress, run_config
from contract_tests.cleanup import Janitor
from contract_tests.client import SalesApi, curl_command, make_http_client
from contract_tests.oracle import checks
from contract_tests.process import free_port, sales_mock_command, serve
from contract_tests.profiles import Profile, get_profile, schemathesis_config
from contract_tests.report import get_recorder
from contract_tests.suite import compat, needs
from contract_tests.target import (
    ENV_VARS,
    Target,
    UsageError,
    build_mock_app,
    credential_names,
    live_target,
    mock_target,
    spec_path,
)

compat.install()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sales-contract", "Sales API contract suite")
    group.addoption("--sales-target", default=None, help="mock (in-process) or a base URL; default: both mocks")
    group.addoption("--sales-api-key", default=None, help=f"API key for a URL target (or {ENV_VARS['api_key']})")
    group.addoption("--sales-entity-id", default=None, help=f"entity id for a URL target ({ENV_VARS['entity_id']})")
    group.addoption(
        "--sales-allow-writes", action="store_true", default=False, help="allow writes on a URL target (or env 1)"
    )
    group.addoption("--sales-read-only", action="store_true", default=False, help="GETs only, even on the mock")
    group.addoption("--sales-profile", default="default", choices=["default", "fast", "fuzz"])
    group.addoption("--sales-max-examples", type=int, default=None)
    group.addoption("--sales-seed", type=int, default=None)
    group.addoption("--sales-operations", default=None, help="comma-separated operationIds to test")
    group.addoption(
        "--sales-admin-token", default=None, help=f"the target's /__admin token ({ENV_VARS['admin_token']})"
    )
    group.addoption("--sales-readonly-key", default=None, help=f"a read-only key ({ENV_VARS['readonly_key']})")
    group.addoption("--sales-other-entity-id", default=None, help=f"a second entity ({ENV_VARS['other_entity_id']})")
    group.addoption("--sales-other-key", default=None, help=f"the second entity's key ({ENV_VARS['other_key']})")
    group.addoption("--sales-timeout", type=float, default=30.0, help="per-request timeout in seconds")
    group.addoption("--sales-budget", type=float, default=None, help="stop sending requests after SECONDS")
    group.addoption("--sales-ledger", default=None, help="append created resources to this JSON-lines file")
    campaign.add_pytest_options(group)


def pytest_configure(config: pytest.Config) -> None:
    checks.register_checks()  # the suite's own Schemathesis checks
    campaign.register(config)  # --sales-shard, --sales-example-db, results in the JUnit file
    config.addinivalue_line("markers", "sales_ops(*operation_ids): operations a scenario test exercises")
    config.addinivalue_line(
        "markers", "sales_needs(*needs): what a rule needs of the target: writes, readonly_key, second_entity, admin"
    )
    # Starlette's TestClient (ours and Schemathesis' ASGI transport) warns that httpx support will move.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Using `httpx` with `starlette.testclient`:starlette.exceptions.StarletteDeprecationWarning",
    )


LAST = ("test_stateful.py", "test_conformance.py")


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    run = run_config.get(config)
    profile = get_profile(run.profile, seed=run.seed)
    recorder = get_recorder(config)
    recorder.seed = profile.seed
    recorder.start_budget(run.budget)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Past ``--sales-budget`` no test starts; the summary counts what was left out."""
    get_recorder(item.config).enforce_budget()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deterministic scenarios first (quick, pointed findings), generated layers last; with
    ``--sales-operations``, keep conformance (filtered by operation) and the scenarios touching them."""
    is_ours = [campaign.is_contract_test(item) for item in items]
    ours = [item for item, mine in zip(items, is_ours, strict=True) if mine]
    ours.sort(key=lambda item: LAST.index(item.fspath.basename) + 1 if item.fspath.basename in LAST else 0)
    slots = iter(ours)
    items[:] = [next(slots) if mine else item for item, mine in zip(items, is_ours, strict=True)]
    selected = set(campaign.selected_operations(config))
    if not selected:
        return
    drop = [item for item in ours if not _touches(item, selected)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        dropped = {id(item) for item in drop}
        items[:] = [item for item in items if id(item) not in dropped]


def _touches(item: pytest.Item, operations: set[str]) -> bool:
    marker = item.get_closest_marker("sales_ops")
    return item.fspath.basename == "test_conformance.py" or (marker is not None and bool(operations & set(marker.args)))


def _target_names(config: pytest.Config) -> list[str]:
    chosen = run_config.get(config).target
    if chosen:
        return ["inprocess" if chosen == "mock" else chosen]
    return ["inprocess", os.environ.get(ENV_VARS["base_url"]) or "process"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sales_target_name" in metafunc.fixturenames:
        metafunc.parametrize("sales_target_name", _target_names(metafunc.config), scope="session")


@pytest.fixture(scope="session")
def sales_profile(pytestconfig: pytest.Config) -> Profile:
    run = run_config.get(pytestconfig)
    profile = get_profile(run.profile, max_examples=run.max_examples, seed=run.seed)
    get_recorder(pytestconfig).seed = profile.seed
    return replace(profile, example_db=campaign.example_database(pytestconfig))


@pytest.fixture(scope="session")
def mock_process_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real ``sales-mock serve`` on a free port with the clock frozen at 2025-03-01."""
    port = free_port()
    log = tmp_path_factory.mktemp("mock") / "sales-mock.log"
    with serve(sales_mock_command(port), port, log_path=log) as url:
        yield url


@pytest.fixture(scope="session")
def sales_target(sales_target_name: str, request: pytest.FixtureRequest) -> Target:
    url = request.getfixturevalue("mock_process_url") if sales_target_name == "process" else None
    target = build_target(request.config, sales_target_name, url)
    get_recorder(request.config).credentials = credential_names(target)  # what a replay of its failures needs
    return target


def build_target(config: pytest.Config, name: str, url: str | None = None) -> Target:
    """The target named ``name`` (``inprocess``, ``process`` at ``url``, or a base URL) with the run's options."""
    run = run_config.get(config)
    if name in ("inprocess", "process"):
        target = replace(
            mock_target("mock process" if name == "process" else "in-process mock", url), timeout=run.timeout
        )
        return replace(target, allow_writes=False) if run.read_only else target
    return live_target(
        name,
        api_key=run.api_key,
        entity_id=run.entity_id,
        allow_writes=run.allow_writes and not run.read_only,
        admin_token=run.admin_token,
        timeout=run.timeout,
        readonly_key=run.readonly_key,
        other_entity_id=run.other_entity_id,
        other_key=run.other_key,
    )


CAPABILITIES_KEY = pytest.StashKey[dict[str, needs.Capabilities]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before the first test: which rules the target cannot serve, and why (the upfront notice)."""
    config = session.config
    items = [item for item in session.items if campaign.is_contract_test(item)]
    names = {str(item.callspec.params["sales_target_name"]) for item in items if hasattr(item, "callspec")} & set(
        _target_names(config)
    )
    offered: dict[str, needs.Capabilities] = {}
    for name in sorted(names):
        try:
            offered[name] = needs.capabilities(build_target(config, name))
        except UsageError:
            continue  # the target fixture reports it
    config.stash[CAPABILITIES_KEY] = offered
    recorder = get_recorder(config)
    for reason, rules in needs.notice(items, offered).items():
        recorder.notice(reason, rules)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in recorder.notice_lines():
            reporter.write_line(line)


@pytest.fixture(autouse=True)
def _sales_needs(request: pytest.FixtureRequest) -> None:
    """Skip a rule whose needs the target does not meet, with the reason the upfront notice gave."""
    wanted = needs.needs_of(request.node)
    if not wanted:
        return
    target: Target = request.getfixturevalue("sales_target")
    name = str(request.node.callspec.params.get("sales_target_name")) if hasattr(request.node, "callspec") else ""
    offered = request.config.stash.get(CAPABILITIES_KEY, {}).get(name) or needs.capabilities(target)
    reason = needs.missing(wanted, offered)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def mock_app() -> Any:
    return build_mock_app()


@pytest.fixture(scope="session")
def http_client(sales_target: Target, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    app = request.getfixturevalue("mock_app") if sales_target.in_process else None
    with make_http_client(sales_target, app) as client:
        yield client


@pytest.fixture(scope="session")
def janitor(sales_target: Target, http_client: httpx.Client, pytestconfig: pytest.Config) -> Iterator[Janitor]:
    """Remembers what the suite created and cleans it up at the end, however the session ends (a
    deadline, Ctrl-C or SIGTERM via ``sales-contract``); reports what it could not clean."""
    ledger = run_config.get(pytestconfig).ledger
    janitor = Janitor(SalesApi(sales_target, http_client), Path(ledger) if ledger else None)
    try:
        yield janitor
    finally:
        recorder = get_recorder(pytestconfig)
        janitor.clean()
        recorder.created += janitor.total
        recorder.leftovers.extend(janitor.leftovers)


@pytest.fixture
def api(sales_target: Target, http_client: httpx.Client, janitor: Janitor, request: pytest.FixtureRequest) -> SalesApi:
    api = SalesApi(sales_target, http_client)
    api.janitor = janitor
    api.budget = get_recorder(request.config)
    return api


@pytest.fixture
def writable(sales_target: Target) -> Target:
    """Skip unless the target may be written to."""
    if not sales_target.allow_writes:
        pytest.skip(needs.REASONS[needs.WRITES])
    return sales_target


@pytest.fixture(scope="session")
def sales_schema(
    sales_target: Target, sales_profile: Profile, janitor: Janitor, request: pytest.FixtureRequest
) -> BaseSchema:
    """The contract, bound to the target, with the entity pinned and the operations selected."""
    selected = campaign.selected_operations(request.config)
    config = schemathesis_config(sales_profile, sales_target, campaign.conformance_operations(request.config, selected))
    schema: BaseSchema = schemathesis.openapi.from_path(str(spec_path()), config=config)
    if sales_target.in_process:
        schema.app = request.getfixturevalue("mock_app")
    else:
        schema.config.update(base_url=sales_target.origin + _server_prefix(schema.raw_schema))
    schema.hook("after_call")(janitor.hook())
    schema.hook("after_validate")(checks.remember_applied)  # which checks judged each case
    progress.watch(schema, request.config)  # a fuzz round: count the generated requests
    checks.claim(schema)
    return schema


@pytest.fixture(scope="session")
def sales_session(sales_target: Target) -> Iterator[Any]:
    """The requests session of Schemathesis' calls to a URL target: throttle answers are retried."""
    if sales_target.in_process:
        yield None
        return
    from contract_tests.throttle import every_requests_session, session

    if sales_target.mock:
        with session() as made:
            yield made
        return
    # A live server: the checks' own probes retry throttle answers too.
    with every_requests_session(), session() as made:
        yield made


def _server_prefix(raw: dict[str, Any]) -> str:
    """The path part of the spec's first server (``/api/sales``), unless paths already carry it."""
    if any(str(path).startswith("/api/sales") for path in raw.get("paths", {})):
        return ""
    servers = raw.get("servers") or [{"url": ""}]
    url = str(servers[0].get("url", ""))
    return "/" + httpx.URL(url).path.strip("/") if url.strip("/") else ""


SELF_RECORDED = ("test_conformance", "test_stateful_links")
"""Tests that count their own cases (each generated case, each linked call); their skips are counted here."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Every contract test counts towards its rule (once per case) and its operations (``sales_ops``): passed
    when it ran and held, failed with its violation, NOT EXERCISED when it skipped (why is kept, and the skip
    is worded so in the JUnit file): a skipped rule never reads as passed."""
    report: pytest.TestReport = yield
    if not campaign.is_contract_test(item):
        return report
    recorder = get_recorder(item.config)
    rule = needs.rule_of(item)
    marker = item.get_closest_marker("sales_ops")
    operations = list(marker.args) if marker is not None else []
    if report.skipped:
        reason = _not_exercised(report)
        if rule != "test_conformance":  # a generated case past the budget is counted as such
            recorder.not_exercised(operations, rule, reason)
        return report
    if report.failed and rule not in SELF_RECORDED:
        # One violation per test, however many operations it exercises, with this test's own requests.
        api = _api_of(item)
        callspec = getattr(item, "callspec", None)
        target = str(callspec.params.get("sales_target_name")) if callspec else "?"
        recorder.failed(
            target,
            ",".join(operations) or rule,
            rule,
            _failure_text(item, report),
            chain=_chain_of(api),
            kind="test",
            test=item.nodeid,
            operations=operations,
        )
    elif report.when == "call" and report.passed and rule not in SELF_RECORDED:
        recorder.test_passed(operations, rule)
    return report


def _not_exercised(report: pytest.TestReport) -> str:
    """The skip's reason, and the skip reworded ``NOT EXERCISED: <reason>`` (terminal and JUnit file)."""
    if not (isinstance(report.longrepr, tuple) and len(report.longrepr) == 3):
        return ""
    path, line, message = report.longrepr
    reason = str(message).removeprefix("Skipped: ").removeprefix(NOT_EXERCISED)
    report.longrepr = (path, line, NOT_EXERCISED + reason)
    return reason


NOT_EXERCISED = "NOT EXERCISED: "


def _chain_of(api: SalesApi | None) -> list[dict[str, Any]] | None:
    if api is None or not api.chain:
        return None
    from contract_tests.recording import Recording, other_credentials

    recording = Recording(api.target.entity_id, api.target.api_key, other_credentials(api.target))
    for response in api.chain:
        recording.add_httpx(response)
    return recording.chain()


def _failure_text(item: pytest.Item, report: pytest.TestReport) -> str:
    """The assertion lines, plus the test's last request as curl when the failure does not carry one."""
    text = report.longreprtext.strip().splitlines()
    message = "\n".join(line for line in text if line.startswith("E ") or "curl -X" in line)[-2000:]
    api = _api_of(item)
    last = api.last_response if api is not None else None
    if "curl -X" not in message and api is not None and last is not None:
        message += f"\nLast request (answered {last.status_code}):\n  {curl_command(last.request, api.target)}"
    return message


def _api_of(item: pytest.Item) -> SalesApi | None:
    for value in getattr(item, "funcargs", {}).values():
        for candidate in value if isinstance(value, tuple) else (value,):
            if isinstance(candidate, SalesApi):
                return candidate
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    from contract_tests.throttle import STATS

    recorder = get_recorder(config)
    recorder.throttle = STATS.line()
    if recorder.operations or recorder.failures or recorder.skips:
        terminalreporter.write_sep("=", "Sales API contract")
        for line in recorder.summary_lines():
            terminalreporter.write_line(line)
