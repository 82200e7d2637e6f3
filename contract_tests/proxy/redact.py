"""Secrets never leave the proxy: credentials in headers, cookies, idempotency keys and API keys in bodies."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "idempotency-key", "x-api-key", "x-admin-token"}
)
SECRET_FIELD = re.compile(
    r"(?i)(^keys?$|api[_-]?keys?$|idempotency[_-]?keys?$|tokens?$|secrets?$|passwords?$|^readwrite$|^readonly$|^session)"
)
SECRET_VALUE = re.compile(r"\b(ak|sk|sess|tok)_[A-Za-z0-9_\-]{3,}")
SECRET_QUERY = re.compile(r"(?i)^(api[_-]?key|key|token|access[_-]?token|session)$")
# Headers the curl line leaves out: hop-by-hop, or set by curl itself.
_CURL_SKIP = frozenset({"host", "content-length", "connection", "accept-encoding", "user-agent", "transfer-encoding"})


def header_value(name: str, value: str) -> str:
    """``Authorization: Bearer ak_x`` -> ``Bearer [REDACTED]`` (the scheme stays: it helps debugging)."""
    lower = name.lower()
    if lower in ("authorization", "proxy-authorization"):
        scheme = value.split(" ", 1)[0] if " " in value else ""
        return f"{scheme} {REDACTED}".strip()
    if lower in SECRET_HEADERS:
        return REDACTED
    return SECRET_VALUE.sub(REDACTED, value)


def headers(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, header_value(name, value)) for name, value in items]


def body(node: Any) -> Any:
    """A copy of a JSON document with secret-looking fields and key-shaped strings replaced."""
    if isinstance(node, dict):
        return {
            key: (REDACTED if SECRET_FIELD.search(str(key)) and isinstance(value, str | int) else body(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [body(item) for item in node]
    if isinstance(node, str):
        return SECRET_VALUE.sub(REDACTED, node)
    return node


def text(value: str) -> str:
    return SECRET_VALUE.sub(REDACTED, value)


def query(query_string: str) -> str:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if not any(SECRET_QUERY.match(k) or SECRET_VALUE.search(v) for k, v in pairs):
        return query_string
    return urlencode([(k, REDACTED if SECRET_QUERY.match(k) else text(v)) for k, v in pairs])


def curl(method: str, url: str, request_headers: Iterable[tuple[str, str]], json_text: str | None) -> str:
    """A curl line that replays the request with every secret replaced: the key shows as ``$SALES_API_KEY``."""
    parts = ["curl", "-X", method, shlex.quote(url)]
    for name, value in request_headers:
        lower = name.lower()
        if lower in _CURL_SKIP:
            continue
        if lower == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
            shown = f'"{name}: {scheme} $SALES_API_KEY"'
        elif lower in SECRET_HEADERS:
            shown = shlex.quote(f"{name}: {REDACTED}")
        else:
            shown = shlex.quote(f"{name}: {text(value)}")
        parts += ["-H", shown]
    if json_text is not None:
        parts += ["--data-raw", shlex.quote(json_text)]
    return " ".join(parts)
