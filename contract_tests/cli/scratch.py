"""Scratch entities: ``check``, ``fuzz`` and ``replay`` against a mock over HTTP work in entities of their own.

A run that writes leaves in its entity what the API cannot delete (archived plans, canceled
subscriptions, accepted quotes); run after run, the demo entity of a long-running ``sales-mock
serve`` would fill up. So when the target is a URL, no entity was given (``--entity-id`` or
``$SALES_API_ENTITY_ID``) and the target's ``/__admin`` answers (with ``--admin-token`` when the
mock has one), the run creates its entities there (``POST /__admin/entities``, the demo fixtures,
the suite's frozen clock): one to test in and, for ``check`` and ``fuzz``, a second one for the
cross-entity checks. It deletes them when it ends, however it ends: the deletion runs in a
``finally`` (a violation, Ctrl-C and SIGTERM included) that a second SIGTERM does not interrupt.

The mock in this process needs none: it lives and dies with the run, and its demo entity is the one
``sales-mock serve`` has too, so the curl lines of its failures work against ``./dev serve``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import httpx

from contract_tests.cleanup import ENTITIES, Janitor
from contract_tests.cli_common import Resolved
from contract_tests.client import SalesApi, make_http_client
from contract_tests.target import ENV_VARS, MOCK_CLOCK, Target, UsageError


@dataclass(frozen=True)
class Entity:
    id: str
    key: str
    readonly_key: str


@dataclass(frozen=True)
class Scratch:
    """The entities a run made: ``main`` to test in, ``other`` for the cross-entity checks (None for replay)."""

    main: Entity
    other: Entity | None

    def applied(self, resolved: Resolved) -> Resolved:
        """The run's options with the scratch entity and its key in place of the missing ones."""
        return replace(resolved, api_key=self.main.key, entity_id=self.main.id)

    def environment(self) -> dict[str, str]:
        """The other credentials, as the suite reads them: the read-only key, the second entity and its key."""
        found = {ENV_VARS["readonly_key"]: self.main.readonly_key}
        if self.other is not None:
            found |= {ENV_VARS["other_entity_id"]: self.other.id, ENV_VARS["other_key"]: self.other.key}
        return found

    def describe(self) -> str:
        """``scratch entity X (and Y for the cross-entity checks), deleted at the end``."""
        other = f" (and {self.other.id} for the cross-entity checks)" if self.other else ""
        return f"scratch entity {self.main.id}{other}, deleted at the end"


def adopt(made: Scratch | None, resolved: Resolved, args: argparse.Namespace) -> Resolved:
    """The run's options in scratch entities ``made`` (if any): their credentials in place of the missing
    ones, and writes unless ``--read-only`` was given (the entity is ours)."""
    if made is None:
        return resolved
    if args.allow_writes is None:
        args.allow_writes = True
    return made.applied(resolved)


def wanted(resolved: Resolved) -> bool:
    """A URL target without an entity: the run needs one, and a mock can make it."""
    return not resolved.is_mock and not resolved.entity_id


@contextmanager
def entities(
    resolved: Resolved, command: str, *, other: bool = True, say: Callable[[str], None] = print
) -> Iterator[Scratch | None]:
    """Inside: the scratch entities of ``command`` (None when the run has an entity or the target is the mock
    in this process); they are deleted on the way out, and ``say`` reports it. A URL target without an entity
    whose ``/__admin`` cannot make one is a :class:`UsageError` saying what to pass."""
    if not wanted(resolved):
        yield None
        return
    admin = Target(
        name=resolved.target,
        base_url=resolved.target,
        api_key="",
        entity_id="",
        admin_token=resolved.admin_token,
        timeout=resolved.timeout,
    )
    with make_http_client(admin) as http:
        _check_admin(http, resolved)
        janitor = Janitor(SalesApi(admin, http))
        try:
            main = _create(http, janitor, f"sales-contract {command}")
            second = _create(http, janitor, f"sales-contract {command} (other entity)") if other else None
            yield Scratch(main, second)
        finally:
            made = [resource_id for kind, resource_id in janitor.created if kind == ENTITIES]
            problems = janitor.clean()
            if problems:
                say(f"sales-contract {command}: could not delete the scratch entities: {'; '.join(problems)}")
            elif made:
                say(f"sales-contract {command}: deleted the scratch {_entities(made)}")


@contextmanager
def exported(scratch: Scratch | None) -> Iterator[None]:
    """Inside: the scratch entities' other credentials in the environment, where the suite reads them."""
    values = scratch.environment() if scratch is not None else {}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_admin(http: httpx.Client, resolved: Resolved) -> None:
    """The target's ``/__admin`` answers: else a usage error naming what the run needs instead."""
    try:
        status = http.get("/__admin/health").status_code
    except httpx.HTTPError as exc:
        raise UsageError(f"the target {resolved.target} is unreachable: {type(exc).__name__} {exc}") from exc
    instead = (
        f"or name an entity with --api-key and --entity-id (or ${ENV_VARS['api_key']} and ${ENV_VARS['entity_id']})"
    )
    if status in (401, 403) and resolved.admin_token:
        raise UsageError(f"the target's /__admin refused the admin token ({status}), so no scratch entity; {instead}")
    if status in (401, 403):
        raise UsageError(
            f"no entity was given and the target's /__admin needs a token to make a scratch entity ({status}): "
            f"pass the mock's --admin-token, {instead}"
        )
    if status != 200:
        raise UsageError(
            f"a URL target needs an entity: name one with --api-key and --entity-id (or ${ENV_VARS['api_key']} "
            f"and ${ENV_VARS['entity_id']}); a mock makes a scratch entity itself, but this target's /__admin "
            f"answered {status}"
        )


def _create(http: httpx.Client, janitor: Janitor, name: str) -> Entity:
    response = http.post("/__admin/entities", json={"name": name, "fixtures": "demo", "clock": MOCK_CLOCK})
    if response.status_code != 201:
        raise UsageError(f"the target's /__admin did not make a scratch entity ({response.status_code})")
    body = response.json()
    janitor.remember(ENTITIES, str(body["entityId"]))  # before anything else: deleted however the run ends
    return Entity(str(body["entityId"]), str(body["apiKeys"]["readWrite"]), str(body["apiKeys"]["readOnly"]))


def _entities(ids: list[str]) -> str:
    return ("entities " if len(ids) > 1 else "entity ") + ", ".join(ids)
