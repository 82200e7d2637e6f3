"""Per-operation and per-check bookkeeping, the end-of-run summary, and replayable failure files."""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CURL_RE = re.compile(r"(curl -X [^\n]+)")


FORMAT_VERSION = 3  # of a failure file; 3: "replay" names the target and the credential variables a replay needs


@dataclass
class Outcome:
    """How often a rule (or an operation) was judged and held, was judged and broke, or was not exercised.

    ``skipped`` counts the cases it did not apply to (a precondition the target lacks, data it does not
    hold, the budget spent): shown as *not exercised*, never counted as passed."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def status(self) -> str:
        if self.failed:
            return "FAIL"
        return "ok" if self.passed else ("NOT EXERCISED" if self.skipped else "-")


@dataclass
class FailureRecord:
    """One violation as saved for ``sales-contract replay`` (see :mod:`contract_tests.cli.replay`).

    ``kind`` is ``check`` (a Schemathesis check judged the last request of ``chain``) or ``test``
    (a scenario test's assertion; ``test`` is its node id). ``scope`` is ``fresh`` when the chain ran
    in a temporary entity of the mock, ``entity`` when it ran on the target's entity, ``scratch`` when
    that entity was the run's scratch entity (:mod:`contract_tests.cli.scratch`: replay makes another).
    ``replay`` is where it happened and what a replay there needs: ``{"target": URL or "mock",
    "credentials": [names of the environment variables]}`` (names only, never a value).
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
    replay: dict[str, Any] | None = None
    file: str | None = None
    """Where it was saved (not part of the file itself)."""

    def as_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, **{k: v for k, v in self.__dict__.items() if k != "file"}}


@dataclass(frozen=True)
class Leftover:
    """A resource the run created and could not remove: ``closed`` ones the API let it archive, cancel or
    decline (they stay, inert), the others it could not even close (an accepted quote, a fulfilled order)."""

    kind: str
    id: str
    why: str
    closed: bool = False

    def line(self) -> str:
        return f"{self.kind} {self.id}: {self.why}"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "why": self.why}


@dataclass
class Recorder:
    """Collects outcomes keyed by operation and by check (rule); one instance per pytest session.

    A rule counts as passed only where it judged something; a rule that did not apply (its test skipped:
    a precondition the target lacks, data it does not hold) counts as *not exercised*, with why."""

    seed: int | None = None
    operations: dict[str, Outcome] = field(default_factory=lambda: defaultdict(Outcome))
    checks: dict[str, Outcome] = field(default_factory=lambda: defaultdict(Outcome))
    failures: list[FailureRecord] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    created: int = 0
    skips: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(rule, why) -> the operations it was not exercised for."""
    notices: dict[str, list[str]] = field(default_factory=dict)
    """Known before the first test: why -> the rules the target cannot serve (the upfront notice)."""
    failures_dir: Path | None = None
    started: float = field(default_factory=time.monotonic)
    deadline: float | None = None
    budget: float | None = None
    over_budget: int = 0
    throttle: str | None = None
    entity_scope: str = "entity"  # "scratch": the target's entity is the run's scratch entity
    credentials: list[str] = field(default_factory=list)
    """The environment variables (names) holding what this run was given: a replay of its failures needs them."""

    def start_budget(self, seconds: float | None) -> None:
        self.started = time.monotonic()
        self.budget = seconds
        self.deadline = None if seconds is None else self.started + seconds

    def enforce_budget(self) -> None:
        """Skip the running test (or Hypothesis example) when the run's budget is spent."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.over_budget += 1
            pytest.skip(f"budget of {self.budget:.0f}s spent")

    def test_passed(self, operations: list[str], check: str) -> None:
        """A scenario test held: one case of its rule, and one for each operation it exercised."""
        for operation in operations:
            self.operations[operation].passed += 1
        self.checks[check].passed += 1

    def skipped(self, operation: str | None, check: str, reason: str) -> None:
        """``check`` (for ``operation``, if any) was not exercised, because of ``reason``."""
        self.not_exercised([operation] if operation else [], check, reason)

    def not_exercised(self, operations: list[str], check: str, reason: str) -> None:
        for operation in operations:
            self.operations[operation].skipped += 1
        self.checks[check].skipped += 1
        listed = self.skips.setdefault((check, reason.strip() or "no reason given"), [])
        listed += [operation for operation in operations if operation not in listed]

    def notice(self, reason: str, rules: list[str]) -> None:
        listed = self.notices.setdefault(reason, [])
        listed += [rule for rule in rules if rule not in listed]

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
        replay = {"target": replay_target_of(target), "credentials": self._needed(scope)}
        record = FailureRecord(
            target, operation, check, message.strip(), self.seed, curl, kind, scope, test, chain, replay
        )
        self.failures.append(record)
        if self.failures_dir is not None:
            record.file = self._save(record)

    def _needed(self, scope: str) -> list[str]:
        """What a replay of a failure in ``scope`` needs: a scratch entity is made anew (only the admin token)."""
        from contract_tests.target import ENV_VARS

        if scope == "scratch":
            return [name for name in self.credentials if name == ENV_VARS["admin_token"]]
        return list(self.credentials)

    def _save(self, record: FailureRecord) -> str:
        assert self.failures_dir is not None
        self.failures_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{len(self.failures):04d}-{record.check}-{record.operation}")[:120]
        path = self.failures_dir / f"{name}.json"
        path.write_text(json.dumps(record.as_json(), indent=2) + "\n")
        return str(path)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def uncleaned(self) -> list[Leftover]:
        """What the run could not even close."""
        return [item for item in self.leftovers if not item.closed]

    @property
    def closed(self) -> list[Leftover]:
        """What the run could only close (archived, canceled, declined): it stays on the target."""
        return [item for item in self.leftovers if item.closed]

    def not_exercised_list(self) -> list[dict[str, Any]]:
        """Every rule that was not exercised somewhere, with why and for which operations; and every check that
        ran without ever having something to judge (it applied to none of its cases)."""
        found = [
            {"rule": rule, "operations": sorted(operations), "reason": reason}
            for (rule, reason), operations in sorted(self.skips.items())
        ]
        named = {item["rule"] for item in found}
        for rule, outcome in sorted(self.checks.items()):
            if outcome.status == "NOT EXERCISED" and rule not in named:
                why = f"it applied to none of the {outcome.skipped} case(s) it saw"
                found.append({"rule": rule, "operations": [], "reason": why})
        return found

    def notice_lines(self) -> list[str]:
        """The upfront notice: which rules this target cannot serve, and why (empty when it serves them all)."""
        if not self.notices:
            return []
        count = len({rule for rules in self.notices.values() for rule in rules})
        lines = [f"NOT EXERCISED on this target ({count} rule(s); reported as such, never as passed):"]
        for reason, rules in self.notices.items():
            lines += [f"  - {reason}:", f"      {', '.join(rules)}"]
        return lines

    def summary_lines(self) -> list[str]:
        lines = [f"Contract summary (seed {self.seed})", "", "per operation:"]
        lines += [_row(name, outcome) for name, outcome in sorted(self.operations.items())]
        lines += ["", "per check (a check counts only the cases it applied to):"]
        lines += [_row(name, outcome) for name, outcome in sorted(self.checks.items())]
        by_reason: dict[str, list[str]] = defaultdict(list)
        for item in self.not_exercised_list():
            by_reason[item["reason"]].append(item["rule"])
        if by_reason:
            count = len({rule for rules in by_reason.values() for rule in rules})
            lines += ["", f"NOT EXERCISED ({count} rule(s) or check(s), none counted as passed):"]
            for reason, rules in by_reason.items():
                lines += [f"  - {reason}:", f"      {', '.join(dict.fromkeys(rules))}"]
        lines += self.leftover_lines()
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
                if record.file:
                    lines.append(f"      replay: {replay_command(record.file, record.replay)}")
        return lines

    def leftover_lines(self) -> list[str]:
        """The cleanup: counts, then every resource left on the target, by kind and id, with why."""
        if not self.created:
            return []
        closed, uncleaned = self.closed, self.uncleaned
        removed = self.created - len(self.leftovers)
        lines = [
            "",
            f"cleanup: {self.created} resource(s) created, {removed} deleted, {len(closed)} closed "
            f"(archived/canceled/declined: the API cannot delete them), {len(uncleaned)} could not be cleaned",
        ]
        lines += [f"  - {item.line()}" for item in uncleaned]
        by_kind: dict[str, list[str]] = defaultdict(list)
        for item in closed:
            by_kind[item.kind].append(item.id)
        for kind, ids in sorted(by_kind.items()):
            text = f"  closed {kind} ({len(ids)}): {', '.join(ids)}"
            lines += textwrap.wrap(text, 118, subsequent_indent="      ", break_on_hyphens=False)
        return lines


def replay_target_of(target: str) -> str:
    """Where a failure found on ``target`` (a URL, or a name of the mock) replays: that URL, else ``mock``."""
    return target if target.startswith(("http://", "https://")) else "mock"


def replay_command(path: str, replay: dict[str, Any] | None) -> str:
    """``sales-contract replay FILE``, as it reproduces the failure: a trailing shell comment names the
    environment variables it reads (never their values)."""
    import shlex

    command = f"sales-contract replay {shlex.quote(path)}"
    needed = list((replay or {}).get("credentials") or [])
    return command + (f"  # needs {', '.join('$' + name for name in needed)}" if needed else "")


def _row(name: str, outcome: Outcome) -> str:
    counts = f"passed {outcome.passed:>4}  failed {outcome.failed:>3}  not exercised {outcome.skipped:>3}"
    return f"  {outcome.status:<13} {name:<48} {counts}"


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
