"""Spec-driven request validation: 400 with details, 413, 415, strict JSON, parameter coercion."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ACME, Api
from starlette.requests import ClientDisconnect

from mock_server.body import MAX_BODY_BYTES, read_body
from mock_server.errors import PayloadTooLarge

QUOTE = {"customerId": ACME, "lines": [{"description": "x", "quantity": 1, "unitPrice": 100}]}


def _raw(api: Api, content: bytes, content_type: str | None = "application/json", method: str = "POST") -> int:
    headers = {"Content-Type": content_type} if content_type else {}
    return api.call(method, "/quotes", content=content, headers=headers).status_code


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"customerId": "a", "customerId": "b"}',
        b"\xff\xfe{}",
        b'{"a": 1e999}',
        b"[" * 100_000,
        b'{"a": "\\ud800"}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_malformed_json_is_400(api: Api, content: bytes) -> None:
    assert _raw(api, content) == 400


def test_wrong_media_type_is_415(api: Api) -> None:
    assert _raw(api, b"customerId=x", "application/x-www-form-urlencoded") == 415
    assert _raw(api, b"{}", None) == 415
    assert _raw(api, b"{}", "application/json; charset=latin-1") == 415
    assert _raw(api, b'{"x": 1}', "application/json; charset=utf-8") == 400  # right type, wrong body


def test_body_over_one_mib_is_413(api: Api) -> None:
    big = b'{"notes": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert _raw(api, big) == 413


def test_streamed_body_is_counted_without_content_length() -> None:
    messages = [{"type": "http.request", "body": b"x" * 65536, "more_body": True} for _ in range(17)]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body({}, receive))  # type: ignore[arg-type]


def test_disconnect_mid_body_is_not_a_body() -> None:
    messages = [{"type": "http.request", "body": b"{}", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    with pytest.raises(ClientDisconnect):
        asyncio.run(read_body({}, receive))  # type: ignore[arg-type]


def test_details_name_every_offending_field(api: Api) -> None:
    body = {"customerId": "nope", "lines": [{"description": "", "quantity": 0, "unitPrice": 1.5}], "total": 1}
    response = api.post("/quotes", body)
    assert response.status_code == 400
    paths = {d["path"] for d in response.json()["details"]}
    assert {"customerId", "lines/0/description", "lines/0/quantity", "lines/0/unitPrice", "total"} <= paths


def test_a_body_of_neither_form_says_what_each_form_lacks(api: Api) -> None:
    # createOrder is quoteId alone or customerId + lines; the message names fields, not the whole body
    response = api.post("/orders", {"orderDate": "2025-03-01", "quoteId": ACME, "customerId": ACME})
    assert response.status_code == 400
    assert response.json()["error"] == (
        "invalid request: fits none of the allowed forms: (1) customerId is not allowed; "
        "(2) lines is required, quoteId is not allowed"
    )


def test_missing_body_and_empty_patch_are_400(api: Api) -> None:
    assert api.call("POST", "/quotes").status_code == 400
    quote = api.quote()
    assert api.patch(f"/quotes/{quote['id']}", {}).status_code == 400
    assert api.patch(f"/quotes/{quote['id']}", {"status": "sent", "number": "Q-9"}).status_code == 400
    assert api.ok(api.get(f"/quotes/{quote['id']}"))["status"] == "draft"


def test_integral_floats_are_integers(api: Api) -> None:
    body = {"customerId": ACME, "lines": [{"description": "x", "quantity": 2.0, "unitPrice": 1e3}]}
    quote = api.ok(api.post("/quotes", body), 201)
    assert quote["lines"][0]["quantity"] == 2 and quote["subtotal"] == 2000
    assert api.post("/quotes", {**body, "lines": [{**body["lines"][0], "quantity": 1.5}]}).status_code == 400


@pytest.mark.parametrize(
    "params",
    [{"page": "0"}, {"page": "x"}, {"pageSize": "101"}, {"pageSize": "1.5"}, {"status": "open"}, {"page": "1e2"}],
)
def test_bad_query_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    response = api.get("/quotes", params=params)
    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == next(iter(params))


def test_repeated_parameter_is_400(api: Api) -> None:
    url = "/api/sales/quotes?entityId=497f6eca-6276-4993-bfeb-53cbbbba6f08&status=draft&status=sent"
    assert api.http.get(url, headers={"Authorization": "Bearer ak_demo_readwrite"}).status_code == 400


def test_bad_path_parameter_is_400(api: Api) -> None:
    response = api.get("/quotes/not-a-uuid")
    assert response.status_code == 400 and response.json()["details"][0]["path"] == "quoteId"


def test_body_on_get_is_ignored(api: Api) -> None:
    assert api.call("GET", "/quotes", content=b"garbage").status_code == 200
