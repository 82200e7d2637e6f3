"""``--state-file PATH``: load the whole state at start, save it atomically while running and at shutdown.

Saves while running happen only after a change, in a forked child process (the event loop is not
blocked by encoding a large state); see ``StateFileKeeper``.

The file is the state export document (``GET /__admin/state``) as JSON. Writes go to a temporary
file in the same directory, are flushed to disk, then renamed over the target (``os.replace``),
so a reader never sees half a file. A file that exists but cannot be read or is not a valid state
document stops the server with a one-line :class:`StateFileError`; it is never overwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import glob
import hashlib
import json
import math
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from mock_server import snapshot
from mock_server.domain.errors import InvalidInput
from mock_server.domain.periods import format_instant
from mock_server.store import Store

DEFAULT_INTERVAL_SECONDS = 30.0
INTERVAL_VARIABLE = "SALES_MOCK_STATE_SAVE_SECONDS"
"""Environment variable: seconds between periodic saves instead of the default (e.g. benchmarks)."""


def default_interval() -> float:
    """``$SALES_MOCK_STATE_SAVE_SECONDS`` when it is a number in [0.1, 86400], else 30 seconds."""
    try:
        value = float(os.environ.get(INTERVAL_VARIABLE, ""))
    except ValueError:
        return DEFAULT_INTERVAL_SECONDS
    return value if 0.1 <= value <= 86_400 else DEFAULT_INTERVAL_SECONDS


class Section:
    """A part of the state document kept outside the store (e.g. the control plane's stubs): ``dump``
    gives it (None or empty: left out), ``prepare`` checks a document's value (``InvalidInput``) and
    gives the function that installs it."""

    def __init__(self, dump: Callable[[], Any], prepare: Callable[[Any], Callable[[], None]]) -> None:
        self.dump = dump
        self.prepare = prepare


def full_restore(store: Store, sections: dict[str, Section], document: Any, *, owned: bool = False) -> None:
    """Replace the store and every section by ``document``; checks everything first (``InvalidInput``,
    nothing changed). A document without a section (an older one) empties it."""
    appliers = _prepare_sections(sections, document)
    snapshot.restore(store, document, owned=owned)
    for apply in appliers:
        apply()


def _prepare_sections(sections: dict[str, Section], document: Any) -> list[Callable[[], None]]:
    return [s.prepare(document.get(n) if isinstance(document, dict) else None) for n, s in sections.items()]


def state_bytes(store: Store, sections: dict[str, Section]) -> bytes:
    """The state file's contents: the state document with one resource per line
    (``snapshot.encoded_chunks``, read back by ``snapshot.load_lines`` a line at a time)."""
    extra = {name: value for name, section in sections.items() if (value := section.dump())}
    return b"".join(snapshot.encoded_chunks(store, extra))


class StateFileError(ValueError):
    """The state file exists but is unusable; the message is one line for a person."""


def read_state_file(path: Path) -> dict[str, Any] | None:
    """The parsed document, or None when there is no file yet. Raises :class:`StateFileError`."""
    data = _read_bytes(path)
    return None if data is None else _parse(path, data)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateFileError(f"state file {path}: cannot be read: {error}") from None


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    """A state file in another layout than this server writes (hand-made, or from an older version):
    the standard library, which names the place of a problem and keeps integers beyond 64 bits (orjson
    would read them as floats)."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except UnicodeDecodeError as error:
        raise StateFileError(f"state file {path}: cannot be read: {error}") from None
    except StateFileError as error:
        raise StateFileError(f"state file {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise StateFileError(
            f"state file {path}: not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise StateFileError(f"state file {path}: nested too deeply") from None
    if not isinstance(document, dict):
        raise StateFileError(f"state file {path}: must hold a JSON object (a state export)")
    return document


def _no_constant(name: str) -> Any:
    raise StateFileError(f"{name} is not JSON (a state file holds no NaN or infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StateFileError(f"the number {text[:40]} is too large for a state file")
    return value


def temp_path(path: Path) -> Path:
    """A fresh temporary file name beside ``path`` (the pattern start-up removes as stale)."""
    directory = path.parent if str(path.parent) else Path(".")
    return directory / f".{path.name}.{secrets.token_hex(6)}.tmp"


def write_atomically(path: Path, data: bytes, temp: Path | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file (``temp``, else a fresh one) and ``os.replace``;
    never leaves a partial file."""
    temp_name = str(temp or temp_path(path))
    fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
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
    """Keeps one store in sync with one state file.

    Periodic saves run off the event loop: the server forks, and the child process (a
    copy-on-write image of the state at that instant, so the file is one consistent moment) encodes,
    compares with the last file written and, only when it differs, writes it atomically; the loop
    only pays for the fork. A tick where no change was recorded (``store.revision``) does nothing,
    except every ``FULL_CHECK_EVERY``-th, which lets the child compare anyway (a change no hook
    recorded is then saved late, never lost). Without ``os.fork`` (Windows) the save runs on the loop.
    The save at shutdown runs in the process itself, after any background save has finished.
    """

    FULL_CHECK_EVERY = 10

    def __init__(
        self,
        store: Store,
        path: str | Path,
        interval: float | None = None,
        sections: dict[str, Section] | None = None,
    ) -> None:
        self.store = store
        self.sections = sections or {}
        self.path = Path(path)
        self.interval = default_interval() if interval is None else interval
        self._saved_digest: str | None = None
        self._saved_revision: int | None = None
        self._child: tuple[int, Path] | None = None
        """The background save running: the child's pid and the temporary file it writes."""
        self.background_saves = 0
        """Background saves that finished (written or found unchanged); for tests and benchmarks."""
        self.last_pause_ms: float | None = None
        self.longest_pause_ms: float | None = None
        """How long the event loop stood still for the fork of the last / the slowest background save."""
        self.last_saved_at: str | None = None
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        """When the file was last written, and the last save that failed: why, and when (RFC 3339)."""
        self.final_save_failed = False
        """The save at shutdown failed (``sales-mock serve`` then exits with code 1)."""

    def load(self) -> bool:
        """Replace the store's state by the file's; False when there is no file yet.

        Raises :class:`StateFileError` (the store unchanged) when the file is unreadable or invalid.
        """
        if not self.path.parent.is_dir():
            raise StateFileError(f"state file {self.path}: the directory {self.path.parent} does not exist")
        _remove_stale_temp_files(self.path)
        data = _read_bytes(self.path)
        if data is None:
            return False
        try:
            loaded = snapshot.load_lines(data)  # the layout this server writes: a resource at a time
            if loaded is None:
                full_restore(self.store, self.sections, _parse(self.path, data), owned=True)
            else:
                fresh, rest = loaded
                appliers = _prepare_sections(self.sections, rest)
                snapshot.replace(self.store, fresh)
                for apply in appliers:
                    apply()
        except InvalidInput as error:
            raise StateFileError(f"state file {self.path}: not a valid state document: {error.message}") from None
        # the file as it is: a file this server wrote re-encodes to the same bytes (a hand-made one
        # is rewritten once, by the first save that compares)
        self._saved_digest = self._digest(data)
        self._saved_revision = self.store.revision
        return True

    def save(self) -> bool:
        """Write the state (in this process) if it changed since the last load or save; True when written."""
        current = self.store.revision
        data = state_bytes(self.store, self.sections)
        digest = self._digest(data)
        self._saved_revision = current
        if digest == self._saved_digest:
            return False
        write_atomically(self.path, data)
        self._saved_digest = digest
        self.last_saved_at = _wall_now()
        return True

    def save_or_report(self) -> bool:
        """``save``, reporting a failed write (stderr and ``GET /__admin/health``) instead of raising (the
        server keeps running); False when it failed."""
        try:
            self.save()
        except OSError as error:
            self._failed(str(error))
            return False
        return True

    def _failed(self, detail: str) -> None:
        self.last_error, self.last_error_at = " ".join(detail.split())[:500], _wall_now()
        print(f"sales-mock: could not write state file {self.path}: {self.last_error}", file=sys.stderr)

    async def save_in_background(self) -> bool:
        """One save by a forked child (see the class); True when the child wrote the file. Falls back to
        ``save`` on the loop where the platform cannot fork. Failures are reported on stderr."""
        if not hasattr(os, "fork"):
            return self.save_or_report()
        current = self.store.revision
        temp = temp_path(self.path)
        reader, writer = os.pipe()
        started = time.perf_counter()
        try:
            pid = os.fork()
        except OSError as error:
            os.close(reader)
            os.close(writer)
            self._failed(f"could not start a background save: {error}")
            return False
        if pid == 0:  # the child: never returns
            os.close(reader)
            _child_save(self, writer, temp)
        pause = (time.perf_counter() - started) * 1000
        self.last_pause_ms = pause
        self.longest_pause_ms = max(pause, self.longest_pause_ms or 0.0)
        os.close(writer)
        self._child = (pid, temp)
        try:
            status = await _wait_for(pid)
        finally:
            self._child = None
            message = _read_all(reader)
        self.background_saves += 1
        code = _reaped(status, temp)
        if code == _UNCHANGED:
            self._saved_revision = current
            return False
        if code == 0 and len(message) == 64:
            self._saved_digest, self._saved_revision = message.decode("ascii"), current
            self.last_saved_at = _wall_now()
            return True
        detail = message.decode("utf-8", "replace").strip()
        self._failed(
            detail or (f"the saving process was killed by signal {-code}" if code < 0 else f"exit status {code}")
        )
        return False

    def status(self) -> dict[str, Any]:
        """For ``GET /__admin/health``: the file, the background saves so far and the loop's pauses."""

        def rounded(ms: float | None) -> float | None:
            return None if ms is None else round(ms, 2)

        return {
            "path": str(self.path),
            "backgroundSaves": self.background_saves,
            "lastPauseMs": rounded(self.last_pause_ms),
            "longestPauseMs": rounded(self.longest_pause_ms),
            "lastSavedAt": self.last_saved_at,
            "lastError": self.last_error,
            "lastErrorAt": self.last_error_at,
        }

    def _due(self, tick: int) -> bool:
        return self.store.revision != self._saved_revision or tick % self.FULL_CHECK_EVERY == 0

    async def _periodically(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(self.interval)
            tick += 1
            if self._due(tick):
                await self.save_in_background()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the app's lifespan: save every ``interval`` seconds when changed, and once more at shutdown
        (``final_save_failed`` when that one fails)."""
        task = asyncio.create_task(self._periodically())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._finish_child()
            self.final_save_failed = not self.save_or_report()

    async def _finish_child(self) -> None:
        """Let a background save that was cancelled with its task finish (it writes a whole file or nothing)."""
        child = self._child
        if child is not None:
            with contextlib.suppress(ChildProcessError):
                _reaped(await _wait_for(child[0]), child[1])
            self._child = None

    def _digest_known(self) -> str | None:
        return self._saved_digest

    @staticmethod
    def _digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()


_UNCHANGED = 3


def _reaped(status: int, temp: Path) -> int:
    """The exit code of a reaped saving child (negative: the signal that killed it). A child that did not
    finish its save (killed midway, or failed) may have left its temporary file: it is removed."""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, _UNCHANGED):
        with contextlib.suppress(OSError):
            temp.unlink()
    return code


def _wall_now() -> str:
    return format_instant(datetime.now(UTC))


def _child_save(keeper: StateFileKeeper, writer: int, temp: Path) -> NoReturn:
    """In the forked child: encode, compare, write atomically through ``temp``; report the digest on ``writer``."""
    code = 1
    try:
        gc.disable()  # a collection would touch (and so copy) every page of the parent's heap
        _die_with_parent()
        _stay_out_of_the_way()
        data = state_bytes(keeper.store, keeper.sections)
        digest = StateFileKeeper._digest(data)
        if digest == keeper._digest_known():
            code = _UNCHANGED
        else:
            write_atomically(keeper.path, data, temp)
            os.write(writer, digest.encode("ascii"))
            code = 0
    except BaseException as error:  # the child reports everything and exits
        with contextlib.suppress(BaseException):
            os.write(writer, f"{type(error).__name__}: {error}".encode()[:4000])
    finally:
        os._exit(code)


def _die_with_parent() -> None:
    """Linux: the child gets SIGKILL when the server dies, so no orphan writes a file afterwards."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the parent is already gone
            os._exit(1)


def _stay_out_of_the_way() -> None:
    """The child yields to the server: a lower priority, and any CPU rather than only the server's
    (a server pinned to one core would otherwise share it with its own save)."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    with contextlib.suppress(OSError, AttributeError):
        mine = os.sched_getaffinity(0)
        others = set(range(os.cpu_count() or 1)) - mine
        if others:
            os.sched_setaffinity(0, others)


async def _wait_for(pid: int) -> int:
    """The wait status of child ``pid``, polled without blocking the loop."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        await asyncio.sleep(0.01)


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _remove_stale_temp_files(path: Path) -> None:
    """Temporary files of saves that were killed midway (never the state file itself)."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
