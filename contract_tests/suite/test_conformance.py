"""Layer 1: every operation, every built-in Schemathesis check plus the suite's own, in positive and
negative modes, through the examples, coverage and fuzzing phases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from schemathesis import Case

from contract_tests.cleanup import Janitor
from contract_tests.client import reproducible
from contract_tests.oracle import checks
from contract_tests.recording import Recording
from contract_tests.report import failure_checks, get_recorder
from contract_tests.target import Target

schema = schemathesis.pytest.from_fixture("sales_schema")


@schema.parametrize()
def test_conformance(
    case: Case[Any], sales_target: Target, janitor: Janitor, sales_session: Any, request: pytest.FixtureRequest
) -> None:
    recorder = get_recorder(request.config)
    recorder.enforce_budget()
    if not sales_target.mock and case.method.upper() != "GET":
        # On a live server, change only what this run created: any other id becomes an unknown one (404).
        for name, value in (case.path_parameters or {}).items():
            if value not in janitor.own_ids:
                case.path_parameters[name] = str(uuid.uuid4())
    label = case.operation.definition.raw.get("operationId") or case.operation.label
    failed: set[str] = set()
    response = None
    try:
        response = case.call(session=sales_session)
        case.validate_response(response, transport_kwargs={"session": sales_session} if sales_session else None)
    except (AssertionError, BaseExceptionGroup) as exc:
        curl = reproducible(case.as_curl_command(), sales_target)
        chain = _chain(response, sales_target)
        for check, message in failure_checks(exc):
            failed.add(check)
            message = f"{message}\nReproduce with:\n  {curl}"
            recorder.failed(sales_target.name, label, check, message, chain=chain)
        raise
    finally:
        recorder.operations[label].passed += 0 if failed else 1
        judged = checks.applied(case)
        for check in judged - failed:  # a check counts as passed only where it had something to judge
            recorder.checks[check].passed += 1
        for check in enabled_checks(case) - judged - failed:  # ran, found nothing to judge: not exercised
            if check in checks.NEVER_HERE:
                recorder.not_exercised([], check, checks.NEVER_HERE[check])
            else:
                recorder.checks[check].skipped += 1


def _chain(response: Any, target: Target) -> list[dict[str, Any]] | None:
    """The one request of a conformance case, as a replayable chain (it needs no earlier step)."""
    if response is None:
        return None
    request = response.request
    recording = Recording(target.entity_id, target.api_key)
    body = request.body if isinstance(request.body, (bytes, str)) else None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    recording.add(str(request.method), str(request.url), request.headers, body, response.status_code, answer)
    return recording.chain()


def enabled_checks(case: Case[Any]) -> set[str]:
    """Names of the checks (built-in and the suite's) enabled for this case's response."""
    from schemathesis.checks import CHECKS

    config = case.operation.schema.config.checks
    names = {getattr(check, "__name__", "") for check in CHECKS.get_all() if not isinstance(check, type)}
    return {name for name in names if name and config.get_by_name(name=name).enabled}
