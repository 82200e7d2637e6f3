"""``/__admin/ui``: static files from the package, no token for the page, the admin guard's Host/Origin rules,
a strict Content-Security-Policy; and stubs kept in the state file."""

from __future__ import annotations

from pathlib import Path

from control_plane_client import client, make_app, new_entity

from mock_server.admin.ui import ASSETS, FILES
from mock_server.app import create_app
from mock_server.config import MockConfig


def test_the_page_loads_without_the_token_but_the_api_needs_it() -> None:
    http = client(make_app(admin_token="s3cret"))
    page = http.get("/__admin/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    for name in ("app.js", "app.css"):
        asset = http.get(f"/__admin/ui/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].split(";")[0] == ASSETS[name].split(";")[0]
    assert http.get("/__admin/ui/../state").status_code in (401, 404)
    assert http.get("/__admin/ui/secrets.txt").status_code == 404
    assert http.get("/__admin/entities").status_code == 401
    assert http.get("/__admin/entities", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_the_page_keeps_the_same_origin_rules() -> None:
    http = client(make_app())
    assert http.get("/__admin/ui", headers={"Host": "evil.example"}).status_code == 421
    assert http.get("/__admin/ui", headers={"Origin": "http://evil.example"}).status_code == 403
    assert http.post("/__admin/ui").status_code == 405


def test_no_external_code_in_the_ui() -> None:
    for name in ASSETS:
        text = (FILES / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "innerHTML" not in text


def test_stubs_are_kept_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    config = MockConfig(fixtures="empty", clock="2025-03-01T00:00:00Z", state_file=str(state))
    app = create_app(config)
    http = client(app)
    entity = new_entity(http)
    definition = {"request": {"method": "GET", "urlPath": "/api/sales/plans"},
                  "response": {"status": 200, "jsonBody": {"data": []}}}  # fmt: skip
    stub = http.post(f"/__admin/entities/{entity['entityId']}/stubs", json=definition).json()
    keeper = app.state.runtime.control.keeper
    assert keeper is not None and keeper.save()
    again = client(create_app(config))
    assert again.get(f"/__admin/entities/{entity['entityId']}/stubs").json()["data"] == [stub]
