"""Who may use ``/__admin``: same-origin callers with a loopback (or allowed) ``Host``, sending JSON,
and, with ``--admin-token``, only holders of the token. See ``mock_server.origins`` for why."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.requests import Request

from mock_server.errors import Forbidden, MisdirectedRequest, Unauthorized, UnsupportedMediaType
from mock_server.origins import OriginPolicy, admits_any_host, is_loopback

TOKEN_HEADER = "x-admin-token"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


class AdminConfigError(ValueError):
    """The control plane cannot start safely with this configuration (one line for a person)."""


def check_listen(host: str, token: str | None, allowed_hosts: Iterable[str] = ()) -> None:
    """Refuse to serve the admin API without a token on a non-loopback ``host``, or to any ``Host``
    (``--allowed-host '*'``: a DNS-rebinding page could then use it)."""
    if token:
        return
    if not is_loopback(host):
        raise AdminConfigError(
            f"refusing to listen on {host} without --admin-token: the admin API (/__admin) "
            "can reset and replace all state; pass --admin-token TOKEN or listen on 127.0.0.1"
        )
    if admits_any_host(allowed_hosts):
        raise AdminConfigError(
            "refusing --allowed-host '*' without --admin-token: any web page could reach the admin API "
            "(/__admin) through DNS rebinding, read every key and reset all state; "
            "pass --admin-token TOKEN or name the hosts with --allowed-host NAME"
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


def guard(request: Request, policy: OriginPolicy, token: str | None) -> None:
    """Every admin request, before its handler: Host (421), Origin (403), token (401), JSON writes (415).

    A write (POST/PUT/PATCH) that sends a body or a ``Content-Type`` must send ``application/json``, so
    an HTML form post or a ``text/plain`` beacon never acts; a bodiless ``curl -X POST`` is fine."""
    host = request.headers.get("host")
    if not policy.host_allowed(host):
        raise MisdirectedRequest(
            f"the admin API does not answer for Host {host!r}: use 127.0.0.1 or localhost, "
            "or start the mock with --allowed-host NAME"
        )
    origin = request.headers.get("origin")
    if origin is not None and not policy.same_origin(origin, host):
        raise Forbidden(f"cross-origin requests to the admin API are refused (Origin {origin})")
    require_token(request, token)
    declared = request.headers.get("content-type")
    has_body = request.headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in request.headers
    if request.method in WRITE_METHODS and (declared is not None or has_body):
        media_type = (declared or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaType(
                f"admin {request.method} requests must be sent as application/json (got {media_type or 'none'}); "
                "an empty body is fine: send -H 'Content-Type: application/json'"
            )


def require_token(request: Request, token: str | None) -> None:
    """401 unless the request carries ``token`` (no check when ``token`` is None)."""
    if token is None:
        return
    given = presented_token(request)
    if given is None:
        raise Unauthorized("the admin API needs a token: send 'Authorization: Bearer <admin token>'")
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("wrong admin token")
