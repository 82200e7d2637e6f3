"""Layer 3, model-based: a Hypothesis state machine keeps what the server should contain (its own
quotes and plans) and compares the server with it after every step."""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from contract_tests import oracle
from contract_tests.client import SalesApi
from contract_tests.profiles import Profile
from contract_tests.suite import scenarios

pytestmark = pytest.mark.usefixtures("writable")

LINES = st.lists(
    st.fixed_dictionaries(
        {
            "description": st.text("abcdefgh xyz", min_size=1, max_size=20),
            "quantity": st.integers(1, 50),
            "unitPrice": st.integers(0, 100_000),
            "discountBps": st.integers(0, 10_000),
            "taxRateBps": st.sampled_from([0, 5, 825, 1999, 2500, 5000]),
        }
    ),
    min_size=1,
    max_size=4,
)
QUOTE_TARGETS = st.sampled_from(["sent", "accepted", "declined", "draft", "expired", "converted"])


def make_machine(api: SalesApi, customer: dict[str, Any]) -> type[RuleBasedStateMachine]:
    class SalesModel(RuleBasedStateMachine):
        """The model: quote id -> expected status and totals; plan id -> expected amount and active flag."""

        quotes = Bundle("quotes")
        plans = Bundle("plans")

        def __init__(self) -> None:
            super().__init__()
            self.quote_model: dict[str, dict[str, Any]] = {}
            self.deleted: set[str] = set()
            self.plan_model: dict[str, dict[str, Any]] = {}

        @rule(target=quotes, lines=LINES)
        def create_quote(self, lines: list[dict[str, Any]]) -> str:
            quote = scenarios.quote(api, customer, lines)
            amounts = [oracle.line_amount(x["quantity"], x["unitPrice"], x["discountBps"]) for x in lines]
            taxes = [oracle.tax_amount(a, x["taxRateBps"]) for a, x in zip(amounts, lines, strict=True)]
            total = sum(amounts) + sum(taxes)
            self.quote_model[quote["id"]] = {"status": "draft", "total": total, "subtotal": sum(amounts)}
            return str(quote["id"])

        @rule(quote_id=quotes, status=QUOTE_TARGETS)
        def change_status(self, quote_id: str, status: str) -> None:
            model = self.quote_model.get(quote_id)
            if model is None:
                api.expect(404, "PATCH", f"/quotes/{quote_id}", json_body={"status": status})
                return
            # The spec: one of the three transitions, or the current status as a 200 no-op; else 409.
            allowed = status == model["status"] or status in oracle.QUOTE_TRANSITIONS.get(model["status"], frozenset())
            api.expect(200 if allowed else 409, "PATCH", f"/quotes/{quote_id}", json_body={"status": status})
            if allowed:
                model["status"] = status

        @rule(quote_id=quotes, notes=st.text("abc ", min_size=1, max_size=10))
        def edit_notes(self, quote_id: str, notes: str) -> None:
            model = self.quote_model.get(quote_id)
            expected = 404 if model is None else (200 if model["status"] == "draft" else 409)
            api.expect(expected, "PATCH", f"/quotes/{quote_id}", json_body={"notes": notes})

        @rule(quote_id=quotes)
        def delete_quote(self, quote_id: str) -> None:
            model = self.quote_model.get(quote_id)
            expected = 404 if model is None else (204 if model["status"] == "draft" else 409)
            api.expect(expected, "DELETE", f"/quotes/{quote_id}")
            if expected == 204:
                del self.quote_model[quote_id]
                self.deleted.add(quote_id)

        @rule(target=plans, amount=st.integers(0, 10**6), interval=st.sampled_from(["day", "week", "month", "year"]))
        def create_plan(self, amount: int, interval: str) -> str:
            plan = scenarios.plan(api, amount, interval, fresh=True)  # the model changes it
            self.plan_model[plan["id"]] = {"amount": amount, "active": True, "interval": interval}
            return str(plan["id"])

        @rule(plan_id=plans, amount=st.integers(0, 10**6), active=st.booleans())
        def patch_plan(self, plan_id: str, amount: int, active: bool) -> None:
            api.expect(200, "PATCH", f"/plans/{plan_id}", json_body={"amount": amount, "active": active})
            self.plan_model[plan_id].update(amount=amount, active=active)

        @invariant()
        def server_matches_model(self) -> None:
            for quote_id, model in self.quote_model.items():
                quote = api.expect(200, "GET", f"/quotes/{quote_id}")
                got = {key: quote[key] for key in model}
                assert got == model, f"quote {quote_id}: server {got}, model {model}"
            for quote_id in self.deleted:
                api.expect(404, "GET", f"/quotes/{quote_id}")
            if self.plan_model:
                listed = {plan["id"]: plan for plan in api.list_all("/plans")}
                for plan_id, model in self.plan_model.items():
                    got = {key: listed.get(plan_id, {}).get(key) for key in model}
                    assert got == model, f"plan {plan_id}: server {got}, model {model}"

    return SalesModel


def test_model_based_quotes_and_plans(api: SalesApi, sales_profile: Profile) -> None:
    machine = make_machine(api, scenarios.customer(api))
    hypothesis.seed(sales_profile.seed)(machine)
    settings = sales_profile.hypothesis_settings(sales_profile.model_examples, 8)
    run_state_machine_as_test(machine, settings=settings)
