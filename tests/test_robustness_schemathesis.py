"""Schemathesis against the mock in-process: the coverage phase (boundary and just-out-of-bounds
values, duplicate query parameters, unexpected methods) and negative fuzzing over every operation.

Zero 5xx and zero answers that break the spec (status, content type, headers, body schema), and
invalid input must be rejected. The default run sends a few thousand requests; the ``fuzz``
variant more than 20,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from starlette.applications import Starlette

from contract_tests.suite import compat
from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.resources import spec_path

compat.install()  # Schemathesis' lazy fixture schemas on pytest >= 9.2

SPEC = spec_path()
DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
CLOCK = "2025-03-01T00:00:00Z"
REJECTED = ["400", "401", "403", "404", "405", "409", "413", "415", "422"]
SENT: dict[str, int] = {"ci": 0, "fuzz": 0}
FUZZ_MINIMUM = 20_000


def robustness_config(phase: str, examples: int, seed: int) -> schemathesis.Config:
    """``coverage``: boundary and just-out-of-bounds values (mode all) with the demo entity pinned;
    ``negative``: negative fuzzing, ``entityId`` included (validation answers before tenancy)."""
    coverage = phase == "coverage"
    data: dict[str, Any] = {
        "seed": seed,
        "suppress-health-check": ["all"],
        "headers": {"Authorization": f"Bearer {DEMO_KEY}"},
        "generation": {"mode": "all" if coverage else "negative", "max-examples": examples, "database": "none"},
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": coverage, "generate-duplicate-query-parameters": True},
            "fuzzing": {"enabled": not coverage},
            "stateful": {"enabled": False},
        },
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"expected-statuses": REJECTED},
        },
    }
    if coverage:
        data["parameters"] = {"entityId": DEMO_ENTITY}
    return schemathesis.Config.from_dict(data)


def _app() -> Starlette:
    return create_app(MockConfig(clock=CLOCK, validate_responses=True))


@pytest.fixture(scope="module")
def mock_app() -> Iterator[Starlette]:
    app = _app()
    yield app
    mismatches = app.state.runtime.response_mismatches
    assert not mismatches, mismatches[:5]


def _schema(app: Starlette, config: schemathesis.Config) -> Any:
    schema = schemathesis.openapi.from_path(str(SPEC), config=config)
    schema.app = app
    return schema


@pytest.fixture(scope="module")
def coverage_schema(mock_app: Starlette) -> Any:
    return _schema(mock_app, robustness_config("coverage", 1, 20251125))


@pytest.fixture(scope="module")
def negative_schema(mock_app: Starlette) -> Any:
    return _schema(mock_app, robustness_config("negative", 40, 20251125))


@pytest.fixture(scope="module")
def fuzz_schema(mock_app: Starlette) -> Any:
    return _schema(mock_app, robustness_config("negative", 1000, 7))


coverage = schemathesis.pytest.from_fixture("coverage_schema")
negative = schemathesis.pytest.from_fixture("negative_schema")
fuzz = schemathesis.pytest.from_fixture("fuzz_schema")


@coverage.parametrize()
def test_coverage_phase(case: schemathesis.Case) -> None:
    SENT["ci"] += 1
    case.call_and_validate()


@negative.parametrize()
def test_negative_fuzzing(case: schemathesis.Case) -> None:
    SENT["ci"] += 1
    case.call_and_validate()


@pytest.mark.fuzz
@fuzz.parametrize()
def test_long_negative_fuzzing(case: schemathesis.Case) -> None:
    SENT["fuzz"] += 1
    case.call_and_validate()


def test_ci_profile_sent_a_few_thousand_requests() -> None:
    if SENT["ci"] == 0:
        pytest.skip("the CI fuzzing tests were not selected")
    assert SENT["ci"] >= 2000, SENT


@pytest.mark.fuzz
def test_long_fuzzing_sent_enough_requests() -> None:
    if SENT["fuzz"] == 0:
        pytest.skip("the long fuzzing run was not selected")
    assert SENT["fuzz"] >= FUZZ_MINIMUM, SENT
