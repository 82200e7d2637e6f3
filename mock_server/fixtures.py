"""Seed data: load fixture files (``fixtures/<name>.yaml`` or a path) into a store, and seed new entities.

A fixture file is ``{"entities": [entity, ...]}``; an entity has ``id``, ``name``, ``baseCurrency``,
optional ``clock`` (an instant: frozen there; absent: the server's ``--clock``), ``apiKeys``
(``[{key, scopes}]``), ``sessions`` (``[{token, scopes}]``) and the sections ``customers``,
``plans``, ``quotes``, ``orders``, ``subscriptions``. Quotes and orders are created through the
services (so numbers and totals are right), then moved to their fixture ``status``. Any string
``today``, ``today-N`` or ``today+N`` is a date relative to the entity's clock. The
``subscriptions`` section is handed to ``services.billing_fixtures.seed_subscriptions(entity, items, now)``.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from mock_server import resources
from mock_server.clock import EntityClock
from mock_server.domain.errors import DomainError
from mock_server.services import customers, orders, plans, quotes
from mock_server.store import READ_SCOPE, WRITE_SCOPE, EntityState, Store

_RELATIVE = re.compile(r"^today(?:([+-])(\d{1,5}))?$")
_SECTIONS = ("customers", "plans", "quotes", "orders", "subscriptions")


class FixtureError(Exception):
    """A fixture cannot be loaded; the message is one line naming the file and the problem."""


def fixture_path(name_or_path: str) -> Path:
    """The packaged fixture file for a bare name (``demo``: ``fixtures/demo.yaml``), else the path itself.

    FixtureError for a bare name that is not a packaged fixture."""
    if resources.is_fixture_name(name_or_path):
        try:
            return resources.fixture_path(name_or_path)
        except resources.ResourceError as error:
            raise FixtureError(str(error)) from None
    return Path(name_or_path)


def read_fixture(name_or_path: str) -> dict[str, Any]:
    """The parsed fixture document; FixtureError if unreadable or not a fixture."""
    path = fixture_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise FixtureError(f"cannot read fixture file {path}: {reason}") from None
    try:
        document: Any = json.loads(text) if path.suffix == ".json" else _yaml(text)
    except ValueError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FixtureError(f"fixture file {path} is not valid YAML/JSON: {first}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entities", []), list):
        raise FixtureError(f"fixture file {path}: expected a mapping with an 'entities' list")
    try:
        plain: dict[str, Any] = _plain(document)
    except ValueError as error:
        raise FixtureError(f"fixture file {path}: {error}") from None
    return plain


def _yaml(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as error:
        raise ValueError(" ".join(str(error).split())) from None


def _plain(node: Any) -> Any:
    """YAML dates become ISO strings; NaN and infinities are refused; everything else unchanged."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, datetime):
        return node.isoformat().replace("+00:00", "Z")
    if isinstance(node, date):
        return node.isoformat()
    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"{node} is not a number a resource can hold (JSON has no NaN or infinity)")
    return node


def load_fixtures(store: Store, name_or_path: str, clock_mode: str = "now") -> None:
    """Load every entity of a fixture file into ``store`` (keeping the file's ids and keys)."""
    document = read_fixture(name_or_path)
    where = str(fixture_path(name_or_path))
    for index, raw in enumerate(document.get("entities", [])):
        label = f"{where}: entities[{index}]"
        try:
            _load_entity(store, raw, clock_mode, label)
        except FixtureError:
            raise
        except (DomainError, KeyError, TypeError, ValueError, AttributeError) as error:
            raise FixtureError(f"{label}: {_describe(error)}") from None


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    text = str(error) or type(error).__name__
    details = getattr(error, "details", None)
    if details:
        text += " (" + "; ".join(f"{d.path}: {d.message}" for d in details) + ")"
    return " ".join(text.split())


def _entity_clock(raw: dict[str, Any], clock_mode: str) -> EntityClock:
    mode = raw.get("clock")
    return EntityClock.from_mode(str(mode) if mode else clock_mode)


def _load_entity(store: Store, raw: dict[str, Any], clock_mode: str, label: str) -> None:
    if not isinstance(raw, dict):
        raise FixtureError(f"{label}: an entity must be a mapping")
    entity = EntityState(
        id=str(uuid.UUID(str(raw["id"]))),
        name=str(raw["name"]),
        base_currency=str(raw["baseCurrency"]),
        clock=_entity_clock(raw, clock_mode),
    )
    if entity.id in store.entities:
        raise FixtureError(f"{label}: duplicate entity id {entity.id}")
    store.add_entity(entity)
    for key in raw.get("apiKeys", []):
        store.add_api_key(str(key["key"]), entity.id, set(key["scopes"]))
    for session in raw.get("sessions", []):
        store.add_session(str(session["token"]), entity.id, set(session["scopes"]))
    populate(entity, raw, label)


def populate(entity: EntityState, raw: dict[str, Any], label: str) -> None:
    """Create the sections of a fixture entity (customers, plans, quotes, orders, subscriptions) in ``entity``."""
    now = entity.clock.now()
    loaders: dict[str, Callable[[EntityState, dict[str, Any], datetime], None]] = {
        "customers": _load_customer,
        "plans": _load_plan,
        "quotes": _load_quote,
        "orders": _load_order,
    }
    for section in _SECTIONS:
        items = raw.get(section) or []
        if not isinstance(items, list):
            raise FixtureError(f"{label}: {section} must be a list")
        if section == "subscriptions":
            _load_subscriptions(entity, [_relative_dates(item, now.date()) for item in items], now, label)
            continue
        for index, item in enumerate(items):
            try:
                loaders[section](entity, _relative_dates(item, now.date()), now)
                entity.settle()  # pack as it goes (``mock_server.packed``)
            except (DomainError, KeyError, TypeError, ValueError, AttributeError) as error:
                raise FixtureError(f"{label}.{section}[{index}]: {_describe(error)}") from None


def _relative_dates(node: Any, today: date) -> Any:
    if isinstance(node, dict):
        return {k: _relative_dates(v, today) for k, v in node.items()}
    if isinstance(node, list):
        return [_relative_dates(v, today) for v in node]
    if isinstance(node, str):
        found = _RELATIVE.match(node)
        if found:
            sign, days = found.group(1), int(found.group(2) or 0)
            return (today + timedelta(days=-days if sign == "-" else days)).isoformat()
    return node


def _load_customer(entity: EntityState, item: dict[str, Any], now: datetime) -> None:
    customers.create_customer(entity, item, now, customer_id=item.get("id"))


def _load_plan(entity: EntityState, item: dict[str, Any], now: datetime) -> None:
    plans.create_plan(entity, item, now, plan_id=item.get("id"))


_QUOTE_PATHS = {
    "draft": (),
    "sent": ("sent",),
    "accepted": ("sent", "accepted"),
    "declined": ("sent", "declined"),
    "expired": ("sent",),
}


def _load_quote(entity: EntityState, item: dict[str, Any], now: datetime) -> None:
    body = {k: v for k, v in item.items() if k not in ("id", "status")}
    status = item.get("status", "draft")
    if status not in _QUOTE_PATHS:
        raise ValueError(f"a fixture quote's status must be one of {', '.join(_QUOTE_PATHS)} (converted: via an order)")
    quote = quotes.create_quote(entity, body, now, quote_id=item.get("id"))
    for step in _QUOTE_PATHS[status]:
        entity.set_status("quotes", quote["id"], step)  # direct: an expired quote is sent in the past
    quotes.expire_quotes(entity, now)


def _load_order(entity: EntityState, item: dict[str, Any], now: datetime) -> None:
    body = {k: v for k, v in item.items() if k not in ("id", "status")}
    status = item.get("status", "draft")
    order = orders.create_order(entity, body, now, order_id=item.get("id"))
    path = {"draft": [], "confirmed": ["confirmed"], "fulfilled": ["confirmed", "fulfilled"], "canceled": ["canceled"]}
    if status not in path:
        raise ValueError(f"a fixture order's status must be one of {', '.join(path)}")
    for step in path[status]:
        orders.patch_order(entity, order["id"], {"status": step}, now)


def _load_subscriptions(entity: EntityState, items: list[dict[str, Any]], now: datetime, label: str) -> None:
    """Subscriptions are seeded together, their histories interleaved in time order (see
    ``services.billing_fixtures``), so creation order and invoice numbers follow the dates."""
    from mock_server.services.billing_fixtures import seed_subscriptions

    try:
        seed_subscriptions(entity, items, now)
    except (DomainError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise FixtureError(f"{label}.subscriptions{_describe(error)}") from None


def seed_entity(
    store: Store,
    name: str,
    base_currency: str,
    fixtures: str = "empty",
    clock: EntityClock | str | None = None,
) -> tuple[EntityState, dict[str, str]]:
    """A new isolated entity (fresh uuid) with generated keys ``{"readWrite", "readOnly"}``.

    ``fixtures`` ``"empty"``: nothing; ``"demo"`` (or another fixture name/path): the data of the
    file's first entity, with fresh ids. ``clock``: an ``EntityClock``, a mode (``"now"`` or an
    instant), or None for real time. FixtureError if the fixture cannot be loaded.
    """
    template = _template(fixtures)
    entity_clock = clock if isinstance(clock, EntityClock) else EntityClock.from_mode(clock)
    entity = EntityState(id=str(uuid.uuid4()), name=name, base_currency=base_currency, clock=entity_clock)
    if template:
        try:
            populate(entity, _fresh_ids(template), f"fixtures {fixtures}")
        except (DomainError, KeyError, TypeError, ValueError) as error:
            raise FixtureError(f"fixtures {fixtures}: {_describe(error)}") from None
    store.add_entity(entity)
    keys = {"readWrite": f"ak_{secrets.token_urlsafe(24)}", "readOnly": f"ak_{secrets.token_urlsafe(24)}"}
    store.add_api_key(keys["readWrite"], entity.id, {READ_SCOPE, WRITE_SCOPE})
    store.add_api_key(keys["readOnly"], entity.id, {READ_SCOPE})
    return entity, keys


def _template(fixtures: str) -> dict[str, Any] | None:
    if fixtures == "empty":
        return None
    entities = read_fixture(fixtures).get("entities") or []
    if not entities:
        return None
    first: dict[str, Any] = entities[0]
    return {section: first.get(section) or [] for section in _SECTIONS}


def _fresh_ids(template: dict[str, Any]) -> dict[str, Any]:
    """The template with every resource id (and every reference to it) replaced by a fresh uuid."""
    mapping: dict[str, str] = {}
    for section in _SECTIONS:
        for item in template[section]:
            if isinstance(item, dict) and "id" in item:
                mapping[str(item["id"])] = str(uuid.uuid4())

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return mapping.get(node, node) if isinstance(node, str) else node

    swapped: dict[str, Any] = swap(template)
    return swapped
