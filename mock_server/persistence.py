"""``--state-file PATH``: load the whole state at start, save it atomically while running and at shutdown.

The file is the state export document (``GET /__admin/state``) as JSON. Writes go to a temporary
file in the same directory, are flushed to disk, then renamed over the target (``os.replace``),
so a reader never sees half a file. A file that exists but cannot be read or is not a valid state
document stops the server with a one-line :class:`StateFileError`; it is never overwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from mock_server import snapshot
from mock_server.domain.errors import InvalidInput
from mock_server.store import Store

DEFAULT_INTERVAL_SECONDS = 30.0


class Section:
    """A part of the state document kept outside the store (e.g. the control plane's stubs): ``dump``
    gives it (None or empty: left out), ``prepare`` checks a document's value (``InvalidInput``) and
    gives the function that installs it."""

    def __init__(self, dump: Callable[[], Any], prepare: Callable[[Any], Callable[[], None]]) -> None:
        self.dump = dump
        self.prepare = prepare


def full_snapshot(store: Store, sections: dict[str, Section]) -> dict[str, Any]:
    """The state document: the store's snapshot and every non-empty section."""
    document = snapshot.snapshot(store)
    for name, section in sections.items():
        value = section.dump()
        if value:
            document[name] = value
    return document


def full_restore(store: Store, sections: dict[str, Section], document: Any) -> None:
    """Replace the store and every section by ``document``; checks everything first (``InvalidInput``,
    nothing changed). A document without a section (an older one) empties it."""
    appliers = [s.prepare(document.get(n) if isinstance(document, dict) else None) for n, s in sections.items()]
    snapshot.restore(store, document)
    for apply in appliers:
        apply()


class StateFileError(ValueError):
    """The state file exists but is unusable; the message is one line for a person."""


def read_state_file(path: Path) -> dict[str, Any] | None:
    """The parsed document, or None when there is no file yet. Raises :class:`StateFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StateFileError(f"state file {path}: cannot be read: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateFileError(
            f"state file {path}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    if not isinstance(document, dict):
        raise StateFileError(f"state file {path}: must hold a JSON object (a state export)")
    return document


def encode_state(document: dict[str, Any]) -> bytes:
    """The file form of a state document. Keys keep their order (a snapshot is deterministic, so equal
    states give equal bytes), so resources restored from the file answer with their fields in API order."""
    return json.dumps(document, indent=1, ensure_ascii=True).encode("ascii") + b"\n"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``; never leaves a partial file."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


class StateFileKeeper:
    """Keeps one store in sync with one state file."""

    def __init__(
        self,
        store: Store,
        path: str | Path,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        sections: dict[str, Section] | None = None,
    ) -> None:
        self.store = store
        self.sections = sections or {}
        self.path = Path(path)
        self.interval = interval
        self._saved_digest: str | None = None

    def load(self) -> bool:
        """Replace the store's state by the file's; False when there is no file yet.

        Raises :class:`StateFileError` (the store unchanged) when the file is unreadable or invalid.
        """
        if not self.path.parent.is_dir():
            raise StateFileError(f"state file {self.path}: the directory {self.path.parent} does not exist")
        document = read_state_file(self.path)
        if document is None:
            return False
        try:
            full_restore(self.store, self.sections, document)
        except InvalidInput as error:
            raise StateFileError(f"state file {self.path}: not a valid state document: {error.message}") from None
        self._saved_digest = self._digest(encode_state(full_snapshot(self.store, self.sections)))
        return True

    def save(self) -> bool:
        """Write the state if it changed since the last load or save; True when written."""
        data = encode_state(full_snapshot(self.store, self.sections))
        digest = self._digest(data)
        if digest == self._saved_digest:
            return False
        write_atomically(self.path, data)
        self._saved_digest = digest
        return True

    def save_or_report(self) -> None:
        """``save``, reporting a failed write on stderr instead of raising (the server keeps running)."""
        try:
            self.save()
        except OSError as error:
            print(f"sales-mock: could not write state file {self.path}: {error}", file=sys.stderr)

    async def _periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.save_or_report()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the app's lifespan: save every ``interval`` seconds when changed, and once more at shutdown."""
        task = asyncio.create_task(self._periodically())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.save_or_report()

    @staticmethod
    def _digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
