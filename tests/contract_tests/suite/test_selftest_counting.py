"""The suite counts only what it judged: NOT EXERCISED is never passed, checks count the cases they applied
to, the upfront notice names what a target lacks, leftovers are listed by id, secrets never reach a report,
and what the suite sends is only what the contract documents. Units, no server."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from contract_tests import cleanup, cli, cli_common
from contract_tests.client import SalesApi, curl_command
from contract_tests.oracle import checks
from contract_tests.recording import Recording, other_credentials
from contract_tests.report import Leftover, Recorder, replay_command
from contract_tests.suite import needs
from contract_tests.target import Target, credential_names

STAGING = Target(
    name="https://staging.example",
    base_url="https://staging.example",
    api_key="ak_main_secret",
    entity_id="ent-main",
    readonly_key="ak_readonly_secret",
    other_entity_id="ent-other",
    other_key="ak_other_secret",
    admin_token="admin-secret",
)


def test_a_rule_that_was_not_exercised_is_never_counted_as_passed() -> None:
    recorder = Recorder()
    recorder.test_passed(["getQuote", "listQuotes"], "test_held")
    recorder.not_exercised(["getQuote"], "test_vacuous", "the second entity holds no quotes")
    recorder.checks["negative_data_rejection"].skipped += 3  # ran on positive cases only
    assert recorder.checks["test_held"].passed == 1  # one case of the rule, however many operations it touched
    assert (recorder.checks["test_vacuous"].passed, recorder.checks["test_vacuous"].status) == (0, "NOT EXERCISED")
    listed = {item["rule"]: item["reason"] for item in recorder.not_exercised_list()}
    assert listed == {
        "test_vacuous": "the second entity holds no quotes",
        "negative_data_rejection": "it applied to none of the 3 case(s) it saw",
    }
    text = "\n".join(recorder.summary_lines())
    assert "NOT EXERCISED test_vacuous" in text and "passed    0  failed   0  not exercised   1" in text
    assert "  - the second entity holds no quotes:\n      test_vacuous" in text


def test_what_could_not_be_removed_is_listed_by_id() -> None:
    recorder = Recorder(created=4)
    recorder.leftovers += [
        Leftover("quotes", "q-accepted", "left in status accepted"),
        Leftover("plans", "p-1", "closed: archived", closed=True),
        Leftover("plans", "p-2", "closed: archived", closed=True),
    ]
    text = "\n".join(recorder.leftover_lines())
    assert "4 resource(s) created, 1 deleted, 2 closed" in text and "1 could not be cleaned" in text
    assert "  - quotes q-accepted: left in status accepted" in text and "closed plans (2): p-1, p-2" in text


class _Case:
    """Just enough of a Schemathesis case for the suite's checks."""

    def __init__(self, method: str = "GET", query: dict[str, Any] | None = None) -> None:
        self.method, self.query, self.body = method, query or {}, None
        self.formatted_path = "/api/sales/customers"
        self.operation = SimpleNamespace(schema=SimpleNamespace(config=object()))
        self.meta: Any = None


def _response(status: int, body: Any) -> Any:
    return SimpleNamespace(status_code=status, json=lambda: body, text=json.dumps(body))


def test_a_custom_check_says_when_it_had_nothing_to_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    case = _Case()
    monkeypatch.setattr(checks, "_CLAIMED", {id(case.operation.schema.config)})
    customers = _response(200, {"data": [{"id": "c1", "name": "Acme"}]})
    quote = _response(200, {"lines": [{"unitPrice": 100, "quantity": 1, "amount": 100}], "subtotal": 100})
    check = checks.sales_document_arithmetic
    assert check(None, customers, case) is True  # no quote or order in a list of customers: it did not apply
    with pytest.raises(AssertionError):
        check(None, quote, case)  # a quote it judged (and found wanting)
    assert checks.error_body_contract(None, customers, case) is True  # not an error answer
    assert checks.status_filter_respected(None, customers, case) is True  # no status filter asked for


def test_a_built_in_check_counts_only_in_its_generation_mode() -> None:
    def case(negative: bool) -> Any:
        mode = SimpleNamespace(is_negative=negative, is_positive=not negative)
        return SimpleNamespace(meta=SimpleNamespace(generation=SimpleNamespace(mode=mode)))

    positive, negative = case(negative=False), case(negative=True)
    ok = _response(200, {})
    assert checks.builtin_applies("negative_data_rejection", negative, ok)
    assert not checks.builtin_applies("negative_data_rejection", positive, ok)
    assert checks.builtin_applies("positive_data_acceptance", positive, ok)
    assert not checks.builtin_applies("use_after_free", positive, ok)
    assert checks.builtin_applies("a_check_of_a_later_version", positive, ok)


def test_the_upfront_notice_names_what_the_target_lacks() -> None:
    bare = needs.Capabilities(writes=False, readonly_key=False, second_entity=False, admin=404)
    assert needs.missing(["second_entity"], bare) == needs.REASONS["second_entity"]
    assert "--other-entity-id" in needs.REASONS["second_entity"] and "--readonly-key" in needs.REASONS["readonly_key"]
    assert "clock cannot be driven" in str(needs.missing(["admin"], bare))
    assert needs.admin_reason(401) == needs.ADMIN_TOKEN_REASON and needs.admin_reason(200) is None
    full = needs.Capabilities(writes=True, readonly_key=True, second_entity=True, admin=200)
    assert needs.missing(["writes", "admin", "readonly_key", "second_entity"], full) is None
    with pytest.raises(ValueError, match="unknown need"):
        full.missing("a typo")
    recorder = Recorder()
    recorder.notice(needs.REASONS["admin"], ["test_trial_end_starts_the_first_period"])
    assert recorder.notice_lines()[0].startswith("NOT EXERCISED on this target (1 rule(s)")


def test_every_credential_has_an_option_and_none_is_echoed() -> None:
    args = cli.build_parser().parse_args(
        ["check", "--readonly-key", "ak_ro", "--other-entity-id", "ent-2", "--other-key", "ak_o"]
    )
    resolved = cli_common.resolve(args, env={"SALES_API_OTHER_KEY": "from-env"})
    assert (resolved.readonly_key, resolved.other_entity_id, resolved.other_key) == ("ak_ro", "ent-2", "ak_o")
    from_env = cli_common.resolve(cli.build_parser().parse_args(["check"]), env={"SALES_API_READONLY_KEY": "ak_e"})
    assert from_env.readonly_key == "ak_e" and from_env.credentials_env() == {"SALES_API_READONLY_KEY": "ak_e"}
    assert "ak_main_secret" not in repr(STAGING) and "ak_other_secret" not in repr(STAGING)
    assert credential_names(STAGING) == [
        "SALES_API_KEY",
        "SALES_API_ENTITY_ID",
        "SALES_API_READONLY_KEY",
        "SALES_API_OTHER_ENTITY_ID",
        "SALES_API_OTHER_KEY",
        "SALES_ADMIN_TOKEN",
    ]
    secret = {"Authorization": "Bearer ak_other_secret"}
    request = httpx.Request("GET", "https://staging.example/api/sales/quotes", headers=secret)
    assert '"Authorization: Bearer $SALES_API_OTHER_KEY"' in curl_command(request, STAGING)
    recording = Recording(STAGING.entity_id, STAGING.api_key, other_credentials(STAGING))
    recording.add("GET", "https://staging.example/api/sales/quotes?entityId=ent-other", secret, None, 200, {})
    text = json.dumps(recording.chain())
    assert "ak_other_secret" not in text and "{{otherKey}}" in text and "{{otherEntityId}}" in text
    command = replay_command("out/failures/0001 x.json", {"credentials": ["SALES_API_KEY"]})
    assert command == "sales-contract replay 'out/failures/0001 x.json'  # needs $SALES_API_KEY"


def test_the_suite_walks_a_list_with_only_the_parameters_the_contract_documents() -> None:
    sent: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url)
        return httpx.Response(200, json={"data": [{"id": "c1"}]})

    target = Target(name="t", base_url="http://t", api_key="k", entity_id="e")
    api = SalesApi(target, httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t"))
    assert api.list_all("/customers") == [{"id": "c1"}] and api.list_all("/plans") == [{"id": "c1"}]
    assert [set(url.params) for url in sent] == [{"entityId"}, {"entityId"}]  # no pageSize: not documented there


def test_a_sweep_cleans_the_second_entitys_drafts_with_its_own_key(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    seen: list[tuple[str, str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.url.params["entityId"]))
        if request.method == "GET":
            return httpx.Response(200, json={"id": "q-theirs", "status": "draft"})
        return httpx.Response(204)

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")
    main = SalesApi(Target(name="t", base_url="http://t", api_key="k", entity_id="mine"), http)
    theirs = SalesApi(Target(name="t", base_url="http://t", api_key="k2", entity_id="theirs"), http)
    cleanup.Janitor(theirs, ledger, identity=cleanup.OTHER).remember("quotes", "q-theirs")  # then killed
    left = cleanup.sweep(ledger, main)  # without the second entity's key: said, not silently "gone"
    assert left and "needs that entity's key" in left[0] and not seen
    cleanup.Janitor(theirs, ledger, identity=cleanup.OTHER).remember("quotes", "q-again")
    assert cleanup.sweep(ledger, main, theirs) == []
    assert ("DELETE", "/api/sales/quotes/q-again", "theirs") in seen


def test_a_failure_replays_on_its_recorded_target_before_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recorded on the in-process mock: ``$SALES_API_BASE_URL`` (unreachable here) does not move the replay."""
    step = {"method": "GET", "path": "/api/sales/quotes", "query": {"entityId": "{{entityId}}"}, "status": 200}
    chain = [{**step, "headers": {"authorization": "Bearer {{apiKey}}"}, "body": None}]
    record = {"operation": "listQuotes", "check": "not_a_server_error", "kind": "check", "chain": chain}
    path = tmp_path / "0001.json"
    path.write_text(json.dumps({**record, "replay": {"target": "mock", "credentials": []}}))
    monkeypatch.setenv("SALES_API_BASE_URL", "http://127.0.0.1:9")
    assert cli.main(["replay", str(path)]) == 0
    assert "against the recorded target mock" in capsys.readouterr().out
    elsewhere = {"target": "http://127.0.0.1:9", "credentials": ["SALES_API_KEY"]}
    path.write_text(json.dumps({**record, "scope": "entity", "replay": elsewhere}))
    monkeypatch.delenv("SALES_API_KEY", raising=False)
    assert cli.main(["replay", str(path)]) == 2
    assert "with $SALES_API_KEY: set it (or pass --api-key)" in capsys.readouterr().err
