"""Who may use ``/__admin``: on a non-loopback address only holders of the admin token."""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request

from mock_server.errors import Unauthorized

TOKEN_HEADER = "x-admin-token"


class AdminConfigError(ValueError):
    """The control plane cannot start safely with this configuration (one line for a person)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); False for anything else."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_listen(host: str, token: str | None) -> None:
    """Refuse to serve the admin API on a non-loopback ``host`` without a token."""
    if not is_loopback(host) and not token:
        raise AdminConfigError(
            f"refusing to listen on {host} without --admin-token: the admin API (/__admin) "
            "can reset and replace all state; pass --admin-token TOKEN or listen on 127.0.0.1"
        )


def presented_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer <token>`` or ``X-Admin-Token: <token>``."""
    direct = request.headers.get(TOKEN_HEADER)
    if direct:
        return direct.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def require_token(request: Request, token: str | None) -> None:
    """401 unless the request carries ``token`` (no check when ``token`` is None)."""
    if token is None:
        return
    given = presented_token(request)
    if given is None:
        raise Unauthorized("the admin API needs a token: send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("wrong admin token")
