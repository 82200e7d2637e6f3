"""The admin API (/__admin) in process: shapes and errors of openapi/mock-admin.yaml."""

from __future__ import annotations

import uuid

import httpx
import pytest
from control_plane_client import FROZEN, bearer, client, create_plan, make_app, new_entity

from mock_server.admin import AdminConfigError, is_loopback


@pytest.fixture
def http() -> httpx.Client:
    return client(make_app())


def test_health(http: httpx.Client) -> None:
    body = http.get("/__admin/health").json()
    assert body["status"] == "ok"
    assert isinstance(body["version"], str)
    assert body["uptimeSeconds"] >= 0


def test_admin_spec_is_served(http: httpx.Client) -> None:
    answer = http.get("/__admin/openapi.yaml")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/yaml")
    assert "/__admin/faults:" in answer.text


def test_create_entity_shape_and_keys_work(http: httpx.Client) -> None:
    answer = http.post("/__admin/entities", json={"name": "T", "baseCurrency": "EUR", "clock": FROZEN})
    assert answer.status_code == 201
    created = answer.json()
    assert set(created) == {"entityId", "apiKeys", "now"}
    assert set(created["apiKeys"]) == {"readWrite", "readOnly"}
    assert created["now"] == FROZEN
    uuid.UUID(created["entityId"])
    params = {"entityId": created["entityId"]}
    assert http.get("/api/sales/plans", params=params, headers=bearer(created["apiKeys"]["readOnly"])).json() == {
        "data": []
    }
    assert create_plan(http, created).status_code == 201
    read_only = {"apiKeys": {"readWrite": created["apiKeys"]["readOnly"]}, "entityId": created["entityId"]}
    assert create_plan(http, read_only, code="other").status_code == 403


def test_create_entity_without_body_and_with_demo_fixtures(http: httpx.Client) -> None:
    assert http.post("/__admin/entities").status_code == 201
    demo = http.post("/__admin/entities", json={"fixtures": "demo"})
    assert demo.status_code in (201, 400)  # 400 only while fixtures/demo.yaml is missing
    if demo.status_code == 201:
        created = demo.json()
        customers = http.get(
            "/api/sales/customers",
            params={"entityId": created["entityId"]},
            headers=bearer(created["apiKeys"]["readOnly"]),
        ).json()["data"]
        assert customers


@pytest.mark.parametrize(
    "body",
    [{"fixtures": "full"}, {"baseCurrency": "usd"}, {"clock": "yesterday"}, {"name": ""}, {"colour": "red"}, []],
)
def test_create_entity_rejects_bad_bodies(http: httpx.Client, body: object) -> None:
    answer = http.post("/__admin/entities", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_delete_entity_removes_it_and_its_keys(http: httpx.Client) -> None:
    created = new_entity(http)
    path = f"/__admin/entities/{created['entityId']}"
    assert http.delete(path).status_code == 204
    assert http.delete(path).status_code == 404
    answer = http.get(
        "/api/sales/plans", params={"entityId": created["entityId"]}, headers=bearer(created["apiKeys"]["readWrite"])
    )
    assert answer.status_code == 401


def test_add_api_key_with_scopes(http: httpx.Client) -> None:
    created = new_entity(http)
    path = f"/__admin/entities/{created['entityId']}/api-keys"
    answer = http.post(path, json={"scopes": ["read:sales"]})
    assert answer.status_code == 201
    assert answer.json()["scopes"] == ["read:sales"]
    key = answer.json()["key"]
    assert key.startswith("ak_")
    params = {"entityId": created["entityId"]}
    assert http.get("/api/sales/plans", params=params, headers=bearer(key)).status_code == 200
    assert http.post(path, json={"scopes": ["admin"]}).status_code == 400
    assert http.post(path, json={}).status_code == 400
    assert http.post(f"/__admin/entities/{uuid.uuid4()}/api-keys", json={"scopes": ["read:sales"]}).status_code == 404


def test_add_customer_is_visible_in_the_sales_api(http: httpx.Client) -> None:
    created = new_entity(http)
    path = f"/__admin/entities/{created['entityId']}/customers"
    body = {"name": "Acme", "currency": "JPY", "email": "a@acme.example", "country": "JP", "taxRateBps": 1000}
    answer = http.post(path, json=body)
    assert answer.status_code == 201
    customer = answer.json()
    assert customer["creditBalance"] == 0 and customer["createdAt"] == FROZEN
    assert {k: customer[k] for k in body} == body
    listed = http.get(
        "/api/sales/customers", params={"entityId": created["entityId"]}, headers=bearer(created["apiKeys"]["readOnly"])
    )
    assert listed.json()["data"] == [customer]
    for bad in ({"name": "x"}, {"name": "x", "currency": "XXX"}, {"name": "x", "currency": "USD", "taxRateBps": -1}):
        assert http.post(path, json=bad).status_code == 400


@pytest.mark.parametrize("country", ["U1", "us", "USA", "", None, 1])
def test_customer_country_must_be_two_uppercase_letters(http: httpx.Client, country: object) -> None:
    created = new_entity(http)
    answer = http.post(
        f"/__admin/entities/{created['entityId']}/customers", json={"name": "A", "currency": "USD", "country": country}
    )
    assert answer.status_code == 400
    assert answer.json()["details"] == [{"path": "country", "message": "must be an ISO 3166-1 alpha-2 code such as US"}]


def test_clock_read_and_advance(http: httpx.Client) -> None:
    created = new_entity(http, clock="2025-01-31T10:00:00Z")
    base = f"/__admin/entities/{created['entityId']}/clock"
    assert http.get(base).json() == {"now": "2025-01-31T10:00:00Z", "frozen": True}
    assert http.post(f"{base}/advance", json={"months": 1}).json()["now"] == "2025-02-28T10:00:00Z"
    assert http.post(f"{base}/advance", json={"days": 2}).json()["now"] == "2025-03-02T10:00:00Z"
    assert http.post(f"{base}/advance", json={"to": "2025-04-01T00:00:00Z"}).json() == {
        "now": "2025-04-01T00:00:00Z",
        "frozen": True,
    }


def test_clock_never_goes_back(http: httpx.Client) -> None:
    created = new_entity(http, clock=FROZEN)
    path = f"/__admin/entities/{created['entityId']}/clock/advance"
    answer = http.post(path, json={"to": "2025-02-01T00:00:00Z"})
    assert answer.status_code == 409
    assert "only moves forward" in answer.json()["error"]
    assert http.post(path, json={"days": -1}).status_code == 400
    assert http.post(path, json={"days": 1, "to": "2026-01-01T00:00:00Z"}).status_code == 400
    assert http.post(path, json={}).status_code == 400
    for to in ("9900-01-01T00:00:00Z", "9999-12-31T23:00:00-02:00", "0000-01-01T00:00:00Z"):
        beyond = http.post(path, json={"to": to})
        assert beyond.status_code == 400 and [d["path"] for d in beyond.json()["details"]] == ["to"], beyond.text
    assert http.post(path, json={"to": "9899-12-31T23:59:59Z"}).status_code == 200
    for field, amount in (("days", 1), ("days", 36600), ("months", 1200)):  # past the clock's last instant
        beyond = http.post(path, json={field: amount})
        assert beyond.status_code == 400 and beyond.json()["details"] == [
            {"path": field, "message": "the clock stays within 1970-01-01T00:00:00Z..9899-12-31T23:59:59Z"}
        ]
    assert http.get(f"/__admin/entities/{created['entityId']}/clock").json()["now"] == "9899-12-31T23:59:59Z"


def test_new_entity_clock_follows_server_mode() -> None:
    http = client(make_app(clock="now"))
    assert http.get(f"/__admin/entities/{new_entity(http)['entityId']}/clock").json()["frozen"] is False
    frozen = client(make_app())
    assert new_entity(frozen)["now"] == FROZEN


def test_invoices_list_and_pay_errors(http: httpx.Client) -> None:
    created = new_entity(http)
    base = f"/__admin/entities/{created['entityId']}/invoices"
    assert http.get(base).json() == {"data": []}
    answer = http.post(f"{base}/{uuid.uuid4()}/pay")
    assert answer.status_code == 404 and answer.json()["error"]
    assert http.get(f"/__admin/entities/{uuid.uuid4()}/invoices").status_code == 404


def test_unknown_path_and_wrong_method_are_json(http: httpx.Client) -> None:
    missing = http.get("/__admin/nothing")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = http.patch("/__admin/state")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, PUT" and "error" in wrong.json()


def test_non_json_body_is_415(http: httpx.Client) -> None:
    answer = http.post("/__admin/entities", content=b"name=x", headers={"content-type": "text/plain"})
    assert answer.status_code == 415
    assert http.post("/__admin/entities", content=b"{", headers={"content-type": "application/json"}).status_code == 400


def test_token_is_enforced_when_set() -> None:
    http = client(make_app(admin_token="s3cret"))
    assert http.get("/__admin/health").status_code == 401
    assert http.get("/__admin/nothing").status_code == 401
    assert http.get("/__admin/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get("/__admin/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert http.get("/__admin/health", headers={"X-Admin-Token": "s3cret"}).status_code == 200


def test_non_loopback_needs_a_token() -> None:
    with pytest.raises(AdminConfigError, match="--admin-token"):
        make_app(host="0.0.0.0")
    assert client(make_app(host="0.0.0.0", admin_token="t")).get("/__admin/health").status_code == 401
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.test")
