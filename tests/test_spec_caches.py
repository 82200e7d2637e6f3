"""What the request pipeline remembers about validation is bounded, and never hides an error."""

from __future__ import annotations

import uuid

import pytest

from mock_server.errors import BadRequest
from mock_server.resources import spec_path
from mock_server.spec import ACCEPTED_CACHE, ACCEPTED_LENGTH, QUERY_LENGTH, load_spec, validate_parameters

ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


def test_remembered_values_and_queries_stay_bounded() -> None:
    operation = load_spec(spec_path()).operations["getQuote"]
    quote_id = next(p for p in operation.parameters if p.name == "quoteId")
    for _ in range(ACCEPTED_CACHE + 10):
        entity = str(uuid.uuid4())
        validate_parameters(operation, {"quoteId": str(uuid.uuid4())}, (("entityId", entity),), {})
    assert 0 < len(quote_id.accepted) <= ACCEPTED_CACHE
    assert 0 < len(operation.valid_queries) <= ACCEPTED_CACHE


def test_long_values_and_queries_are_checked_but_not_remembered() -> None:
    operation = load_spec(spec_path()).operations["listQuotes"]
    long_query = (("entityId", ENTITY), ("unknown", "x" * (QUERY_LENGTH + 1)))  # undeclared: ignored
    _path, query = validate_parameters(operation, {}, long_query, {})
    assert query["entityId"] == ENTITY
    assert long_query not in operation.valid_queries
    entity = next(p for p in operation.parameters if p.name == "entityId")
    assert all(len(raw) <= ACCEPTED_LENGTH for raw in entity.accepted)


def test_a_remembered_query_never_hides_a_bad_path_parameter() -> None:
    operation = load_spec(spec_path()).operations["getQuote"]
    good = str(uuid.uuid4())
    validate_parameters(operation, {"quoteId": good}, (("entityId", ENTITY),), {})
    assert (("entityId", ENTITY),) in operation.valid_queries
    with pytest.raises(BadRequest) as caught:
        validate_parameters(operation, {"quoteId": "not-a-uuid"}, (("entityId", ENTITY),), {})
    assert [d.path for d in caught.value.details] == ["quoteId"]


def test_values_are_coerced_the_same_whether_remembered_or_not() -> None:
    operation = load_spec(spec_path()).operations["listQuotes"]
    pairs = (("entityId", ENTITY.upper()), ("page", "2"), ("pageSize", "5"))
    first = validate_parameters(operation, {}, pairs, {})
    again = validate_parameters(operation, {}, pairs, {})
    assert first == again == ({}, {"entityId": ENTITY, "page": 2, "pageSize": 5})
    again[1]["page"] = 99  # a caller changing its copy changes nothing remembered
    assert validate_parameters(operation, {}, pairs, {})[1]["page"] == 2
