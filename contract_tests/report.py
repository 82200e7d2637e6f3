"""Per-operation and per-check bookkeeping, the end-of-run summary, and replayable failure files."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CURL_RE = re.compile(r"(curl -X [^\n]+)")


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass
class FailureRecord:
    """One violation as saved for ``sales-contract replay`` (see :mod:`contract_tests.replay`).

    ``kind`` is ``check`` (a Schemathesis check judged the last request of ``chain``) or ``test``
    (a scenario test's assertion; ``test`` is its node id). ``scope`` is ``fresh`` when the chain ran
    in a temporary entity of the mock, ``entity`` when it ran on the target's entity, ``scratch`` when
    that entity was the run's scratch entity (:mod:`contract_tests.scratch`: replay makes another).
    """

    target: str
    operation: str
    check: str
    message: str
    seed: int | None
    curl: str | None
    kind: str = "check"
    scope: str = "entity"
    test: str | None = None
    chain: list[dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        from contract_tests.replay import FORMAT_VERSION

        return {"version": FORMAT_VERSION, **self.__dict__}


@dataclass
class Recorder:
    """Collects outcomes keyed by operation and by check; one instance per pytest session."""

    seed: int | None = None
    operations: dict[str, Outcome] = field(default_factory=lambda: defaultdict(Outcome))
    checks: dict[str, Outcome] = field(default_factory=lambda: defaultdict(Outcome))
    failures: list[FailureRecord] = field(default_factory=list)
    uncleaned: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    created: int = 0
    skips: list[str] = field(default_factory=list)
    failures_dir: Path | None = None
    started: float = field(default_factory=time.monotonic)
    deadline: float | None = None
    budget: float | None = None
    over_budget: int = 0
    throttle: str | None = None
    entity_scope: str = "entity"  # "scratch": the target's entity is the run's scratch entity

    def start_budget(self, seconds: float | None) -> None:
        self.started = time.monotonic()
        self.budget = seconds
        self.deadline = None if seconds is None else self.started + seconds

    def enforce_budget(self) -> None:
        """Skip the running test (or Hypothesis example) when the run's budget is spent."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.over_budget += 1
            pytest.skip(f"budget of {self.budget:.0f}s spent")

    def passed(self, operation: str, check: str) -> None:
        self.operations[operation].passed += 1
        self.checks[check].passed += 1

    def skipped(self, operation: str, check: str, reason: str) -> None:
        self.operations[operation].skipped += 1
        self.checks[check].skipped += 1
        self.skips.append(f"{check} [{operation}]: {reason}")

    def failed(
        self,
        target: str,
        operation: str,
        check: str,
        message: str,
        *,
        chain: list[dict[str, Any]] | None = None,
        kind: str = "check",
        scope: str = "entity",
        test: str | None = None,
        operations: list[str] | None = None,
    ) -> None:
        """Count a violation; the first of each (target, operation, check) is kept, the repeats of shrinking are not.

        A scenario test spanning several ``operations`` is one violation, counted against each of them."""
        if any((f.target, f.operation, f.check) == (target, operation, check) for f in self.failures):
            return
        for name in operations or [operation]:
            self.operations[name].failed += 1
        self.checks[check].failed += 1
        found = CURL_RE.search(message)
        curl = found.group(1) if found else None
        scope = self.entity_scope if scope == "entity" else scope
        record = FailureRecord(target, operation, check, message.strip(), self.seed, curl, kind, scope, test, chain)
        self.failures.append(record)
        if self.failures_dir is not None:
            self._save(record)

    def _save(self, record: FailureRecord) -> None:
        assert self.failures_dir is not None
        self.failures_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{len(self.failures):04d}-{record.check}-{record.operation}")[:120]
        (self.failures_dir / f"{name}.json").write_text(json.dumps(record.as_json(), indent=2) + "\n")

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary_lines(self) -> list[str]:
        lines = [f"Contract summary (seed {self.seed})", "", "per operation:"]
        lines += [_row(name, outcome) for name, outcome in sorted(self.operations.items())]
        lines += ["", "per check:"]
        lines += [_row(name, outcome) for name, outcome in sorted(self.checks.items())]
        if self.skips:
            lines += ["", "skipped:"] + [f"  - {reason}" for reason in sorted(set(self.skips))]
        if self.created:
            removed = self.created - len(self.closed) - len(self.uncleaned)
            lines += [
                "",
                f"cleanup: {self.created} resource(s) created, {removed} deleted, {len(self.closed)} closed "
                f"(archived/canceled/declined: the API cannot delete them), {len(self.uncleaned)} could not be cleaned",
            ]
            lines += [f"  - {item}" for item in self.uncleaned]
        if self.throttle:
            lines += ["", self.throttle]
        elapsed = time.monotonic() - self.started
        budget = f" of a {self.budget:.0f}s budget" if self.budget else ""
        lines += ["", f"run time: {elapsed:.0f}s{budget}"]
        if self.over_budget:
            lines.append(f"budget spent: {self.over_budget} test(s)/example(s) not run")
        if self.failures:
            lines += ["", f"{len(self.failures)} violation(s):"]
            for record in self.failures[:30]:
                lines.append(f"  - [{record.target}] {record.operation} / {record.check}")
                if record.curl:
                    lines.append(f"      {record.curl}")
        return lines


def _row(name: str, outcome: Outcome) -> str:
    status = "FAIL" if outcome.failed else ("skip" if outcome.skipped and not outcome.passed else "ok")
    return (
        f"  {status:<4} {name:<48} passed {outcome.passed:>4}  failed {outcome.failed:>3}  skipped {outcome.skipped:>3}"
    )


RECORDER_KEY = pytest.StashKey[Recorder]()


def get_recorder(config: pytest.Config) -> Recorder:
    if RECORDER_KEY not in config.stash:
        config.stash[RECORDER_KEY] = Recorder()
    return config.stash[RECORDER_KEY]


def failure_checks(exc: BaseException) -> list[tuple[str, str]]:
    """``(check name, message)`` for each failure in a Schemathesis failure (group), else one generic entry."""
    from schemathesis.core.failures import Failure

    items: list[BaseException] = list(exc.exceptions) if isinstance(exc, BaseExceptionGroup) else [exc]
    found = []
    for item in items:
        if isinstance(item, Failure):
            names = type(item).checks or (item.title.removeprefix("Custom check failed: ").strip("`"),)
            found.append((names[0], str(item)))
        else:
            found.append((type(item).__name__, str(item)))
    return found
