"""The running server's state, shared by the Sales API dispatcher and the control plane.

``create_app`` builds one ``Runtime`` and exposes it as ``app.state.runtime``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mock_server.config import MockConfig
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


@dataclass
class Runtime:
    """Everything a request handler or the control plane needs.

    ``startup_state`` is ``store.snapshot()`` right after the fixtures were loaded (for
    ``/__admin/reset``); ``extensions`` is free space for the control plane (journal, faults, ...).
    """

    config: MockConfig
    spec: Spec
    store: Store
    handlers: dict[str, Handler]
    startup_state: dict[str, Any]
    started_at: float = field(default_factory=time.monotonic)
    response_mismatches: list[ResponseMismatch] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at
