"""The control plane's own state, kept beside the store: journal, faults, idempotency keys, state file."""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_server.faults import Faults
from mock_server.idempotency import IdempotencyStore
from mock_server.journal import Journal
from mock_server.persistence import StateFileKeeper

EXTENSION_KEY = "control_plane"


@dataclass
class ControlPlane:
    """What ``/__admin`` manages besides the store. ``token`` is the admin token (None: no check)."""

    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    keeper: StateFileKeeper | None = None
    token: str | None = None
