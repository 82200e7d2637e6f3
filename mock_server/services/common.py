"""Small helpers shared by the use cases: ids, instants, lookups that answer 404/422."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

from mock_server.domain.errors import FieldProblem, NotFound, Unprocessable
from mock_server.domain.lines import totals
from mock_server.domain.periods import format_instant, parse_date
from mock_server.store import EntityState, Resource

_RANDOM: list[Any] = [b"", 0]
"""Random bytes from the OS, fetched 4 KiB at a time (one system call per 256 ids), and the next
unused offset. A forked child starts with none (``os.register_at_fork``): it never repeats its parent's."""
os.register_at_fork(after_in_child=lambda: _RANDOM.__setitem__(slice(None), [b"", 0]))


def new_id() -> str:
    """A fresh UUID v4 string (122 random bits from the OS, as ``uuid.uuid4``)."""
    pool, at = _RANDOM
    if at + 16 > len(pool):
        pool, at = os.urandom(4096), 0
        _RANDOM[0] = pool
    _RANDOM[1] = at + 16
    x = pool[at : at + 16].hex()
    variant = "89ab"[int(x[16], 16) & 3]
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{variant}{x[17:20]}-{x[20:]}"


def instant(now: datetime) -> str:
    """``now`` as RFC 3339 UTC with ``Z``."""
    return format_instant(now)


def date_field(body: dict[str, Any], name: str, default: date) -> date:
    """A spec-validated ``YYYY-MM-DD`` body field as a date, or ``default`` when absent."""
    value = body.get(name)
    return default if value is None else parse_date(str(value))


def find(entity: EntityState, kind: str, obj_id: str, label: str) -> Resource:
    """The entity's resource or NotFound (404); another entity's resource is equally not found."""
    resource = entity.get(kind, obj_id)
    if resource is None:
        raise NotFound(f"no {label} {obj_id}")
    return resource


def find_json(entity: EntityState, kind: str, obj_id: str, label: str) -> bytes:
    """``find``'s resource as the JSON text an answer carries, read without unpacking it
    (``EntityState.read_json``)."""
    if not entity.has(kind, obj_id):
        raise NotFound(f"no {label} {obj_id}")
    return entity.read_json(kind, obj_id)


def all_json(entity: EntityState, kind: str, status: str | None = None) -> bytes:
    """``{"data": [...]}`` as the JSON an answer carries: every resource of ``kind`` (optionally of
    ``status``), newest first, as the resources' stored text (never copied into dicts)."""
    return json_document(b'{"data":[', entity.newest_first_json(kind, status), b"]}")


def referenced(entity: EntityState, kind: str, obj_id: str, field: str, label: str) -> Resource:
    """A resource named in a request body; Unprocessable (422) when it is not this entity's. UUIDs
    compare case-insensitively, as in paths (ids are stored lower-case)."""
    resource = entity.get(kind, obj_id.lower())
    if resource is None:
        raise Unprocessable(f"{field} refers to no {label} of this entity", [FieldProblem(field, f"unknown {label}")])
    return resource


def page_envelope(entity: EntityState, kind: str, query: dict[str, Any]) -> bytes:
    """``{"data", "page", "pageSize", "total"}`` of ``kind``, newest first, filtered by ``query["status"]``,
    as the JSON an answer carries (see ``all_json``)."""
    page = int(query.get("page", 1))
    page_size = int(query.get("pageSize", 20))
    texts, total = entity.page_json(kind, query.get("status"), page, page_size)
    return json_document(b'{"data":[', texts, b'],"page":%d,"pageSize":%d,"total":%d}' % (page, page_size, total))


def json_document(head: bytes, texts: list[bytes], tail: bytes) -> bytes:
    """``head``, the JSON values ``texts`` separated by commas, then ``tail``, copying the (large)
    texts once. ``texts`` is consumed (its first and last items are changed)."""
    if not texts:
        return head + tail
    texts[0] = head + texts[0]
    texts[-1] = texts[-1] + tail
    return b",".join(texts)


def commit_draft_patch(
    entity: EntityState,
    kind: str,
    document: Resource,
    body: dict[str, Any],
    lines: list[Resource] | None,
    target: str | None,
    now: datetime,
) -> Resource:
    """Apply an already validated PATCH of a quote or order: ``notes``, priced ``lines`` (with their
    totals), then the status transition ``target`` (None: none). ``updatedAt`` moves only when a
    field was edited or the status changed (a PATCH to the current status is a no-op)."""
    if target is not None or any(name != "status" for name in body):
        document["updatedAt"] = instant(now)
    if "notes" in body:
        document["notes"] = body["notes"]
    if lines is not None:
        document["lines"] = lines
        document.update(totals(lines))
        entity.touch(kind, document["id"])
    if target is not None:
        entity.set_status(kind, document["id"], target)
    return document
