"""Authentication, scopes, sessions and tenancy through the ASGI app."""

from __future__ import annotations

import pytest
from conftest import DEMO, OTHER, OTHER_RW, RO, Api

from mock_server.auth import session_token
from mock_server.store import Store


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ak_nope",
        "Basic ak_demo_readwrite",
        "Bearer",
        "Bearer demo_readwrite",
        "Bearer ak_demo_readwrite x",
    ],
)
def test_bad_credentials_are_401_with_www_authenticate(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = api.get("/quotes", key=None, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) <= {"error", "details"}


def test_no_credentials_win_over_bad_parameters(api: Api) -> None:
    assert api.get("/quotes", key=None, entity="not-a-uuid", params={"pageSize": 0}).status_code == 401
    assert api.post("/quotes", {"bogus": 1}, key=None).status_code == 401


def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    assert api.get("/quotes", key=None, headers={"Authorization": "bearer ak_demo_readwrite"}).status_code == 200


def test_key_of_another_entity_is_403(api: Api) -> None:
    assert api.get("/quotes", key=OTHER_RW, entity=DEMO).status_code == 403
    unknown_entity = "11111111-1111-4111-8111-111111111111"
    assert api.get("/quotes", entity=unknown_entity).status_code == 403


def test_read_only_key_cannot_write(api: Api) -> None:
    assert api.get("/quotes", key=RO).status_code == 200
    quote = api.quote()
    assert (
        api.post(
            "/plans", {"code": "x", "name": "x", "currency": "USD", "amount": 1, "interval": "day"}, key=RO
        ).status_code
        == 403
    )
    assert api.patch(f"/quotes/{quote['id']}", {"notes": "x"}, key=RO).status_code == 403
    assert api.delete(f"/quotes/{quote['id']}", key=RO).status_code == 403
    assert api.ok(api.get(f"/quotes/{quote['id']}"))["notes"] is None


def test_malformed_entity_id_is_400_with_a_valid_key(api: Api) -> None:
    response = api.get("/quotes", entity="not-a-uuid")
    assert response.status_code == 400 and response.json()["details"][0]["path"] == "entityId"
    assert api.get("/quotes", entity=None).status_code == 400


def test_session_cookie_with_entity_header(api: Api) -> None:
    cookie = {"Cookie": "theme=dark; axiomatic_session=sess_demo"}
    by_header = api.get("/quotes", key=None, entity=None, headers={**cookie, "x-entity-id": DEMO})
    assert by_header.status_code == 200
    by_query = api.get("/quotes", key=None, headers=cookie)
    assert by_query.status_code == 200
    disagree = api.get("/quotes", key=None, headers={**cookie, "x-entity-id": OTHER})
    assert disagree.status_code == 400
    foreign = api.get("/quotes", key=None, entity=None, headers={**cookie, "x-entity-id": OTHER})
    assert foreign.status_code == 403
    assert api.get("/quotes", key=None, headers={"Cookie": "axiomatic_session=nope"}).status_code == 401
    assert (
        api.post(
            "/quotes",
            {
                "customerId": "3f1c9a52-8d4e-4b7a-9c21-6e0d5a7b8c10",
                "lines": [{"description": "x", "quantity": 1, "unitPrice": 1}],
            },
            key=None,
            headers=cookie,
        ).status_code
        == 201
    )


def test_an_authorization_header_beats_a_session(api: Api) -> None:
    headers = {"Cookie": "axiomatic_session=sess_demo", "Authorization": "Bearer ak_wrong"}
    assert api.get("/quotes", key=None, headers=headers).status_code == 401


def test_session_cookie_parsing() -> None:
    assert session_token('a=1; axiomatic_session="tok"; b=2') == "tok"
    assert session_token("axiomatic_session=") is None
    assert session_token("") is None


def test_key_lookup_is_exact() -> None:
    store = Store()
    from mock_server.clock import EntityClock
    from mock_server.store import EntityState

    store.add_entity(EntityState(id="e", name="E", base_currency="USD", clock=EntityClock()))
    store.add_api_key("ak_secret", "e", {"read:sales"})
    assert store.find_api_key("ak_secret") is not None
    assert store.find_api_key("ak_secre") is None and store.find_api_key("ak_secret ") is None
    assert store.find_api_key("ak_s\udcffecret") is None


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", f"Bearer {RO}"), ("Authorization", "Bearer ak_demo_readwrite")],
        [("Authorization", "Bearer ak_nope"), ("authorization", "Bearer ak_demo_readwrite")],
        [("Cookie", "axiomatic_session=sess_demo"), ("x-entity-id", OTHER), ("X-Entity-Id", DEMO)],
    ],
)
def test_a_repeated_credential_or_entity_header_is_400_not_last_wins(api: Api, headers: list[tuple[str, str]]) -> None:
    name = headers[-1][0].lower()
    response = api.http.request("GET", "/api/sales/quotes", params={"entityId": DEMO}, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["details"] == [{"path": name, "message": "is given more than once: send one"}]
    posted = api.http.request(
        "POST", "/api/sales/plans", params={"entityId": DEMO}, headers=headers, json={"code": "twice"}
    )
    assert posted.status_code == 400 and posted.json()["details"][0]["path"] == name
    other_repeats = [("Authorization", f"Bearer {RO}"), ("Accept", "a/b"), ("Accept", "*/*")]
    assert (
        api.http.request("GET", "/api/sales/quotes", params={"entityId": DEMO}, headers=other_repeats).status_code
        == 200
    )
