"""Which browsers may talk to the mock: ``Host`` and ``Origin`` checks for the admin API, CORS for the Sales API.

A web page the developer happens to open runs in the same browser that reaches the mock on
127.0.0.1, so the admin API (which can read every key and wipe all state) must not be reachable
from it:

- **Host**: an admin request whose ``Host`` is not a loopback name or address, the address the
  server listens on, or a name allowed with ``--allowed-host`` is refused (421). This defeats DNS
  rebinding, where an attacker's domain is made to resolve to 127.0.0.1.
- **Origin**: an admin request that carries an ``Origin`` other than the server's own (same
  scheme, host and port) is refused (403): browsers send ``Origin`` with every cross-origin
  request and with every ``POST``, so a hostile page's form posts and ``fetch`` calls never act.
- **No CORS** on ``/__admin``: a browser never lets another origin read an admin answer, and a
  JSON ``POST`` (the only kind the admin API accepts, see ``admin.inputs``) needs a preflight that
  is never granted.

The Sales API keeps CORS for local frontends: any origin may call it with an API key (no
credentials); the browser-session cookie is honoured, and ``Access-Control-Allow-Credentials``
sent, only for origins matching ``--cors-origin`` (default ``http://localhost:*`` and
``http://127.0.0.1:*``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_CORS_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")
"""Origins whose pages may use the browser-session cookie when no ``--cors-origin`` is given."""

CORS_ALLOW_METHODS = "GET, POST, PATCH, DELETE"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, x-entity-id, Idempotency-Key, Prefer"
CORS_EXPOSE_HEADERS = "WWW-Authenticate, Allow, Location, Idempotent-Replayed, Preference-Applied, X-Mock-Stub"
_EXPOSED = frozenset(name.strip().lower() for name in CORS_EXPOSE_HEADERS.split(","))
_EXPOSED_BYTES = CORS_EXPOSE_HEADERS.encode()
CORS_MAX_AGE = "600"

_WILDCARD_BINDS = {"0.0.0.0", "::", ""}
ANY_HOST = "*"
"""The ``--allowed-host`` value that lets any ``Host`` reach the admin API."""


def admits_any_host(allowed_hosts: Iterable[str]) -> bool:
    """Whether these ``--allowed-host`` names let every ``Host`` through (so DNS rebinding is not stopped)."""
    return ANY_HOST in allowed_hosts


def is_loopback(host: str) -> bool:
    """True for ``localhost`` (and names under ``.localhost``) and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None]:
    """``Host``-header form ``name[:port]`` / ``[v6]:port`` as (lower-case name, port or None).
    A malformed value gives ("", None)."""
    text = value.strip().lower()
    if text.startswith("["):
        name, sep, rest = text[1:].partition("]")
        if not sep:
            return "", None
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            return "", None
    elif text.count(":") > 1:  # a bare IPv6 address
        return text, None
    else:
        name, _, port_text = text.partition(":")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        return "", None
    return name.rstrip("."), int(port_text) if port_text else None


@dataclass(frozen=True)
class OriginPolicy:
    """The Host/Origin/CORS rules of one server.

    ``bind_host`` is the address the server listens on (its own name is always allowed);
    ``allowed_hosts`` extra ``Host`` names for the admin API (``*`` allows any);
    ``cors_origins`` origin patterns (``scheme://host:port``, ``*`` for any port) whose pages may
    send the session cookie.
    """

    bind_host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether an admin request with this ``Host`` header may proceed."""
        if host_header is None:
            return False
        name, _port = split_host(host_header)
        if not name:
            return False
        if admits_any_host(self.allowed_hosts) or is_loopback(name):
            return True
        bind = self.bind_host.strip("[]").lower()
        if bind not in _WILDCARD_BINDS and name == bind:
            return True
        return name in {h.lower().rstrip(".") for h in self.allowed_hosts}

    def same_origin(self, origin: str, host_header: str | None) -> bool:
        """Whether ``Origin`` names this very server: an allowed host on the port the request came to."""
        parts = _origin_parts(origin)
        if parts is None or host_header is None or not self.host_allowed(host_header):
            return False
        scheme, name, port = parts
        host_name, host_port = split_host(host_header)
        default = 443 if scheme == "https" else 80
        return name == host_name and port == (host_port or default)

    def credentials_allowed(self, origin: str) -> bool:
        """Whether a page of ``origin`` may use the session cookie (and read answers made with it)."""
        parts = _origin_parts(origin)
        if parts is None:
            return False
        return any(_matches(pattern, parts) for pattern in self.cors_origins)

    def cors_headers(self, origin: str | None, also_exposed: Iterable[str] = ()) -> list[tuple[bytes, bytes]]:
        """The CORS headers of a Sales API answer to a request with this ``Origin`` (none without one).
        ``also_exposed``: the names of the answer's own headers a page may read too (a stub's)."""
        if origin is None:
            return []
        extra = [name for name in also_exposed if name.lower() not in _EXPOSED]
        exposed = ", ".join([CORS_EXPOSE_HEADERS, *extra]).encode("latin-1") if extra else _EXPOSED_BYTES
        if self.credentials_allowed(origin):
            return [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", exposed),
                (b"vary", b"Origin"),
            ]
        return [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", exposed)]

    def preflight_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        """The answer to a Sales API preflight (``OPTIONS`` with ``Access-Control-Request-Method``)."""
        return [
            *self.cors_headers(origin),
            (b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
            (b"access-control-max-age", CORS_MAX_AGE.encode()),
        ]


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin; None for ``null`` or anything malformed."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname.rstrip(".").lower(), port or (443 if parts.scheme == "https" else 80)


def _matches(pattern: str, parts: tuple[str, str, int]) -> bool:
    scheme, name, port = parts
    any_port = pattern.endswith(":*")
    wanted = _origin_parts(pattern[:-2] if any_port else pattern)
    if wanted is None:
        return False
    return wanted[0] == scheme and wanted[1] == name and (any_port or wanted[2] == port)


def check_patterns(patterns: Iterable[str]) -> list[str]:
    """The problems with ``--cors-origin`` patterns (empty when all are well-formed)."""
    problems = []
    for pattern in patterns:
        base = pattern[:-2] if pattern.endswith(":*") else pattern
        if _origin_parts(base) is None:
            problems.append(
                f"--cors-origin {pattern!r} is not an origin such as http://localhost:5173 or http://localhost:*"
            )
    return problems
