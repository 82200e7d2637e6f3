"""The running server's state, shared by the Sales API dispatcher and the control plane.

``create_app`` builds one ``Runtime`` and exposes it as ``app.state.runtime``.
"""

from __future__ import annotations

import ctypes
import tempfile
import time
import weakref
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from mock_server import snapshot
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


class FrozenState:
    """A state as compressed JSON in the line layout (``snapshot.encoded_chunks``): the start-up copy
    behind ``/__admin/reset``. A second live copy of every resource would double the memory of a
    large state; compressed, 100,000 quotes and subscriptions take about 32 MiB, so beyond
    ``spill_bytes`` the copy moves to an anonymous temporary file (deleted when closed or when the
    process ends)."""

    SPILL_BYTES = 4 << 20

    def __init__(self, chunks: Iterable[bytes], spill_bytes: int = SPILL_BYTES) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=spill_bytes)
        weakref.finalize(self, self._file.close)
        compressor = zlib.compressobj(1)
        pending = bytearray()
        for chunk in chunks:
            pending += chunk
            if len(pending) >= 1 << 16:
                self._file.write(compressor.compress(pending))
                pending.clear()
        self._file.write(compressor.compress(pending))
        self._file.write(compressor.flush())

    @property
    def on_disk(self) -> bool:
        """Whether the copy moved to the temporary file."""
        return bool(getattr(self._file, "_rolled", False))

    def thaw(self) -> Store:
        """A new store equal to the frozen state, read a resource at a time (``snapshot.load_lines``)."""
        self._file.seek(0)
        loaded = snapshot.load_lines(zlib.decompress(self._file.read()))
        assert loaded is not None, "FrozenState holds the line layout"
        return loaded[0]


def release_free_heap() -> None:
    """Hand the heap memory a large load freed back to the operating system (glibc's
    ``malloc_trim``: about 40 MiB after loading 100,000 quotes and subscriptions; elsewhere nothing)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


@dataclass
class Runtime:
    """Everything a request handler or the control plane needs.

    ``startup`` is the state right after the fixtures were loaded (for ``/__admin/reset``).
    ``control`` is the control plane (journal, faults, idempotency keys, state file) that the
    request pipeline consults and ``/__admin`` manages.
    """

    config: MockConfig
    spec: Spec
    store: Store
    handlers: dict[str, Handler]
    startup: FrozenState
    started_at: float = field(default_factory=time.monotonic)
    response_mismatches: list[ResponseMismatch] = field(default_factory=list)
    control: ControlPlane = field(default_factory=ControlPlane)

    def startup_store(self) -> Store:
        """A fresh copy of the state right after start-up (for ``/__admin/reset``)."""
        return self.startup.thaw()

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_at
