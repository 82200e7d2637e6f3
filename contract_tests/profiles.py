"""Run profiles and the Schemathesis configuration built from them.

``default`` keeps the whole suite (both targets) within the CI budget; ``fast`` is the mutant
self-test's focused run; ``fuzz`` is the QA campaign. Every profile is seeded: the same seed
sends the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import hypothesis
import schemathesis

from contract_tests.target import Target

DEFAULT_SEED = 20250301
# 409 and 422 are documented answers to schema-valid input that refers to unusable state
# (a non-draft delete, an archived plan, a currency mismatch, ...); 404 to ids that do not exist.
POSITIVE_ACCEPTED = ["2xx", "401", "403", "404", "409", "422"]


@dataclass(frozen=True)
class Profile:
    """How hard to push: examples per operation and mode, stateful steps, which phases run."""

    name: str
    max_examples: int
    stateful_examples: int
    stateful_steps: int
    model_examples: int
    coverage: bool = True
    shrink: bool = True
    seed: int = DEFAULT_SEED
    example_db: Any = None  # a Hypothesis ExampleDatabase shared between runs (--example-db), else none

    def hypothesis_settings(self, max_examples: int, steps: int) -> hypothesis.settings:
        """Settings for the suite's own state machines: seeded via the class, no deadline, the shared example
        database if any."""
        phases = [p for p in hypothesis.Phase if p is not hypothesis.Phase.explain]
        if not self.shrink:
            phases.remove(hypothesis.Phase.shrink)
        return hypothesis.settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=self.example_db,
            phases=phases,
            suppress_health_check=list(hypothesis.HealthCheck),
        )


PROFILES = {
    "default": Profile("default", max_examples=20, stateful_examples=10, stateful_steps=10, model_examples=10),
    # The mutant self-test: no coverage phase and no shrinking (a failure is enough, its minimal form is not needed).
    "fast": Profile(
        "fast", max_examples=3, stateful_examples=2, stateful_steps=6, model_examples=2, coverage=False, shrink=False
    ),
    "fuzz": Profile("fuzz", max_examples=200, stateful_examples=60, stateful_steps=25, model_examples=60),
}


def get_profile(name: str, *, max_examples: int | None = None, seed: int | None = None) -> Profile:
    profile = PROFILES[name]
    if max_examples is not None:
        profile = replace(profile, max_examples=max_examples)
    if seed is not None:
        profile = replace(profile, seed=seed)
    return profile


WRITES = ["POST", "PUT", "PATCH", "DELETE"]


def operation_filters(target: Target, operations: list[str] | None) -> list[dict[str, Any]]:
    """Config-level deselection (a filter on the fixture's schema would be replaced by pytest's lazy loader):
    generated writes off on a read-only target (Schemathesis' "negative" cases are not always invalid for
    the server, so they could write; ``test_negative`` breaks one rule at a time there instead), and only
    the selected operationIds when some are given."""
    filters: list[dict[str, Any]] = []
    if not target.allow_writes:
        filters.append({"include-method": WRITES, "enabled": False})
    if operations:
        filters.append({"exclude-operation-id": operations, "enabled": False})
    return filters


def schemathesis_config(profile: Profile, target: Target, operations: list[str] | None = None) -> schemathesis.Config:
    """Headers, the pinned entity, seeds, modes, phases, check options and operation selection for one target."""
    generation: dict[str, Any] = {
        "mode": "all",
        "max-examples": profile.max_examples,
        "deterministic": False,
        "unique-inputs": True,
        "no-shrink": not profile.shrink,
    }
    if profile.example_db is None:
        generation["database"] = "none"
    # else: Hypothesis' default settings carry the shared database (contract_tests.campaign.exampledb.activated)
    data: dict[str, Any] = {
        "seed": profile.seed,
        "suppress-health-check": ["all"],
        "auth": {"openapi": {"bearerAuth": {"bearer": target.api_key}}},
        "parameters": {"entityId": target.entity_id},
        "request-timeout": target.timeout,
        "generation": generation,
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": profile.coverage},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": profile.stateful_steps},
        },
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_ACCEPTED}},
        "operations": operation_filters(target, operations),
    }
    return schemathesis.Config.from_dict(data)
