"""``Idempotency-Key`` on Sales API POSTs.

The first response to a key is stored; the same key with the same request (method, path, query
and JSON body) replays it with ``Idempotent-Replayed: true`` and no effect; the same key with a
different request is a 409; a retry that arrives while the first is still running waits for its answer. Keys are scoped
per entity and per credential (so a request without valid credentials never sees a stored
answer), and live 24 hours of the entity's clock. Answers 401, 403, 429 and 5xx are not stored,
so the request can be retried with the same key. The entity is the one the request resolved to,
whichever form named it (``entityId`` query or the browser session's ``x-entity-id``).

The pipeline holds a key with ``async with store.reserve(...) as reservation`` after validation: a
replay comes back as ``reservation.replay`` (a 409 is raised), the operation's answer is kept with
``reservation.keep``, and leaving the block settles the key (``IdempotencyStore.finish``) however the
block ends: with the kept answer, or forgotten when nothing was kept (an error, a ``Prefer`` answer,
a dropped connection), so a retry with the key goes on as the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mock_server.control.patterns import query_pairs
from mock_server.domain.errors import Conflict
from mock_server.errors import BadRequest

REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
MAX_RECORDS = 10_000
_NOT_STORED = {401, 403, 429}


ScopeKey = tuple[str, str, str]
"""(entityId, credential digest, key)."""


@dataclass
class StoredResponse:
    """A captured answer: status, headers and the JSON body bytes (None: no body)."""

    status: int
    headers: dict[str, str]
    body: bytes | None


@dataclass
class IdempotencyRecord:
    """One key's request fingerprint, when it was first used (entity time) and its answer once known."""

    fingerprint: str
    created_at: datetime
    response: StoredResponse | None = None
    settled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class Reservation:
    """A key held by one request (``IdempotencyStore.reserve``): ``replay`` is the stored answer to
    send instead of running the operation (None: the key is this request's), ``kept`` the answer to
    store for the key when the request ends (``keep``)."""

    replay: StoredResponse | None
    kept: StoredResponse | None = None

    def keep(self, answer: StoredResponse) -> None:
        """Store ``answer`` for the key when the reservation ends (unless it is one not to keep)."""
        self.kept = answer


@dataclass
class IdempotencyStore:
    """Records keyed by (entityId, credential digest, key), oldest first, bounded in number."""

    records: OrderedDict[ScopeKey, IdempotencyRecord] = field(default_factory=OrderedDict)
    capacity: int = MAX_RECORDS

    def get(self, scope_key: ScopeKey, now: datetime) -> IdempotencyRecord | None:
        """The live record for a key, forgetting it when older than 24 hours at ``now``."""
        record = self.records.get(scope_key)
        if record is not None and now - record.created_at >= LIFETIME:
            self.discard(scope_key)
            return None
        return record

    def put(self, scope_key: ScopeKey, record: IdempotencyRecord) -> None:
        """Store a record, evicting the oldest beyond capacity."""
        self.records[scope_key] = record
        while len(self.records) > self.capacity:
            self.discard(next(iter(self.records)))

    def discard(self, scope_key: ScopeKey) -> None:
        """Forget one key (a request waiting on it goes on as the first)."""
        record = self.records.pop(scope_key, None)
        if record is not None:
            record.settled.set()

    def forget_entity(self, entity_id: str) -> None:
        """Forget every key of an entity (deleted or replaced)."""
        for scope_key in [k for k in self.records if k[0] == entity_id]:
            self.discard(scope_key)

    def clear(self) -> None:
        """Forget everything."""
        for scope_key in list(self.records):
            self.discard(scope_key)

    async def begin(self, scope_key: ScopeKey, print_: str, now: datetime) -> StoredResponse | None:
        """Before the operation runs: the stored answer to replay, or None after reserving the key for this
        request. A retry that arrives while the first request with its key is still running waits for that
        answer (one effect, the same answer for both). 409 when the key was used with another request."""
        while True:
            record = self.get(scope_key, now)
            if record is None:
                self.put(scope_key, IdempotencyRecord(print_, now))
                return None
            if record.fingerprint != print_:
                raise Conflict("this Idempotency-Key was already used with a different request; use a new key")
            if record.response is not None:
                return record.response
            await record.settled.wait()

    @contextlib.asynccontextmanager
    async def reserve(self, scope_key: ScopeKey, print_: str, now: datetime) -> AsyncIterator[Reservation]:
        """Hold the key for the block (``begin``; 409 raised on entry): the block sends
        ``reservation.replay`` when there is one, else runs the operation and ``keep``s its answer.
        On leaving, however the block ends, a key this request reserved is settled (``finish``)."""
        reservation = Reservation(await self.begin(scope_key, print_, now))
        if reservation.replay is not None:
            yield reservation
            return
        try:
            yield reservation
        finally:
            self.finish(scope_key, reservation.kept)

    def finish(self, scope_key: ScopeKey, answer: StoredResponse | None) -> None:
        """After the operation: keep its answer for replays, or forget the key when the answer is not one to
        keep (None: nothing was answered; 401, 403, 429 and 5xx: the client may retry with the same key)."""
        record = self.records.get(scope_key)
        if record is None or record.response is not None:
            return
        if answer is None or answer.status >= 500 or answer.status in _NOT_STORED:
            self.discard(scope_key)
            return
        record.response = answer
        record.settled.set()


def check_key(key: str) -> None:
    """400 unless the key is 1..255 printable characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters")


def credential_digest(kind: str, credential: str) -> str:
    """A short digest of the credential the request authenticated with: the API key or the session token
    itself, so the same caller is the same scope however its headers were spelled (``bearer``/``Bearer``,
    extra spaces, other cookies beside the session's). Keys are scoped per credential, never stored in clear."""
    return hashlib.sha256(f"{kind}\n{credential}".encode()).hexdigest()[:32]


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """A digest of the request; a JSON body is compared by value (key order and spacing ignored), the
    query by its decoded (name, value) pairs in sorted order (``&`` left over, order and escapes ignored)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    pairs = json.dumps(sorted(pair for pair in query_pairs(query) if pair != ("", ""))).encode()
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), pairs, canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()
