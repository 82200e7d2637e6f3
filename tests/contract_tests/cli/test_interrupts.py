"""A signal during a run never lands between a request and the record of what it created."""

from __future__ import annotations

import os
import signal
import time

import pytest

from contract_tests.interrupts import deferring_interrupts, request_in_flight

GRACE = 0.3


def _wait_for_interrupt(seconds: float) -> float:
    """Sleep in small steps until a KeyboardInterrupt arrives; how long it took (inf if none)."""
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            time.sleep(0.01)
    except KeyboardInterrupt:
        return time.monotonic() - started
    return float("inf")


def test_with_no_request_recently_the_signal_interrupts_at_once() -> None:
    with deferring_interrupts(GRACE), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


def test_a_signal_during_a_request_waits_until_its_answer_can_be_recorded() -> None:
    recorded: list[str] = []
    with deferring_interrupts(GRACE):
        with request_in_flight():
            os.kill(os.getpid(), signal.SIGTERM)  # the POST is on the wire: no interrupt now
            time.sleep(0.05)
        recorded.append("created-id")  # the caller records the answer right after it
        waited = _wait_for_interrupt(3)
    assert recorded == ["created-id"]
    assert GRACE * 0.5 <= waited < 3  # then the interrupt came, about GRACE after the request ended


def test_a_pending_signal_is_raised_before_the_next_request_is_sent() -> None:
    sent: list[int] = []
    with deferring_interrupts(5.0):
        with request_in_flight():
            os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            with request_in_flight():
                sent.append(1)
    assert sent == []


def test_a_second_signal_is_not_deferred() -> None:
    with deferring_interrupts(5.0), request_in_flight():
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)


def test_handlers_are_restored_afterwards() -> None:
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)
    before = [signal.getsignal(sig) for sig in signals]
    with deferring_interrupts(GRACE):
        pass
    assert [signal.getsignal(sig) for sig in signals] == before
