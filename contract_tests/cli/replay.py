"""``sales-contract replay FILE``: re-creates the chain of requests behind a violation (saved with placeholders,
:mod:`contract_tests.recording`) on a target and re-judges the last call.

A saved failure holds ``chain``: every request that led to the violation, the failing one last.
Ids that earlier steps created appear as ``{{step2.id}}``, the entity as ``{{entityId}}`` and the
key as ``{{apiKey}}``. ``replay`` sends the chain again (in a fresh entity where the target has
``/__admin`` and the failure came from one, else on the target's entity with fresh resources),
re-runs the check that failed on the last answer, cleans up what it created, and exits 1 when
the violation reproduces, 0 when it no longer does.

A failure of one of the suite's scenario tests (``kind: test``) is replayed by running that test
again with the saved seed: it creates its own chain on fresh resources and asserts the same things.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from contract_tests import cli_common, interrupts
from contract_tests.cli import scratch
from contract_tests.cli.check import preflight, run_argv
from contract_tests.cli_common import EXIT_OK, EXIT_VIOLATION, Command
from contract_tests.recording import answer_ids, fill, other_credentials
from contract_tests.target import (
    DEMO_ENTITY_ID,
    DEMO_KEY,
    ENV_VARS,
    MOCK_CLOCK,
    Target,
    UsageError,
    live_target,
    mock_target,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        help="a failure file saved by check --failures-dir or fuzz: replayed on the target it records, with the "
        "credential variables it names (--target replays it elsewhere)",
    )


def run_replay(args: argparse.Namespace) -> int:
    record = cli_common.read_json_file(args.file, "failure file")
    if not isinstance(record, dict) or "operation" not in record or "check" not in record:
        raise UsageError(f"{args.file} is not a sales-contract failure file (no operation and check)")
    recorded = recorded_target(record)
    if args.target is None and recorded is not None:
        args.target = recorded  # where it happened, before $SALES_API_BASE_URL: the file replays as printed
        print(f"replay: against the recorded target {recorded} (--target replays it elsewhere)", flush=True)
        resolved = cli_common.resolve(args)
        _require_credentials(args.file, record, resolved)
    else:
        resolved = cli_common.resolve(args)
    if record.get("kind") == "test" and record.get("test"):
        return _replay_test(args, record, resolved)
    chain = record.get("chain")
    if not isinstance(chain, list) or not chain:
        raise UsageError(f"{args.file} holds no request chain to replay (saved by an older sales-contract?)")
    named = _named_ids(record)
    if named and scratch.wanted(resolved):
        raise UsageError(
            f"{args.file} was recorded in an entity of its target and names its resources ({', '.join(named[:2])}"
            f"{', ...' if len(named) > 2 else ''}), which a scratch entity does not have: replay it in that entity "
            f"with --api-key and --entity-id (the mock's demo entity: --api-key {DEMO_KEY} "
            f"--entity-id {DEMO_ENTITY_ID})"
        )
    try:
        with interrupts.deferring_interrupts(), scratch.entities(resolved, "replay", other=False) as made:
            return _replay_chain(args, record, made.applied(resolved) if made else resolved, made)
    except KeyboardInterrupt:
        raise UsageError("the replay was interrupted (what it had created was cleaned up)") from None


def recorded_target(record: Mapping[str, Any]) -> str | None:
    """Where a failure file says it happened: its ``replay.target`` (a URL or ``mock``), else (a file of an older
    sales-contract) its ``target`` when that is a URL; None when it does not say."""
    replay = record.get("replay")
    if isinstance(replay, Mapping) and isinstance(replay.get("target"), str):
        return str(replay["target"])
    target = record.get("target")
    return str(target) if isinstance(target, str) and target.startswith(("http://", "https://")) else None


def _require_credentials(path: str, record: Mapping[str, Any], resolved: cli_common.Resolved) -> None:
    """The credentials the recorded run had (the file names their variables): each must be set again."""
    replay = record.get("replay")
    names = replay.get("credentials") if isinstance(replay, Mapping) else None
    options = {variable: "--" + field.replace("_", "-") for field, variable in ENV_VARS.items()}
    missing = [name for name in names or [] if name in options and name not in resolved.credentials_env()]
    if missing:
        raise UsageError(
            f"{path} was recorded against {resolved.target} with {', '.join('$' + name for name in missing)}: "
            f"set {'it' if len(missing) == 1 else 'them'} (or pass {', '.join(options[name] for name in missing)}) "
            "to replay it there"
        )


def _named_ids(record: Mapping[str, Any]) -> list[str]:
    """The resource ids a chain recorded in the target's own entity names as they were (not as placeholders):
    they exist in that entity only. A chain recorded in a fresh or scratch entity names none of that entity's."""
    if record.get("scope", "entity") != "entity":
        return []
    return list(dict.fromkeys(UUID.findall(json.dumps(record.get("chain")))))


def _replay_chain(
    args: argparse.Namespace, record: dict[str, Any], resolved: cli_common.Resolved, made: scratch.Scratch | None
) -> int:
    preflight(resolved)
    target = _target(resolved)
    chain = record["chain"]
    scope = f" in a {made.describe()}" if made else ""
    print(f"replay: {record['operation']} / {record['check']} ({len(chain)} request(s)) against {target.name}{scope}")
    outcome = replay_chain(record, target)
    for line in outcome.log:
        print(f"  {line}")
    if outcome.leftovers:
        print("  could not clean up: " + "; ".join(outcome.leftovers))
    if outcome.problem:
        print(f"REPRODUCES: {outcome.problem}")
        _junit(args, record, outcome.problem)
        return EXIT_VIOLATION
    print("no longer reproduces")
    _junit(args, record, None)
    return EXIT_OK


COMMAND = Command(
    "replay",
    "re-create a saved failure's chain on a target and re-check it",
    configure,
    run_replay,
    writes=False,
    selection=False,
    exit_codes={
        EXIT_OK: "the failure no longer reproduces",
        EXIT_VIOLATION: "the failure reproduces",
        cli_common.EXIT_USAGE: "usage or target problem: bad option, unreadable failure file, unreachable target, "
        "refused credentials, interrupted replay",
    },
)


def _target(resolved: cli_common.Resolved) -> Target:
    if resolved.is_mock:
        from dataclasses import replace

        return replace(mock_target("in-process mock"), timeout=resolved.timeout, admin_token=resolved.admin_token)
    return live_target(
        resolved.target,
        api_key=resolved.api_key,
        entity_id=resolved.entity_id,
        allow_writes=True,
        admin_token=resolved.admin_token,
        timeout=resolved.timeout,
        readonly_key=resolved.readonly_key,
        other_entity_id=resolved.other_entity_id,
        other_key=resolved.other_key,
    )


def _junit(args: argparse.Namespace, record: Mapping[str, Any], problem: str | None) -> None:
    if not args.junit_xml:
        return
    from xml.sax.saxutils import escape, quoteattr

    name = f"replay {record['operation']} / {record['check']}"
    inner = f"<failure message={quoteattr(problem[:500])}>{escape(problem)}</failure>" if problem else ""
    Path(args.junit_xml).write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuites><testsuite name="sales-contract replay" tests="1" errors="0" failures="{int(bool(problem))}">'
        f"<testcase classname={quoteattr('sales-contract.replay')} name={quoteattr(name)}>{inner}</testcase>"
        "</testsuite></testsuites>\n"
    )


@dataclass
class Outcome:
    problem: str | None
    log: list[str]
    leftovers: list[str]


def replay_chain(record: Mapping[str, Any], target: Target, app: Any = None) -> Outcome:
    """Send the chain to ``target`` (an in-process target: ``app``, else a fresh mock) and judge the
    last answer with the check that failed."""
    from contract_tests.cleanup import Janitor
    from contract_tests.client import SalesApi, make_http_client

    if target.in_process and app is None:
        from contract_tests.target import build_mock_app

        app = build_mock_app()
    log: list[str] = []
    with make_http_client(target, app) as http:
        scope = _Scope(http, target, fresh=record.get("scope") == "fresh")
        values = {"entityId": scope.entity_id, "apiKey": scope.api_key}
        values |= {name: value for value, name in other_credentials(target).items()}
        api = SalesApi(target, http)
        janitor = Janitor(api)
        if scope.made:
            log.append(f"in a fresh entity {scope.entity_id} (removed afterwards)")
        last: httpx.Response | None = None
        try:
            for index, raw in enumerate(record["chain"], start=1):
                step = fill(raw, values)
                last = _send(http, step)
                note = ""
                if last.status_code == 409 and 200 <= int(raw["status"]) < 300 and (renamed := _unique_code(step)):
                    # The first run took this unique code (a plan's): re-create the resource under a fresh one.
                    step, note = renamed, " (with a fresh unique code)"
                    last = _send(http, step)
                log.append(
                    f"{index}. {step['method']} {step['path']} -> {last.status_code} (then {raw['status']}){note}"
                )
                if 200 <= last.status_code < 300:
                    values.update({f"step{index}.{where}": v for where, v in answer_ids(_json(last)).items()})
                created = _created_id(step["method"], last)
                if created:
                    kind = step["path"].rstrip("/").rsplit("/", 1)[-1]
                    if not scope.made and kind in ("quotes", "orders", "plans", "subscriptions"):
                        janitor.remember(kind, created)
            assert last is not None
            problem = judge(record, step, last, target, app)
        finally:
            leftovers = janitor.clean()
            scope.leave()
    return Outcome(problem, log, leftovers)


def _send(http: httpx.Client, step: Mapping[str, Any]) -> httpx.Response:
    return http.request(
        step["method"],
        step["path"],
        params=step.get("query") or {},
        headers=step.get("headers") or {},
        content=step["body"].encode() if step.get("body") is not None else None,
    )


def _unique_code(step: Mapping[str, Any]) -> dict[str, Any] | None:
    """The step with its body's ``code`` made unique, or None when it has no such field."""
    body = _json_or_text(step.get("body") or "")
    if step["method"] != "POST" or not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return None
    import uuid

    body["code"] = f"{body['code'][:50]}-r{uuid.uuid4().hex[:8]}"
    return {**step, "body": json.dumps(body)}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _created_id(method: str, response: httpx.Response) -> str | None:
    if method.upper() != "POST" or not 200 <= response.status_code < 300:
        return None
    body = _json(response)
    return str(body["id"]) if isinstance(body, dict) and isinstance(body.get("id"), str) else None


class _Scope:
    """A fresh demo entity on a mock with ``/__admin`` (when the failure came from one), else the target's."""

    def __init__(self, http: httpx.Client, target: Target, fresh: bool) -> None:
        self.http = http
        self.entity_id, self.api_key = target.entity_id, target.api_key
        self.made: str | None = None
        if not fresh:
            return
        try:
            health = http.get("/__admin/health").status_code
        except httpx.HTTPError:
            health = 0
        if health != 200:
            return
        body = {"name": "contract-replay", "fixtures": "demo", "clock": MOCK_CLOCK}
        created = http.post("/__admin/entities", json=body)
        if created.status_code != 201:
            raise UsageError(f"the target's /__admin refused a fresh entity ({created.status_code})")
        data = created.json()
        self.made = self.entity_id = data["entityId"]
        self.api_key = data["apiKeys"]["readWrite"]

    def leave(self) -> None:
        if self.made:
            self.http.delete(f"/__admin/entities/{self.made}")
            self.made = None


def judge(
    record: Mapping[str, Any], step: Mapping[str, Any], response: httpx.Response, target: Target, app: Any
) -> str | None:
    """Run the check named in ``record`` on the replayed answer; the failure message, or None when it passes."""
    check = str(record["check"]).removeprefix("stateful:")
    if check == "negative_data_rejection":
        # The request is the same schema-invalid one: accepting it again is the same violation.
        if 200 <= response.status_code < 300:
            return f"the schema-invalid request was accepted again ({response.status_code})"
        return None
    if check == "positive_data_acceptance":
        from contract_tests.profiles import POSITIVE_ACCEPTED

        accepted = {s for s in POSITIVE_ACCEPTED if s != "2xx"}
        if 200 <= response.status_code < 300 or str(response.status_code) in accepted:
            return None
        return f"the schema-valid request was rejected again ({response.status_code}: {response.text[:200]})"
    return _schemathesis_check(record, check, step, response, target, app)


def _schemathesis_check(
    record: Mapping[str, Any],
    check: str,
    step: Mapping[str, Any],
    response: httpx.Response,
    target: Target,
    app: Any,
) -> str | None:
    import schemathesis
    from schemathesis.checks import CHECKS, load_all_checks

    from contract_tests.oracle import checks as suite_checks
    from contract_tests.profiles import get_profile, schemathesis_config
    from contract_tests.target import spec_path

    load_all_checks()
    suite_checks.register_checks()
    functions: list[Any] = [fn for fn in CHECKS.get_all() if getattr(fn, "__name__", "") == check]
    if not functions:
        raise UsageError(f"the failure names a check this version does not have: {check}")
    config = schemathesis_config(get_profile("fast"), target, None)
    schema = schemathesis.openapi.from_path(str(spec_path()), config=config)
    if app is not None:
        schema.app = app
    else:
        schema.config.update(base_url=target.origin)
    suite_checks.claim(schema)
    operation = schema.find_operation_by_id(str(record["operation"]))
    path_parameters = _path_parameters(str(operation.path), str(step["path"]))
    body: Any = schemathesis.core.NOT_SET if step.get("body") is None else _json_or_text(step["body"])
    case = operation.Case(
        method=str(step["method"]).upper(),  # type: ignore[arg-type]
        path_parameters=path_parameters,
        headers=dict(step.get("headers") or {}),
        query=dict(step.get("query") or {}),
        body=body,
    )
    try:
        case.validate_response(response, checks=functions)
    except (AssertionError, BaseExceptionGroup) as exc:
        return str(exc).strip()[:2000]
    return None


def _path_parameters(template: str, path: str) -> dict[str, str]:
    """``/quotes/{quoteId}`` and ``/api/sales/quotes/q1`` -> ``{"quoteId": "q1"}``."""
    names = re.findall(r"\{([^}]+)\}", template)
    pattern = re.escape(template)
    for index, name in enumerate(names):
        pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<p{index}>[^/]+)")
    found = re.search(pattern + "$", path)
    if not found:
        return {}
    return {name: found.group(f"p{index}") for index, name in enumerate(names)}


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _replay_test(args: argparse.Namespace, record: Mapping[str, Any], resolved: cli_common.Resolved) -> int:
    """Run the scenario test again (it builds its own chain on fresh resources) with the saved seed."""
    test = str(record["test"])
    print(f"replay: {record['operation']} / {record['check']}: running {test} again against {resolved.target}")
    argv = ["--profile", "fast", "--allow-writes", "--test", test.split("[", 1)[0]]
    if record.get("seed") is not None:
        argv += ["--seed", str(record["seed"])]
    code = run_argv(argv + _shared_argv(args))
    if code == EXIT_VIOLATION:
        print("REPRODUCES")
    elif code == EXIT_OK:
        print("no longer reproduces")
    return code


def _shared_argv(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for option in (
        "target",
        "api_key",
        "entity_id",
        "readonly_key",
        "other_entity_id",
        "other_key",
        "admin_token",
        "timeout",
        "junit_xml",
    ):
        value = getattr(args, option, None)
        if value is not None:
            out += ["--" + option.replace("_", "-"), str(value)]
    return out
