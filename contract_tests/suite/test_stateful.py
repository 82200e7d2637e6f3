"""Layer 2: sequences through the spec's links (create -> read -> change -> delete; plan ->
subscription -> invoice / dunning / change-plan), with the entity pinned on every step."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import Case, Response
from schemathesis.schemas import BaseSchema

from contract_tests.cleanup import Janitor
from contract_tests.client import reproducible
from contract_tests.oracle import checks
from contract_tests.profiles import Profile
from contract_tests.recording import Recording
from contract_tests.report import failure_checks, get_recorder
from contract_tests.target import MOCK_CLOCK, Target


class Scope:
    """Where the scenarios run: the target's entity, or (with the mock's /__admin) a fresh demo entity per
    scenario, so every scenario starts from the same state and Hypothesis sees a consistent rule set."""

    def __init__(self, target: Target, http: httpx.Client, janitor: Janitor) -> None:
        self.http, self.target, self.janitor = http, target, janitor
        self.entity_id, self.key = target.entity_id, target.api_key
        self.fresh = admin_status(http) == 200
        self.made: str | None = None

    def enter(self) -> None:
        self.entity_id, self.key = self.target.entity_id, self.target.api_key
        if self.fresh:
            body = {"name": "contract-stateful", "fixtures": "demo", "clock": MOCK_CLOCK}
            created = self.http.post("/__admin/entities", json=body).json()
            self.made = self.entity_id = created["entityId"]
            self.key = created["apiKeys"]["readWrite"]
            self.janitor.remember("entities", self.made)

    def leave(self) -> None:
        if self.made:
            self.http.delete(f"/__admin/entities/{self.made}")
            self.janitor.forget(self.made)
            self.made = None


def admin_status(http: httpx.Client) -> int | None:
    """The status of ``GET /__admin/health``: 200 usable, 401 needs --admin-token, None/404 absent."""
    try:
        return http.get("/__admin/health").status_code
    except httpx.HTTPError:
        return None


@pytest.mark.sales_needs("writes")
def test_stateful_links(
    sales_schema: BaseSchema,
    sales_target: Target,
    sales_profile: Profile,
    janitor: Janitor,
    http_client: httpx.Client,
    sales_session: Any,
    request: pytest.FixtureRequest,
) -> None:
    recorder = get_recorder(request.config)
    base = sales_schema.as_state_machine()
    scope = Scope(sales_target, http_client, janitor)
    if admin_status(http_client) == 401:
        recorder.skipped(
            "stateful links", "stateful", "the target's /__admin needs a token (--admin-token): no fresh entities"
        )
    guard_ids = not sales_target.mock and not scope.fresh
    steps: Counter[str] = Counter()

    class PinnedEntity(base):  # type: ignore[valid-type, misc]
        """Pin entityId and the key on every step: config parameters do not reach state machines."""

        def setup(self) -> None:
            super().setup()
            scope.enter()
            self.recording = Recording(scope.entity_id, scope.key)

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            kwargs: dict[str, Any] = super().get_call_kwargs(case)
            if sales_session is not None:
                kwargs["session"] = sales_session
            return kwargs

        def teardown(self) -> None:
            scope.leave()
            super().teardown()

        def before_call(self, case: Case[Any]) -> None:
            recorder.enforce_budget()
            case.query = {**(case.query or {}), "entityId": scope.entity_id}
            # A link from a nullable field (a quote's orderId before conversion) yields "None": use an id
            # that does not exist, so the step is a schema-valid request answered 404.
            # On a live server, change only what this run created: any other id becomes an unknown one (404).
            guard = guard_ids and case.method.upper() != "GET"
            for name, value in (case.path_parameters or {}).items():
                if value is None or value == "None" or (guard and value not in janitor.own_ids):
                    case.path_parameters[name] = str(uuid.uuid4())
            case.headers["Authorization"] = f"Bearer {scope.key}"

        def after_call(self, response: Response, case: Case[Any]) -> None:
            super().after_call(response, case)
            request = response.request
            body = request.body if isinstance(request.body, (bytes, str)) else None
            try:
                answer = response.json()
            except ValueError:
                answer = None
            self.recording.add(
                str(request.method), str(request.url), request.headers, body, response.status_code, answer
            )
            steps[case.operation.definition.raw.get("operationId") or case.operation.label] += 1

        def validate_response(self, response: Response, case: Case[Any], **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, **kwargs)
                checks.applied(case)  # per check, this layer counts its linked calls, not each check
            except (AssertionError, BaseExceptionGroup) as exc:
                label = case.operation.definition.raw.get("operationId") or case.operation.label
                curl = reproducible(case.as_curl_command(), sales_target)
                chain = self.recording.chain()
                for check, message in failure_checks(exc):
                    recorder.failed(
                        sales_target.name,
                        label,
                        f"stateful:{check}",
                        f"{message}\nReproduce with:\n  {curl}",
                        chain=chain,
                        scope="fresh" if scope.fresh else "entity",
                    )
                raise

    settings = sales_profile.hypothesis_settings(sales_profile.stateful_examples, sales_profile.stateful_steps)
    hypothesis.seed(sales_profile.seed)(PinnedEntity)
    try:
        PinnedEntity.run(settings=settings)
    except FlakyStrategyDefinition as exc:
        # The server's state changed which links were available between replays: not a contract violation.
        recorder.skipped(
            "stateful links", "stateful", f"ended early, the rule set depended on server state: {exc!s:.80}"
        )
    finally:
        scope.leave()
    if not steps:
        pytest.skip("no linked call was made: the link sequences found nothing to follow")
    for operation, count in steps.items():
        recorder.operations[operation].passed += count
    recorder.test_passed([], "test_stateful_links")
