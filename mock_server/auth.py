"""Authentication (API keys, browser sessions), scopes, and entity resolution (tenancy).

The request pipeline (``mock_server.pipeline``) runs these before anything else looks at the
request: a request without credentials is always a 401, whatever else is wrong with it, and
nothing about another entity is revealed before its key is shown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from mock_server.domain.errors import FieldProblem
from mock_server.errors import BadRequest, Forbidden, Unauthorized
from mock_server.store import READ_SCOPE, WRITE_SCOPE, EntityState, Store

SESSION_COOKIE = "axiomatic_session"
ENTITY_HEADER = "x-entity-id"
SINGLE_HEADERS = ("authorization", ENTITY_HEADER)
"""Headers a request may carry once: two credentials or two entities would leave the choice to whichever came last."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``kind`` is ``api_key`` or ``session``; ``credential`` the key or the session token
    itself, however the header spelled it (scheme case, spaces, other cookies)."""

    kind: str
    entity_id: str
    scopes: frozenset[str]
    credential: str


def authenticate(store: Store, headers: dict[str, str], *, cookie_allowed: bool = True) -> Principal:
    """The caller from ``Authorization: Bearer ak_...`` or else the session cookie; 401 otherwise.

    An ``Authorization`` header, when present, is the credential: a bad one is a 401 even if a
    valid session cookie is also sent. ``cookie_allowed`` is False for a browser page of an origin
    not allowed to use the session (``--cors-origin``): its cookie is no credential (no CSRF).
    """
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, raw_token = authorization.strip().partition(" ")
        token = raw_token.strip()
        if scheme.lower() != "bearer" or not token.startswith("ak_") or " " in token:
            raise Unauthorized("malformed Authorization header: expected 'Bearer ak_...'")
        key = store.find_api_key(token)
        if key is None:
            raise Unauthorized("unknown API key")
        return Principal("api_key", key.entity_id, key.scopes, token)
    cookie = session_token(headers.get("cookie", ""))
    if cookie is None:
        raise Unauthorized("missing credentials: send 'Authorization: Bearer ak_...'")
    if not cookie_allowed:
        raise Unauthorized(
            "the session cookie is not accepted from the page's origin (see --cors-origin); send an API key"
        )
    session = store.find_session(cookie)
    if session is None:
        raise Unauthorized("unknown or expired session")
    return Principal("session", session.entity_id, session.scopes, cookie)


def check_single(repeated: Collection[str]) -> None:
    """400 naming the header when ``Authorization`` or ``x-entity-id`` is among the ``repeated`` header names."""
    for name in SINGLE_HEADERS:
        if name in repeated:
            message = "is given more than once: send one"
            raise BadRequest(f"invalid request: {name}: {message}", details=[FieldProblem(name, message)])


def session_token(cookie_header: str) -> str | None:
    """The value of the ``axiomatic_session`` cookie, if any."""
    for part in cookie_header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == SESSION_COOKIE and value:
            return value.strip('"')
    return None


def required_scope(method: str) -> str:
    """GET (and HEAD) need ``read:sales``; every other method ``write:sales``."""
    return READ_SCOPE if method.upper() in ("GET", "HEAD") else WRITE_SCOPE


def check_scope(principal: Principal, method: str) -> None:
    """403 when the credential lacks the scope the method needs."""
    scope = required_scope(method)
    if scope not in principal.scopes:
        raise Forbidden(f"this credential lacks the {scope} scope")


def session_entity(principal: Principal, headers: dict[str, str], query_entity: str | None) -> str | None:
    """For a session, the entity given by ``x-entity-id`` (it must agree with ``entityId`` if both are
    given: 400 otherwise); None when the header is absent or the caller uses an API key."""
    header = headers.get(ENTITY_HEADER)
    if principal.kind != "session" or header is None:
        return None
    if query_entity is not None and query_entity != header:
        raise BadRequest(f"{ENTITY_HEADER} and entityId disagree")
    return header


def resolve_entity(store: Store, principal: Principal, entity_id: str) -> EntityState:
    """The requested entity, if the credential belongs to it; 403 otherwise (existence is not revealed)."""
    if principal.entity_id != entity_id:
        raise Forbidden("this credential does not belong to entity " + entity_id)
    entity = store.get_entity(entity_id)
    if entity is None:  # the entity was deleted while its credential lingered
        raise Forbidden("this credential does not belong to entity " + entity_id)
    return entity
