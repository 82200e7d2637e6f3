"""Query splitting (the pipeline, the request patterns): ``parse_qsl(..., keep_blank_values=True)``, only faster."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from mock_server.control.patterns import query_pairs


@given(st.text(alphabet="ab=&;%+2Fé ", max_size=30))
def test_query_pairs_equal_parse_qsl(text: str) -> None:
    raw = text.encode("utf-8").decode("latin-1").encode("latin-1")
    assert query_pairs(raw) == parse_qsl(raw.decode("latin-1"), keep_blank_values=True)


def test_examples() -> None:
    assert query_pairs(b"entityId=e1&page=2&pageSize=20") == [("entityId", "e1"), ("page", "2"), ("pageSize", "20")]
    assert query_pairs(b"a&&b=&=c&d==e") == [("a", ""), ("b", ""), ("", "c"), ("d", "=e")]
    assert query_pairs(b"name=Jos%C3%A9+Mar") == [("name", "José Mar")]
    assert query_pairs(b"") == []
