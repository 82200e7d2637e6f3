"""The control plane's state, kept beside the store: journal, faults, idempotency keys, stubs, state file."""

from __future__ import annotations

from dataclasses import dataclass, field

from mock_server.control.faults import Faults
from mock_server.control.idempotency import IdempotencyStore
from mock_server.control.journal import Journal
from mock_server.control.stubs import StubBook
from mock_server.persistence import Section, StateFileKeeper


@dataclass
class ControlPlane:
    """What the request pipeline consults and ``/__admin`` manages besides the store.

    ``token`` is the admin token (None: no check); ``keeper`` keeps the state file (None: no file).
    """

    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    stubs: StubBook = field(default_factory=StubBook)
    keeper: StateFileKeeper | None = None
    token: str | None = None

    def sections(self) -> dict[str, Section]:
        """The parts of the state document the control plane keeps (beside the store): ``stubs``."""
        return {"stubs": Section(self.stubs.dump, self.stubs.prepare)}
