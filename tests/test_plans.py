"""Plans through the ASGI app: create with defaults, code uniqueness, patchable fields, archive."""

from __future__ import annotations

from conftest import OTHER, OTHER_RW, Api

BASE = {"code": "gold", "name": "Gold", "currency": "GBP", "amount": 9900, "interval": "month"}


def test_create_with_defaults(api: Api) -> None:
    plan = api.ok(api.post("/plans", BASE), 201)
    assert (plan["intervalCount"], plan["trialDays"], plan["active"], plan["description"]) == (1, 0, True, None)
    assert api.ok(api.get("/plans"))["data"][0] == plan  # newest first


def test_code_is_unique_per_entity(api: Api) -> None:
    api.ok(api.post("/plans", BASE), 201)
    duplicate = api.post("/plans", {**BASE, "name": "Other"})
    assert duplicate.status_code == 409
    assert api.ok(api.post("/plans", BASE, key=OTHER_RW, entity=OTHER), 201)["code"] == "gold"


def test_patch_changes_only_allowed_fields(api: Api) -> None:
    plan = api.ok(api.post("/plans", {**BASE, "interval": "month", "intervalCount": 3}), 201)
    patched = api.ok(
        api.patch(
            f"/plans/{plan['id']}",
            {"amount": 12000, "trialDays": 7, "active": False, "name": "Gold+", "description": "More"},
        )
    )
    assert (patched["amount"], patched["trialDays"], patched["active"], patched["name"]) == (12000, 7, False, "Gold+")
    assert patched["intervalCount"] == 3
    assert api.patch(f"/plans/{plan['id']}", {"code": "x"}).status_code == 400
    assert api.patch(f"/plans/{plan['id']}", {"currency": "USD"}).status_code == 400
    assert api.patch(f"/plans/{plan['id']}", {}).status_code == 400


def test_bad_plan_bodies_are_400(api: Api) -> None:
    assert api.post("/plans", {**BASE, "code": "Bad Code"}).status_code == 400
    assert api.post("/plans", {**BASE, "intervalCount": 13}).status_code == 400
    assert api.post("/plans", {**BASE, "interval": "fortnight"}).status_code == 400
    assert api.post("/plans", {**BASE, "amount": -1}).status_code == 400
    assert api.post("/plans", {**BASE, "id": "x"}).status_code == 400


def test_unknown_plan_is_404(api: Api) -> None:
    assert api.patch("/plans/00000000-0000-4000-8000-000000000000", {"name": "x"}).status_code == 404
    other_plan = "9b2a4f6e-8d0c-4e3a-9f5b-7c9d1e3f5a7b"
    assert api.patch(f"/plans/{other_plan}", {"name": "x"}).status_code == 404
