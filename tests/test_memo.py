"""The validation memo (``mock_server.memo``): tables that count hits, stay bounded, and never turn
an input that failed into one that passes."""

from __future__ import annotations

import uuid

import pytest

from mock_server.errors import BadRequest
from mock_server.memo import Memo, MemoTable
from mock_server.resources import spec_path
from mock_server.spec import load_spec, validate_parameters

ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"


def test_a_table_counts_hits_and_misses() -> None:
    table = MemoTable("t", limit=4)
    assert table.lookup("a") is None and (table.hits, table.misses) == (0, 1)
    table.remember("a", 1)
    assert table.lookup("a") == 1 and table.lookup("a", 5) == 1 and (table.hits, table.misses) == (2, 1)
    assert table.lookup("b", "default") == "default" and table.misses == 2


def test_a_full_table_starts_over() -> None:
    table = MemoTable("t", limit=3)
    for n in range(3):
        table.remember(n, n)
    assert len(table) == 3
    table.remember(3, 3)  # the fourth: the table empties first
    assert dict(table) == {3: 3}
    for n in range(100):
        table.remember(n, n)
        assert len(table) <= 3


def test_the_memo_holds_every_table_and_reports_them() -> None:
    memo = Memo(limit=2)
    first, second = memo.table("first"), memo.table("second", limit=10)
    assert (first.limit, second.limit, memo.queries.limit) == (2, 10, 1024)
    first.remember("x", 1)
    first.lookup("x")
    second.lookup("y")
    assert memo.figures()[1:] == [("first", 1, 1, 0), ("second", 0, 0, 1)]
    memo.clear()
    assert len(first) == 0 and memo.figures()[1][2] == 1  # the figures stay


def test_the_compiled_spec_owns_one_memo_with_a_table_per_parameter_and_operation() -> None:
    spec = load_spec(spec_path())
    operation = spec.operations["getQuote"]
    tables = {id(t) for t in (operation.valid_queries, *(p.accepted for p in operation.parameters))}
    names = [name for name, *_figures in spec.memo.figures()]
    assert len(names) == 1 + sum(1 + len(op.parameters) for op in spec.operations.values())
    assert len(tables) == 1 + len(operation.parameters)  # each its own table


def test_a_repeated_request_is_a_hit_and_gives_the_same_values() -> None:
    operation = load_spec(spec_path()).operations["getQuote"]
    quote_id = next(p for p in operation.parameters if p.name == "quoteId")
    good = str(uuid.uuid4())
    first = validate_parameters(operation, {"quoteId": good.upper()}, (("entityId", ENTITY),), {})
    hits = (quote_id.accepted.hits, operation.valid_queries.hits)
    again = validate_parameters(operation, {"quoteId": good.upper()}, (("entityId", ENTITY),), {})
    assert first == again == ({"quoteId": good}, {"entityId": ENTITY})
    assert (quote_id.accepted.hits, operation.valid_queries.hits) == (hits[0] + 1, hits[1] + 1)


def test_a_failed_value_is_never_remembered() -> None:
    operation = load_spec(spec_path()).operations["listQuotes"]
    page_size = next(p for p in operation.parameters if p.name == "pageSize")
    for _ in range(2):
        with pytest.raises(BadRequest) as caught:
            validate_parameters(operation, {}, (("entityId", ENTITY), ("pageSize", "0")), {})
        assert [d.path for d in caught.value.details] == ["pageSize"]
    assert "0" not in page_size.accepted
    assert (("entityId", ENTITY), ("pageSize", "0")) not in operation.valid_queries
