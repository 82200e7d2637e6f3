"""What a rule needs of its target, and the notice, before the first test, of what a run will not exercise.

A contract test names what it needs with ``@pytest.mark.sales_needs("writes", "admin", ...)`` (a test that
uses the ``writable`` fixture needs writes too). Once the tests are collected, the suite works out which
rules the target cannot serve and why (:func:`notice`), prints that and keeps it for the JUnit file and the
HTML report; each such test is then skipped with the same reason (:func:`missing`) and reported as NOT
EXERCISED, never as passed. What depends on the target's data (a second entity without quotes, no customer
in a currency) is only known when the test runs: it skips with its reason, and is reported the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx
import pytest

from contract_tests.target import ENV_VARS, Target

WRITES = "writes"
READONLY_KEY = "readonly_key"
SECOND_ENTITY = "second_entity"
ADMIN = "admin"

REASONS = {
    WRITES: "read-only run: pass --allow-writes to run the write scenarios",
    READONLY_KEY: f"no read-only key: pass --readonly-key (or ${ENV_VARS['readonly_key']})",
    SECOND_ENTITY: (
        f"no second entity: pass --other-entity-id and --other-key (or ${ENV_VARS['other_entity_id']} and "
        f"${ENV_VARS['other_key']})"
    ),
    ADMIN: (
        "no admin API (/__admin) on the target, so its clock cannot be driven: quote expiry, trial ends, "
        "overdue invoices, dunning and grace-period expiry, cancellation at period end and the worked "
        "proration examples are not exercised"
    ),
}
ADMIN_TOKEN_REASON = f"the target's /__admin needs a token: pass --admin-token (or ${ENV_VARS['admin_token']})"


@dataclass(frozen=True)
class Capabilities:
    """What one target offers the suite. ``admin`` is the status of ``GET /__admin/health`` (None: no answer)."""

    writes: bool
    readonly_key: bool
    second_entity: bool
    admin: int | None

    def missing(self, need: str) -> str | None:
        """Why a rule that needs ``need`` cannot run on this target (None: it can)."""
        if need == ADMIN:
            return admin_reason(self.admin)
        have = {WRITES: self.writes, READONLY_KEY: self.readonly_key, SECOND_ENTITY: self.second_entity}
        if need not in have:
            raise ValueError(f"unknown need {need!r}: one of {', '.join(REASONS)}")
        return None if have[need] else REASONS[need]


def admin_reason(status: int | None) -> str | None:
    """Why the clock rules cannot run, from the status of ``GET /__admin/health`` (None: they can)."""
    if status == 401:
        return ADMIN_TOKEN_REASON
    return None if status == 200 else REASONS[ADMIN]


def capabilities(target: Target) -> Capabilities:
    """What ``target`` offers; a URL target's admin API is probed once (the mock's own targets have it)."""
    return Capabilities(
        writes=target.allow_writes,
        readonly_key=bool(target.readonly_key),
        second_entity=bool(target.other_entity_id and target.other_key),
        admin=200 if target.mock else admin_status(target),
    )


def admin_status(target: Target) -> int | None:
    """The status of ``GET /__admin/health`` on a URL target, with its admin token (None: no answer)."""
    headers = {"X-Admin-Token": target.admin_token} if target.admin_token else {}
    try:
        answer = httpx.get(f"{target.origin}/__admin/health", headers=headers, timeout=min(target.timeout, 10.0))
    except httpx.HTTPError:
        return None
    return answer.status_code


def needs_of(item: pytest.Item) -> list[str]:
    """What ``item`` needs: its ``sales_needs`` marks, and writes when it uses the ``writable`` fixture."""
    found = [str(need) for mark in item.iter_markers("sales_needs") for need in mark.args]
    if "writable" in getattr(item, "fixturenames", ()):
        found.append(WRITES)
    return list(dict.fromkeys(found))


def missing(needs: Iterable[str], offered: Capabilities) -> str | None:
    """The first reason ``offered`` cannot serve ``needs`` (None: it serves them all)."""
    return next((reason for need in needs if (reason := offered.missing(need))), None)


def rule_of(item: pytest.Item) -> str:
    """A rule's name as the summary shows it: the test function (its parameters are cases of one rule)."""
    return str(getattr(item, "originalname", item.name))


def notice(items: Iterable[pytest.Item], offered: Mapping[str, Capabilities]) -> dict[str, list[str]]:
    """Why -> the rules that will not be exercised, for the collected ``items`` on the targets ``offered``
    (by target name; an item's target is its ``sales_target_name`` parameter)."""
    found: dict[str, list[str]] = {}
    for item in items:
        needs = needs_of(item)
        callspec = getattr(item, "callspec", None)
        name = str(callspec.params.get("sales_target_name")) if callspec else ""
        if not needs or name not in offered:
            continue
        reason = missing(needs, offered[name])
        if reason:
            rules = found.setdefault(reason, [])
            if rule_of(item) not in rules:
                rules.append(rule_of(item))
    return found
