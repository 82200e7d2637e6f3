"""The app as a whole: start-up checks, routing errors, docs, 500s, response validation, request info."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import DEMO, FROZEN, Api, AppFactory

from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.routes import HANDLERS
from mock_server.routes.types import Call, Result
from mock_server.spec import SpecError, load_spec


def test_every_operation_has_a_handler_and_every_handler_an_operation() -> None:
    spec = load_spec(MockConfig().spec_path)
    assert set(spec.operations) == set(HANDLERS)
    assert len(HANDLERS) == 21


def test_refuses_to_start_on_a_missing_or_extra_handler() -> None:
    missing = {k: v for k, v in HANDLERS.items() if k != "getQuote"}
    with pytest.raises(SpecError, match="getQuote"):
        create_app(MockConfig(fixtures="empty"), handlers=missing)
    with pytest.raises(SpecError, match="frobnicate"):
        create_app(MockConfig(fixtures="empty"), handlers={**HANDLERS, "frobnicate": HANDLERS["getQuote"]})


def test_refuses_unsupported_schema_keywords(tmp_path: Path) -> None:
    document = yaml.safe_load(MockConfig().spec_path.read_text())
    document["components"]["schemas"]["Quote"]["properties"]["notes"] = {"type": "string", "nullable": True}
    broken = tmp_path / "spec.yaml"
    broken.write_text(yaml.safe_dump(document))
    with pytest.raises(SpecError, match="nullable"):
        create_app(MockConfig(fixtures="empty", spec_path=broken))


def test_refuses_unchecked_formats(tmp_path: Path) -> None:
    document = yaml.safe_load(MockConfig().spec_path.read_text())
    document["components"]["schemas"]["Quote"]["properties"]["notes"] = {"type": "string", "format": "int64"}
    broken = tmp_path / "spec.yaml"
    broken.write_text(yaml.safe_dump(document))
    with pytest.raises(SpecError, match="int64"):
        create_app(MockConfig(fixtures="empty", spec_path=broken))


def test_unknown_path_is_json_404_and_wrong_method_json_405(api: Api) -> None:
    for path in ("/nope", "/api/sales/invoices", "/api/sales/quotes/"):
        response = api.http.get(path)
        assert response.status_code == 404 and response.json()["error"]
    response = api.http.put("/api/sales/quotes")
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    assert response.json()["error"]
    docs = api.http.post("/docs")
    assert docs.status_code == 405 and docs.json()["error"] and "GET" in docs.headers["allow"]


def test_spec_is_served_as_yaml_and_json(api: Api) -> None:
    as_yaml = api.http.get("/openapi.yaml")
    assert as_yaml.status_code == 200 and as_yaml.text.startswith("openapi:")
    as_json = api.http.get("/openapi.json").json()
    assert as_json["openapi"].startswith("3.1") and len(as_json["paths"]) >= 10


def test_docs_page_and_assets_are_local(api: Api) -> None:
    """/docs is Swagger UI from the swagger-ui-py package: every script and style is served by the mock."""
    page = api.http.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/docs/static/") for asset in assets), assets
    for asset in assets:
        assert api.http.get(asset).status_code == 200, asset
    assert "://" not in page.text, "the page names no other origin"
    assert api.http.get("/docs/static/nope.js").status_code == 404


def test_root_redirects_to_the_docs_and_both_specs_are_offered(api: Api) -> None:
    root = api.http.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/docs"
    page = api.http.get("/docs").text
    assert "/docs/specs/sales.json" in page and "/docs/specs/admin.json" in page and "ak_demo_readwrite" in page
    sales = api.http.get("/docs/specs/sales.json").json()
    admin = api.http.get("/docs/specs/admin.json").json()
    # the UI calls the server that serves it, whatever its port; the documented servers follow
    assert sales["servers"][0]["url"] == "/" and sales["servers"][1:] == api.http.get("/openapi.json").json()["servers"]
    assert admin["servers"][0]["url"] == "/" and "/__admin/health" in admin["paths"]
    assert sales["paths"] == api.http.get("/openapi.json").json()["paths"]
    missing = api.http.get("/docs/specs/other.json")
    assert missing.status_code == 404 and missing.json()["error"]


def _boom(call: Call) -> Result:
    raise RuntimeError("secret internals")


def _wrong_shape(call: Call) -> Result:
    return Result(200, {"data": "not a list", "page": 1, "pageSize": 20, "total": 0})


def test_an_unexpected_error_is_a_plain_500(make_api: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    api = make_api(handlers={**HANDLERS, "listQuotes": _boom}, validate_responses=False)
    response = api.get("/quotes")
    assert response.status_code == 500 and response.json() == {"error": "internal error"}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text


def test_response_validation_flags_a_mismatch(make_api: AppFactory) -> None:
    api = make_api(handlers={**HANDLERS, "listQuotes": _wrong_shape})
    assert api.get("/quotes").status_code == 200
    [mismatch] = api.runtime.response_mismatches
    assert mismatch.operation_id == "listQuotes" and "data" in mismatch.problems[0]
    api.runtime.response_mismatches.clear()  # expected here; the fixture fails on any other


def test_each_request_is_journaled_once_with_what_the_pipeline_learned() -> None:
    app = create_app(MockConfig(clock=FROZEN, validate_responses=True))
    api = Api(app)
    api.get("/quotes")
    api.get("/quotes", entity="bad")
    api.close()
    bad, ok = app.state.runtime.control.journal.entries()
    assert (ok.operation_id, ok.entity_id, ok.status) == ("listQuotes", DEMO, 200)
    assert ok.request_valid is True and ok.response_valid is True
    assert (bad.operation_id, bad.status, bad.request_valid, bad.response_valid) == ("listQuotes", 400, False, True)


def test_runtime_is_exposed(api: Api) -> None:
    runtime = api.app.state.runtime
    assert runtime.config.validate_responses and DEMO in runtime.store.entities
    assert runtime.startup_store().entities.keys() == runtime.store.entities.keys() and runtime.uptime_seconds() >= 0


def test_cors_preflight_and_headers(api: Api) -> None:
    origin = {"Origin": "http://localhost:5173"}
    preflight = api.http.options(
        "/api/sales/quotes",
        headers={**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    answer = api.get("/quotes", headers=origin)
    assert answer.status_code == 200 and answer.headers["access-control-allow-credentials"] == "true"


def test_other_origins_get_cors_without_credentials(api: Api) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    preflight = api.http.options("/api/sales/quotes", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    answer = api.get("/quotes", headers=origin)
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


def test_uuid_parameters_are_case_insensitive(api: Api) -> None:
    quote = api.quote()
    assert api.get(f"/quotes/{quote['id'].upper()}", entity=DEMO.upper()).status_code == 200
