"""The running server's state, shared by the Sales API dispatcher and the control plane.

``create_app`` builds one ``Runtime`` and exposes it as ``app.state.runtime``.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from mock_server.config import MockConfig
from mock_server.control import ControlPlane
from mock_server.routes.types import Handler
from mock_server.spec import Spec
from mock_server.store import Store


@dataclass
class ResponseMismatch:
    """A Sales API answer that did not match the spec (recorded when ``validate_responses`` is on)."""

    operation_id: str
    method: str
    path: str
    status: int
    problems: list[str]


def freeze_state(document: dict[str, Any]) -> bytes:
    """A state document as compact compressed JSON (``thaw_state`` gives it back, equal)."""
    try:
        data = orjson.dumps(document)
    except TypeError:  # orjson refuses ints beyond 64 bits; the standard library does not
        data = json.dumps(document, separators=(",", ":")).encode()
    return zlib.compress(data, 1)


def thaw_state(blob: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(zlib.decompress(blob))
    return document


@dataclass
class Runtime:
    """Everything a request handler or the control plane needs.

    ``startup_state`` is ``snapshot.snapshot(store)`` right after the fixtures were loaded (for
    ``/__admin/reset``), kept compressed (``freeze_state``): a second live copy of every resource
    would double the memory of a large state. ``control`` is the control plane (journal, faults,
    idempotency keys, state file) that the request pipeline consults and ``/__admin`` manages.
    """

    config: MockConfig
    spec: Spec
    store: Store
    handlers: dict[str, Handler]
    startup_blob: bytes
    started_at: float = field(default_factory=time.monotonic)
    response_mismatches: list[ResponseMismatch] = field(default_factory=list)
    control: ControlPlane = field(default_factory=ControlPlane)

    @property
    def startup_state(self) -> dict[str, Any]:
        """A fresh copy of the state right after start-up (for ``/__admin/reset``)."""
        return thaw_state(self.startup_blob)

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at
