"""Admin handlers for one entity: create/delete, API keys, customers, clock, invoices."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_server.admin import inputs
from mock_server.clock import EntityClock
from mock_server.control import ControlPlane
from mock_server.domain.errors import InvalidInput, NotFound
from mock_server.domain.periods import format_instant
from mock_server.fixtures import seed_entity
from mock_server.runtime import Runtime
from mock_server.services import customers
from mock_server.services import subscriptions as billing
from mock_server.services.timeline import apply_due_events
from mock_server.store import SCOPES, EntityState

ENTITY_FIELDS = {"name", "baseCurrency", "fixtures", "clock"}
CUSTOMER_FIELDS = {"name", "currency", "email", "country", "taxRateBps"}


def new_key() -> str:
    """A fresh random API key, ``ak_`` and 32 URL-safe characters."""
    return "ak_" + secrets.token_urlsafe(24)


def entity_of(runtime: Runtime, request: Request) -> EntityState:
    """The entity named by the ``entityId`` path parameter, with its due time events applied; 404 if none."""
    entity_id = request.path_params["entityId"]
    entity = runtime.store.get_entity(entity_id)
    if entity is None:
        raise NotFound(f"no entity {entity_id}")
    apply_due_events(entity, entity.clock.now())
    return entity


async def create_entity(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities``: a new isolated entity with ``demo`` or ``empty`` fixtures and two fresh keys."""
    body = inputs.obj(await inputs.json_body(request, optional=True), ENTITY_FIELDS)
    name = inputs.text(body, "name", default="Test entity") or "Test entity"
    currency = inputs.currency(body, "baseCurrency") or "USD"
    fixtures = body.get("fixtures", "empty")
    if fixtures not in ("demo", "empty"):
        raise InvalidInput("invalid request: fixtures: must be 'demo' or 'empty'")
    instant = inputs.instant(body, "clock")
    clock = EntityClock(frozen_at=instant.replace(microsecond=0)) if instant else runtime.config.clock
    entity, keys = seed_entity(runtime.store, name, currency, fixtures, clock)
    answer = {"entityId": entity.id, "apiKeys": keys, "now": format_instant(entity.clock.now())}
    return JSONResponse(answer, status_code=201)


async def list_entities(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /entities``: every entity's id, name, base currency and clock, in creation order."""
    data = [
        {"entityId": e.id, "name": e.name, "baseCurrency": e.base_currency, **e.clock.to_json()}
        for e in runtime.store.entities.values()
    ]
    return JSONResponse({"data": data})


async def delete_entity(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``DELETE /entities/{entityId}``: the entity, its keys, sessions and idempotency keys are gone."""
    entity_id = request.path_params["entityId"]
    if runtime.store.remove_entity(entity_id) is None:
        raise NotFound(f"no entity {entity_id}")
    plane.idempotency.forget_entity(entity_id)
    plane.stubs.forget_entity(entity_id)
    return Response(status_code=204)


async def add_api_key(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities/{entityId}/api-keys``: a new key with the given scopes."""
    entity = entity_of(runtime, request)
    body = inputs.obj(await inputs.json_body(request), {"scopes"}, ("scopes",))
    scopes = body["scopes"]
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s in SCOPES for s in scopes):
        raise InvalidInput(f"invalid request: scopes: must be a non-empty array of {sorted(SCOPES)}")
    key = new_key()
    runtime.store.add_api_key(key, entity.id, set(scopes))
    return JSONResponse({"key": key, "scopes": sorted(set(scopes))}, status_code=201)


async def add_customer(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities/{entityId}/customers``: a new customer (the Sales API cannot create them), made by
    the same service and rules as fixture customers."""
    entity = entity_of(runtime, request)
    body = inputs.obj(await inputs.json_body(request), CUSTOMER_FIELDS, ("name", "currency"))
    return JSONResponse(customers.create_customer(entity, body, entity.clock.now()), status_code=201)


async def get_clock(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /entities/{entityId}/clock``: ``{"now", "frozen"}``."""
    return JSONResponse(entity_of(runtime, request).clock.to_json())


async def advance_clock(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities/{entityId}/clock/advance``: by ``days``/``months`` or ``to`` an instant; never back."""
    entity = entity_of(runtime, request)
    body = inputs.obj(await inputs.json_body(request), {"days", "months", "to"})
    target = inputs.instant(body, "to")
    days = inputs.integer(body, "days", 0, 36600)
    months = inputs.integer(body, "months", 0, 1200)
    if target is not None and (days is not None or months is not None):
        raise InvalidInput("invalid request: give either 'to' or 'days'/'months', not both")
    if target is None and days is None and months is None:
        raise InvalidInput("invalid request: give 'days', 'months' or 'to'")
    if target is not None:
        entity.clock.advance_to(target)
    else:  # past the clock's range: a 400 naming days or months
        entity.clock.advance(days=days or 0, months=months or 0)
    entity.record_change()
    apply_due_events(entity, entity.clock.now())
    return JSONResponse(entity.clock.to_json())


async def list_invoices(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /entities/{entityId}/invoices``: ``{"data": [Invoice]}``, newest first."""
    return Response(billing.list_invoices(entity_of(runtime, request)), media_type="application/json")


async def pay_invoice(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``POST /entities/{entityId}/invoices/{invoiceId}/pay``: the invoice, now paid (drives dunning recovery)."""
    entity = entity_of(runtime, request)
    invoice = billing.pay_invoice(entity, request.path_params["invoiceId"], entity.clock.now())
    return JSONResponse(invoice)
