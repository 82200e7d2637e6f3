"""``Idempotency-Key`` on Sales API POSTs.

The first response to a key is stored; the same key with the same request (method, path, query
and JSON body) replays it with ``Idempotent-Replayed: true`` and no effect; the same key with a
different request is a 409, and so is a retry while the first is still running. Keys are scoped
per entity and per credential (so a request without valid credentials never sees a stored
answer), and live 24 hours of the entity's clock. Answers 401, 403, 429 and 5xx are not stored,
so the request can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.body import read_body
from mock_server.errors import HttpError, render

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
MAX_RECORDS = 10_000
_NOT_STORED = {401, 403, 429}


@dataclass
class StoredResponse:
    """A captured answer: status, raw headers and body bytes."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class IdempotencyRecord:
    """One key's request fingerprint, when it was first used (entity time) and its answer once known."""

    fingerprint: str
    created_at: datetime
    response: StoredResponse | None = None


@dataclass
class IdempotencyStore:
    """Records keyed by (entityId, credential digest, key), oldest first, bounded in number."""

    records: OrderedDict[tuple[str, str, str], IdempotencyRecord] = field(default_factory=OrderedDict)
    capacity: int = MAX_RECORDS

    def get(self, scope_key: tuple[str, str, str], now: datetime) -> IdempotencyRecord | None:
        """The live record for a key, forgetting it when older than 24 hours at ``now``."""
        record = self.records.get(scope_key)
        if record is not None and now - record.created_at >= LIFETIME:
            del self.records[scope_key]
            return None
        return record

    def put(self, scope_key: tuple[str, str, str], record: IdempotencyRecord) -> None:
        """Store a record, evicting the oldest beyond capacity."""
        self.records[scope_key] = record
        while len(self.records) > self.capacity:
            self.records.popitem(last=False)

    def discard(self, scope_key: tuple[str, str, str]) -> None:
        """Forget one key."""
        self.records.pop(scope_key, None)

    def forget_entity(self, entity_id: str) -> None:
        """Forget every key of an entity (deleted or replaced)."""
        for scope_key in [k for k in self.records if k[0] == entity_id]:
            del self.records[scope_key]

    def clear(self) -> None:
        """Forget everything."""
        self.records.clear()


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """A digest of the request; a JSON body is compared by value (key order and spacing ignored)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _credential_digest(scope: Scope) -> str:
    parts = [_header(scope, name) or "" for name in (b"authorization", b"cookie", b"x-entity-id")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _replay(stored: StoredResponse) -> Response:
    response = Response(stored.body, status_code=stored.status)
    response.raw_headers = [*stored.headers, (REPLAYED_HEADER.lower().encode(), b"true")]
    return response


class IdempotencyMiddleware:
    """Applies idempotency keys to POSTs that ``resolve`` maps to a Sales API operation.

    ``now_for(entity_id)`` is the entity's clock, or None when the entity does not exist (then the
    request passes through unrecorded and the dispatcher answers).
    """

    def __init__(
        self,
        app: ASGIApp,
        store: IdempotencyStore,
        resolve: Callable[[str, str], str | None],
        now_for: Callable[[str], datetime | None],
    ) -> None:
        self.app = app
        self.store = store
        self.resolve = resolve
        self.now_for = now_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER.encode()) if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None or self.resolve("POST", str(scope["path"])) is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            message = f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters"
            await JSONResponse({"error": message}, status_code=400)(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        entity_id = (parse_qs(query.decode("latin-1")).get("entityId") or [""])[0]
        now = self.now_for(entity_id) if entity_id else None
        if now is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body({"content-length": _header(scope, b"content-length") or ""}, receive)
        except ClientDisconnect:
            return
        except HttpError as error:
            status, payload, headers = render(error)
            await JSONResponse(payload, status_code=status, headers=headers)(scope, receive, send)
            return
        print_ = fingerprint("POST", str(scope["path"]), query, body)
        scope_key = (entity_id, _credential_digest(scope), key)
        early = self._early_answer(scope_key, print_, now)
        if early is not None:
            await early(scope, receive, send)
            return
        await self._first_use(scope, (body, receive), send, scope_key, IdempotencyRecord(print_, now))

    def _early_answer(self, scope_key: tuple[str, str, str], print_: str, now: datetime) -> Response | None:
        record = self.store.get(scope_key, now)
        if record is None:
            return None
        if record.fingerprint != print_:
            message = "this Idempotency-Key was already used with a different request; use a new key"
            return JSONResponse({"error": message}, status_code=409)
        if record.response is None:
            message = "a request with this Idempotency-Key is still being processed; retry later"
            return JSONResponse({"error": message}, status_code=409)
        return _replay(record.response)

    async def _first_use(
        self,
        scope: Scope,
        request: tuple[bytes, Receive],
        send: Send,
        scope_key: tuple[str, str, str],
        record: IdempotencyRecord,
    ) -> None:
        self.store.put(scope_key, record)
        body, receive = request
        captured = StoredResponse(0, [], b"")
        sent_body = False

        async def receive_again() -> Message:
            nonlocal sent_body
            if sent_body:
                return await receive()
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
                captured.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive_again, capture)
        finally:
            if captured.status == 0 or captured.status >= 500 or captured.status in _NOT_STORED:
                self.store.discard(scope_key)
            else:
                record.response = captured
