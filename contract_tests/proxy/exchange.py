"""One request and its answer as the proxy saw them (bodies parsed when small enough to check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from contract_tests.proxy.spec import UNCHECKED


@dataclass
class Exchange:
    """``path`` is the decoded path, ``raw_path`` the bytes the client sent; headers are lower-cased.

    ``request_body``/``response_body`` are the parsed JSON, ``NOT_JSON``, ``UNCHECKED`` (too large,
    streamed through) or None (no body).
    """

    number: int
    method: str
    path: str
    raw_path: bytes
    query_string: bytes
    request_headers: list[tuple[str, str]]
    request_body: Any = None
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    response_bytes: int = 0
    seconds: float = 0.0
    proxy_error: str | None = None
    """Set when the proxy answered itself (502/504): the upstream failed."""

    @cached_property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)

    def header(self, name: str) -> str | None:
        for key, value in self.request_headers:
            if key == name:
                return value
        return None

    @cached_property
    def entity_id(self) -> str | None:
        """The entity the request acts on: ``entityId`` in the query, else the ``x-entity-id`` header."""
        for key, value in self.query:
            if key == "entityId":
                return value
        return self.header("x-entity-id")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.response_body is not UNCHECKED
