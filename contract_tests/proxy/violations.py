"""What the proxy found: violations (newest last), per-operation tallies, and upstream faults (counted
per kind, the first of each kind kept with its message).

Everything stored here is already redacted: it is what ``/__proxy/violations``, stderr and the
reports show.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_VIOLATIONS = 10_000
"""Violations kept for ``/__proxy/violations`` (the oldest are dropped beyond; the tallies keep counting)."""
MAX_SAMPLES = 20


@dataclass
class OperationTally:
    exchanges: int = 0
    violations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    """The first violations of this operation, for the reports."""


class Findings:
    """Thread-safe: the ASGI app records, the signal handler's report writer reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges = 0
        self.violation_count = 0
        self.violations: deque[dict[str, Any]] = deque(maxlen=MAX_VIOLATIONS)
        self.operations: dict[str, OperationTally] = {}
        self.upstream_refused = 0
        self.upstream_timeouts = 0
        self.upstream_aborted = 0
        self.fault_samples: dict[str, list[str]] = {}
        self.unchecked_bodies = 0

    def next_exchange(self) -> int:
        with self._lock:
            self.exchanges += 1
            return self.exchanges

    def record(self, operation: str, status: int, violation: dict[str, Any] | None) -> None:
        with self._lock:
            tally = self.operations.setdefault(operation, OperationTally())
            tally.exchanges += 1
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if violation is not None:
                tally.violations += 1
                self.violation_count += 1
                self.violations.append(violation)
                if len(tally.samples) < MAX_SAMPLES:
                    tally.samples.append(violation)

    def upstream_fault(self, kind: str, message: str) -> None:
        """``kind``: "refused" (answered 502), "timeout" (504) or "aborted" (failed mid-answer: the
        client's connection was aborted); ``message`` says which request and what went wrong."""
        with self._lock:
            if kind == "timeout":
                self.upstream_timeouts += 1
            elif kind == "aborted":
                self.upstream_aborted += 1
            else:
                self.upstream_refused += 1
            samples = self.fault_samples.setdefault(kind, [])
            if len(samples) < MAX_SAMPLES:
                samples.append(message)

    def unchecked(self) -> None:
        with self._lock:
            self.unchecked_bodies += 1

    def listing(self, since: int = 0) -> dict[str, Any]:
        with self._lock:
            return {
                "exchanges": self.exchanges,
                "violations": [v for v in self.violations if v["exchange"] > since],
            }

    def clear(self) -> None:
        """Empty the ``/__proxy/violations`` listing (``DELETE``); the exchange count goes on, and the
        reports and the exit code still account for the whole run."""
        with self._lock:
            self.violations.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "exchanges": self.exchanges,
                "violations": self.violation_count,
                "upstreamRefused": self.upstream_refused,
                "upstreamTimeouts": self.upstream_timeouts,
                "upstreamAborted": self.upstream_aborted,
                "upstreamFaults": {kind: list(samples) for kind, samples in sorted(self.fault_samples.items())},
                "uncheckedBodies": self.unchecked_bodies,
                "operations": {
                    name: {
                        "exchanges": t.exchanges,
                        "violations": t.violations,
                        "statuses": dict(sorted(t.statuses.items())),
                        "samples": list(t.samples),
                    }
                    for name, t in sorted(self.operations.items())
                },
            }
