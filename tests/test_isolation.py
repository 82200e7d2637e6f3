"""Property: random operations by two entities never let one see or change the other's data."""

from __future__ import annotations

from typing import Any

import orjson
from conftest import ACME, DEMO, FROZEN, OTHER, OTHER_RW, RW, Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.store import EntityState

ACTORS = {DEMO: RW, OTHER: OTHER_RW}
CUSTOMERS = {DEMO: ACME, OTHER: "7f0e2d4c-6b8a-4c1e-9d3f-5a7b9c1d3e5f"}
KINDS = ("quotes", "orders", "plans")

actor = st.sampled_from([DEMO, OTHER])
operation = st.one_of(
    st.tuples(st.just("create"), actor, st.sampled_from(KINDS), actor),
    st.tuples(st.just("get"), actor, st.sampled_from(KINDS), st.integers(0, 30)),
    st.tuples(st.just("patch"), actor, st.sampled_from(KINDS), st.integers(0, 30)),
    st.tuples(st.just("delete"), actor, st.sampled_from(KINDS), st.integers(0, 30)),
    st.tuples(st.just("list"), actor, st.sampled_from(KINDS), st.none()),
)


def _fingerprint(entity: EntityState) -> bytes:
    kinds = ("customers", "quotes", "orders", "plans")
    return orjson.dumps([*(dict(entity.scan_items(kind)) for kind in kinds), entity.counters])


def _create(api: Api, who: str, kind: str, customer_of: str, serial: int) -> Any:
    key, customer = ACTORS[who], CUSTOMERS[customer_of]
    line = [{"description": "x", "quantity": 1, "unitPrice": 100}]
    if kind == "quotes":
        return api.post("/quotes", {"customerId": customer, "lines": line}, key=key, entity=who)
    if kind == "orders":
        return api.post(
            "/orders", {"customerId": customer, "lines": line, "orderDate": "2025-03-01"}, key=key, entity=who
        )
    body = {"code": f"p{serial}", "name": "P", "currency": "EUR", "amount": 1, "interval": "month"}
    return api.post("/plans", body, key=key, entity=who)


def _act(api: Api, step: tuple[Any, ...], owned: dict[str, list[tuple[str, str]]], serial: int) -> None:
    verb, who, kind, arg = step
    key = ACTORS[who]
    if verb == "create":
        response = _create(api, who, kind, arg, serial)
        if kind != "plans" and arg != who:
            assert response.status_code == 422  # another entity's customer is unusable
        elif response.status_code == 201:
            owned[kind].append((who, response.json()["id"]))
        return
    if verb == "list":
        data = api.ok(api.get(f"/{kind}", key=key, entity=who))["data"]
        seen = {item["id"] for item in data}
        theirs = {i for owner, i in owned[kind] if owner != who}
        assert not seen & theirs and seen <= set(api.runtime.store.entities[who].ids(kind))
        return
    if not owned[kind]:
        return
    owner, target = owned[kind][arg % len(owned[kind])]
    path = f"/{kind}/{target}"
    if verb == "get" and kind != "plans":
        response = api.get(path, key=key, entity=who)
    elif verb == "patch":
        response = api.patch(path, {"name": "Z"} if kind == "plans" else {"notes": "Z"}, key=key, entity=who)
    elif kind != "plans":
        response = api.delete(path, key=key, entity=who)
        if owner == who and response.status_code == 204:
            owned[kind].remove((owner, target))
    else:
        return
    if owner != who:
        assert response.status_code == 404, (step, response.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=25))
def test_entities_are_isolated(steps: list[tuple[Any, ...]]) -> None:
    api = Api(create_app(MockConfig(fixtures="demo", clock=FROZEN, validate_responses=True)))
    try:
        store = api.runtime.store
        owned: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
        for serial, step in enumerate(steps):
            bystander = store.entities[OTHER if step[1] == DEMO else DEMO]
            before = _fingerprint(bystander)
            _act(api, step, owned, serial)
            assert _fingerprint(bystander) == before, step
        assert not api.runtime.response_mismatches
    finally:
        api.close()
