"""Custom Schemathesis checks: business invariants that hold for any single response.

They recognise documents by shape (not by operationId), so they also run on the stateful
layer's responses and on any server. Importing this module registers nothing: :func:`register_checks`
makes them Schemathesis checks, called where the suite starts (its conftest, ``replay``).

A check that finds nothing to judge in a response (no document, no error, not a list) returns True:
Schemathesis' sign that it did not apply. :func:`remember_applied` (an ``after_validate`` hook) keeps, per
case, the checks that did judge it, the built-in ones included (:func:`builtin_applies`), so the summary
counts a check as passed only on the cases it applied to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import CHECKS

from contract_tests import oracle

MONEY_KEYS = frozenset(
    {"unitPrice", "amount", "taxAmount", "subtotal", "taxTotal", "total", "creditApplied", "amountDue"}
    | {"creditBalance", "unitAmount", "credit", "charge", "net", "mrr", "arr", "arpa"}
)
LEAK_MARKERS = ("Traceback (most recent call last)", 'File "/', "mock_server.", "site-packages", "Exception:")


# Checks are registered process-wide; they judge only the suite's own schemas, not those of other
# Schemathesis tests running in the same pytest session.
_CLAIMED: set[int] = set()


def claim(schema: Any) -> None:
    """Apply the suite's checks to ``schema`` (and its clones, which share its config)."""
    _CLAIMED.add(id(schema.config))


def _ours(case: Case[Any]) -> bool:
    return id(case.operation.schema.config) in _CLAIMED


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _ok(response: Response) -> bool:
    return 200 <= response.status_code < 300


def _fail(problems: list[str]) -> None:
    if problems:
        raise AssertionError("; ".join(problems[:8]))


def sales_document_arithmetic(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Quote/order lines: ``amount``/``taxAmount`` recomputed, then subtotal, taxTotal, total."""
    if not _ours(case):
        return True
    if not _ok(response):
        return True
    judged = False
    for node in _walk(_json(response)):
        lines = node.get("lines")
        if isinstance(lines, list) and lines and isinstance(lines[0], Mapping) and "unitPrice" in lines[0]:
            judged = True
            _fail(oracle.problems_sales_document(node))
    return None if judged else True


def invoice_arithmetic(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Invoices anywhere in a response: per-line tax, totals, credit application, born-paid rule."""
    if not _ours(case):
        return True
    if not _ok(response):
        return True
    judged = False
    for node in _walk(_json(response)):
        if "amountDue" in node and "lines" in node:
            judged = True
            _fail(oracle.problems_invoice(node))
    return None if judged else True


def proration_consistency(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A change-plan's proration: net = credit + charge, day counts, credit never positive."""
    if not _ours(case):
        return True
    body = _json(response)
    if not (_ok(response) and isinstance(body, Mapping) and isinstance(body.get("proration"), Mapping)):
        return True
    _fail(oracle.problems_proration_shape(body["proration"]))
    return None


def _int_query(case: Case[Any], name: str, default: int) -> int | None:
    value = (case.query or {}).get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def pagination_consistency(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A page echoes page/pageSize, holds min(pageSize, what is left) items, and is empty past the end."""
    if not _ours(case):
        return True
    body = _json(response)
    if not _ok(response) or not isinstance(body, Mapping) or "total" not in body or "pageSize" not in body:
        return True
    page, size = _int_query(case, "page", 1), _int_query(case, "pageSize", 20)
    problems = []
    if page is not None and body.get("page") != page:
        problems.append(f"page is {body.get('page')!r}, the request asked for {page}")
    if size is not None and body.get("pageSize") != size:
        problems.append(f"pageSize is {body.get('pageSize')!r}, the request asked for {size}")
    if page is not None and size is not None and isinstance(body.get("total"), int):
        expected = max(0, min(size, body["total"] - (page - 1) * size))
        if len(body.get("data") or []) != expected:
            problems.append(f"page {page} of size {size} with total {body['total']} has {len(body['data'])} items")
    _fail(problems)
    return None


def status_filter_respected(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """A list filtered by ``status`` returns only items in that status."""
    if not _ours(case):
        return True
    body = _json(response)
    wanted = (case.query or {}).get("status")
    if not _ok(response) or not isinstance(wanted, str) or not isinstance(body, Mapping):
        return True
    if case.method.upper() != "GET":
        return True
    wrong = [item.get("id") for item in body.get("data") or [] if item.get("status") != wanted]
    _fail([f"status={wanted} returned items in other statuses: {wrong[:3]}"] if wrong else [])
    return None


def money_is_integer(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Money is an integer count of minor units, never a float or a string."""
    if not _ours(case):
        return True
    if not _ok(response):
        return True
    money = [(key, value) for node in _walk(_json(response)) for key, value in node.items() if key in MONEY_KEYS]
    bad = [f"{key}={value!r}" for key, value in money if isinstance(value, bool) or not isinstance(value, int)]
    _fail([f"money must be integer minor units: {', '.join(bad[:5])}"] if bad else [])
    return None if money else True


def error_body_contract(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Errors are JSON ``{"error": str}`` and never carry a stack trace or internal name."""
    if not _ours(case):
        return True
    if response.status_code < 400:
        return True
    text = response.text or ""
    leaks = [marker for marker in LEAK_MARKERS if marker in text]
    body = _json(response)
    problems = [f"the error body leaks internals ({', '.join(leaks)})"] if leaks else []
    if not isinstance(body, Mapping) or not isinstance(body.get("error"), str) or not body["error"]:
        problems.append('an error body must be JSON {"error": "<message>"}')
    _fail(problems)
    return None


def date_problems(method: str, path: str, request: Any, status: int, body: Any) -> list[str]:
    """Every derived date in a 2xx answer recomputed: subscription periods from their anchor (month
    ends, leap days), trial ends, invoice due dates, quote validity. ``request`` is the sent JSON body."""
    if not 200 <= status < 300:
        return []
    path = path.rstrip("/")
    sent = request if isinstance(request, Mapping) else {}
    problems: list[str] = []
    for node in _walk(body):
        if "billingCycleAnchor" in node and "currentPeriodEnd" in node:
            problems += oracle.problems_subscription_dates(node)
        if "amountDue" in node and "dueDate" in node:
            billed = method == "POST" and path.endswith("/generate-invoice") and status == 201
            due = sent.get("dueInDays", 30) if billed else None
            problems += oracle.problems_invoice_dates(node, due if isinstance(due, int) else None)
        if "validUntil" in node and "issueDate" in node:
            created = method == "POST" and path.endswith("/quotes") and status == 201 and node is body
            problems += oracle.problems_quote_dates(node, sent if created else None)
    if method == "POST" and path.endswith("/subscriptions") and status == 201 and isinstance(body, Mapping):
        problems += oracle.problems_new_subscription(body, sent)
    return problems


def answer_problems(method: str, path: str, request: Any, status: int, body: Any) -> list[str]:
    """What the custom checks find in one answer, for the suite's own requests (scenario tests), so the
    oracle judges every value the suite sees, not only those of generated requests."""
    if not 200 <= status < 300:
        return []
    problems: list[str] = []
    for node in _walk(body):
        lines = node.get("lines")
        if "amountDue" in node and "lines" in node:
            problems += oracle.problems_invoice(node)
        elif isinstance(lines, list) and lines and isinstance(lines[0], Mapping) and "unitPrice" in lines[0]:
            problems += oracle.problems_sales_document(node)
        if isinstance(node.get("proration"), Mapping):
            problems += oracle.problems_proration_shape(node["proration"])
    return problems + date_problems(method, path, request, status, body)


def derived_dates(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Periods, trial ends, due dates and validity recomputed from what the answer and the request say."""
    if not _ours(case):
        return True
    answer = _json(response)
    if not _ok(response) or not any(_dated(node) for node in _walk(answer)):
        return True
    body = case.body if isinstance(case.body, Mapping) else None
    _fail(date_problems(case.method.upper(), str(case.formatted_path), body, response.status_code, answer))
    return None


def _dated(node: Mapping[str, Any]) -> bool:
    """A subscription, an invoice or a quote: a document with dates :func:`date_problems` recomputes."""
    return ("billingCycleAnchor" in node and "currentPeriodEnd" in node) or any(
        pair <= node.keys() for pair in ({"amountDue", "dueDate"}, {"validUntil", "issueDate"})
    )


# -- Which checks judged a case --------------------------------------------------------------------

_APPLIED: dict[str, set[str]] = {}


def remember_applied(context: Any, case: Case[Any], response: Response, results: list[Any]) -> None:
    """``after_validate`` hook: the checks that judged ``case`` (passed or failed, not skipped), for :func:`applied`."""
    from schemathesis.engine import Status

    judged = {result.name for result in results if result.status is not Status.SUCCESS}
    judged |= {
        result.name
        for result in results
        if result.status is Status.SUCCESS and builtin_applies(result.name, case, response)
    }
    _APPLIED[case.id] = judged


def applied(case: Case[Any]) -> set[str]:
    """The checks that judged ``case`` (its entry is consumed: one call per case)."""
    return _APPLIED.pop(case.id, set())


def builtin_applies(name: str, case: Case[Any], response: Response) -> bool:
    """Whether a built-in check that ran without failing had something to judge in this case. Schemathesis' own
    checks return nothing either way, so their conditions are restated here (the suite's checks say it
    themselves); a check this table does not know counts as applied, as Schemathesis reports it."""
    try:
        rule = _BUILTIN.get(name)
        return True if rule is None else bool(rule(case, response))
    except Exception:  # an internal of Schemathesis moved: count it as Schemathesis does
        return True


def _mode_is(case: Case[Any], negative: bool) -> bool:
    mode = case.meta.generation.mode if case.meta is not None else None
    return mode is not None and (mode.is_negative if negative else mode.is_positive)


def _coverage_scenario(case: Case[Any], scenario: str, header: bool = False) -> bool:
    from schemathesis.core.parameters import ParameterLocation
    from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

    data = case.meta.phase.data if case.meta is not None else None
    if not isinstance(data, CoveragePhaseData) or data.scenario != CoverageScenario[scenario]:
        return False
    return not header or (bool(data.parameter) and data.parameter_location == ParameterLocation.HEADER)


def _documented(case: Case[Any], response: Response) -> Any:
    return case.operation.responses.find_by_status_code(response.status_code)


def _has_body_schema(case: Case[Any], response: Response) -> bool:
    from schemathesis.core.transport import response_content_type

    definition = _documented(case, response)
    return definition is not None and definition.get_schema(response_content_type(response)).schema is not None


def _identities(case: Case[Any], response: Response) -> bool:
    from schemathesis.wfc.escalation import escalating_provider

    ok = case.method.upper() == "GET" and _ok(response)
    return ok and escalating_provider(case.operation.schema) is not None


NEVER_HERE = {
    "use_after_free": "it judges a linked sequence (a read after a delete): the stateful layer runs it",
    "ensure_resource_availability": "it judges a linked sequence (a read after a create): the stateful layer runs it",
    "object_level_authorization": "it needs several identities in Schemathesis' configuration; the suite's "
    "cross-entity rules (test_security) cover tenancy",
}
"""Built-in checks that never apply to a single generated case, and why (the summary says so)."""

_BUILTIN: dict[str, Any] = {
    "not_a_server_error": lambda case, response: True,
    "status_code_conformance": lambda case, response: "default" not in case.operation.responses.status_codes,
    "content_type_conformance": lambda case, response: bool(
        case.operation.schema.get_content_types(case.operation, response)
    ),
    "response_schema_conformance": _has_body_schema,
    "response_headers_conformance": lambda case, response: bool(getattr(_documented(case, response), "headers", None)),
    "negative_data_rejection": lambda case, response: _mode_is(case, negative=True),
    "positive_data_acceptance": lambda case, response: _mode_is(case, negative=False),
    "missing_required_header": lambda case, response: _coverage_scenario(case, "MISSING_PARAMETER", header=True),
    "unsupported_method": lambda case, response: _coverage_scenario(case, "UNSPECIFIED_HTTP_METHOD"),
    "allow_header_conformance": lambda case, response: (
        str(response.request.method).upper() == "OPTIONS" and bool(response.headers.get("allow"))
    ),
    # A 2xx answer to a request with credentials: the check then probes without them.
    "ignored_auth": lambda case, response: _ok(response),
    # Another identity re-reads what one read: only with several identities configured (the suite has one).
    "object_level_authorization": _identities,
    # They look back along a linked sequence (a DELETE before a GET, the POST before a 404): a single case has none.
    "use_after_free": lambda case, response: False,
    "ensure_resource_availability": lambda case, response: False,
}


SUITE_CHECKS = (
    sales_document_arithmetic,
    invoice_arithmetic,
    proration_consistency,
    pagination_consistency,
    status_filter_respected,
    money_is_integer,
    error_body_contract,
    derived_dates,
)


def register_checks() -> None:
    """Make :data:`SUITE_CHECKS` Schemathesis checks, once (a second call registers nothing again)."""
    registered = set(CHECKS.get_all_names())
    for check in SUITE_CHECKS:
        if check.__name__ not in registered:
            schemathesis.check(check)
