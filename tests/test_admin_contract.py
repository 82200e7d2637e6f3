"""Schemathesis over ``openapi/mock-admin.yaml`` against a dedicated in-process mock.

The app is the test's own (reset, state import and entity deletion touch nothing else). Examples
are few per operation to keep the test fast; the built-in checks are named explicitly so the
Sales API checks registered by ``contract_tests`` never apply here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from control_plane_client import make_app
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

ADMIN_SPEC = Path(__file__).resolve().parents[1] / "openapi" / "mock-admin.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_path(ADMIN_SPEC)
schema.config.update(base_url="http://localhost")
schema.app = make_app()


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_admin_api_matches_its_spec(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
