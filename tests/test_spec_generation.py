"""The spec stays usable by Schemathesis: links resolve and every operation generates valid requests."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.stateful import collect_transitions
from test_spec import SPEC_PATH, validator_for


@pytest.fixture(scope="module")
def schema() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schemathesis.openapi.from_path(str(SPEC_PATH))


def test_every_explicit_link_resolves(schema: Any) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    transitions = collect_transitions(operations)
    explicit = [link for node in transitions.operations.values() for link in node.outgoing if not link.is_inferred]
    declared = sum(
        len(response.get("links", {}))
        for item in schema.raw_schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
        for response in operation["responses"].values()
    )
    assert declared >= 20
    assert len(explicit) == declared


def positive_bodies(operation: Any, count: int = 15) -> list[Any]:
    bodies: list[Any] = []

    @settings(
        max_examples=count, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def collect(case: Any) -> None:
        bodies.append(case.body)

    collect()
    return bodies


def test_positive_bodies_validate_against_the_request_schema(schema: Any) -> None:
    """Generated positive bodies satisfy the cross-field rules written as oneOf (createOrder, runDunning)."""
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.body:
            continue
        raw = operation.definition.raw["requestBody"]["content"]["application/json"]["schema"]
        validator = validator_for(raw)
        bodies = positive_bodies(operation)
        assert bodies, operation.label
        objects = [body for body in bodies if isinstance(body, dict)]
        assert objects, operation.label
        for body in objects:
            assert validator.is_valid(body), f"{operation.label}: {body}"
