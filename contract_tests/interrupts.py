"""SIGTERM and Ctrl-C during a run: the interrupt never lands between a request that may create a
resource and the moment the run records what it created.

A run stopped by a signal cleans up what it created (``cleanup.Janitor``), but it can only clean up
what it recorded, and it records a resource when the answer that created it comes back. An
interrupt raised while a ``POST`` is in flight, or in the instant between its answer and the
record, would leave that resource on the target with nobody knowing. So the network transports
(``throttle.RetryingTransport`` and ``RetryingAdapter``) mark every request with
:func:`request_in_flight`, and the signal handler installed by :func:`deferring_interrupts`:

- raises ``KeyboardInterrupt`` at once when no request is in flight and none ended in the last
  ``grace`` seconds (the run is computing or idle);
- otherwise remembers the signal; it is raised before the next request is sent (nothing is
  created), or ``grace`` seconds after the last request ended (its answer has been recorded by
  then), whichever comes first;
- a second signal while one is pending is raised at once.

Outside the main thread, or without ``signal.setitimer`` (Windows), handlers are left alone.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Handler = Callable[[int, Any], Any] | int
"""A signal handler: a function, ``signal.SIG_IGN`` or ``signal.SIG_DFL``."""

GRACE = 1.0
"""Seconds after a request ends during which an interrupt waits for its answer to be recorded."""


class _State:
    def __init__(self) -> None:
        self.active = False
        self.in_flight = 0
        self.last_end = float("-inf")
        self.pending: int | None = None
        self.grace = GRACE
        self.lock = threading.Lock()  # the checks may send from worker threads


_STATE = _State()


def _interrupt(signum: int) -> None:
    _STATE.pending = None
    signal.setitimer(signal.ITIMER_REAL, 0)
    raise KeyboardInterrupt(f"signal {signum}")


def _on_signal(signum: int, _frame: Any) -> None:
    state = _STATE
    if state.pending is not None:
        _interrupt(signum)  # a second signal: the caller insists
    since = time.monotonic() - state.last_end
    if state.in_flight == 0 and since >= state.grace:
        _interrupt(signum)
    state.pending = signum
    if state.in_flight == 0:
        signal.setitimer(signal.ITIMER_REAL, max(0.01, state.grace - since))


def _on_alarm(_signum: int, _frame: Any) -> None:
    state = _STATE
    if state.pending is not None and state.in_flight == 0:
        _interrupt(state.pending)


@contextmanager
def request_in_flight() -> Iterator[None]:
    """Around one request on the wire (with its retries): a pending interrupt is raised before it is
    sent, and one that arrives meanwhile waits until its answer can have been recorded."""
    state = _STATE
    if state.active and state.pending is not None and threading.current_thread() is threading.main_thread():
        _interrupt(state.pending)
    with state.lock:
        state.in_flight += 1
    try:
        yield
    finally:
        with state.lock:
            state.in_flight -= 1
            state.last_end = time.monotonic()
            idle = state.in_flight == 0
        if state.active and state.pending is not None and idle:
            signal.setitimer(signal.ITIMER_REAL, state.grace)


@contextmanager
def handling(handlers: Mapping[signal.Signals, Handler]) -> Iterator[bool]:
    """Inside: these handlers for these signals, the previous ones restored afterwards. Yields
    whether they were installed: outside the main thread signals are left alone (False)."""
    try:
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    except ValueError:  # not the main thread
        yield False
        return
    try:
        yield True
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def deferring_interrupts(grace: float = GRACE) -> Iterator[None]:
    """Inside: SIGTERM and SIGINT raise ``KeyboardInterrupt`` (so ``finally`` blocks and fixture
    teardowns run and what the run created is cleaned up), deferred as the module explains."""
    if not hasattr(signal, "setitimer"):
        yield
        return
    handlers = {signal.SIGTERM: _on_signal, signal.SIGINT: _on_signal, signal.SIGALRM: _on_alarm}
    with handling(handlers) as installed:
        if installed:
            _STATE.active, _STATE.pending, _STATE.grace = True, None, grace
        try:
            yield
        finally:
            if installed:
                signal.setitimer(signal.ITIMER_REAL, 0)
                _STATE.active, _STATE.pending = False, None
