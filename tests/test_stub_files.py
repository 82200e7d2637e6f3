"""``sales-mock serve --stubs DIR``: WireMock-style mapping files loaded at start, per entity, checked
against the spec like stubs made through the admin API; part of the start-up state (reset puts them back)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from control_plane_client import bearer, client, make_app

from mock_server.admin import StubFileError
from mock_server.cli import main

DEMO = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
OTHER = "f1f5c646-a768-4f15-ab7e-5e3088389de0"
PLANS_STUB = {
    "request": {"method": "GET", "urlPath": "/api/sales/plans"},
    "response": {"status": 200, "jsonBody": {"data": []}, "headers": {"X-From": "file"}},
}
QUOTES_FILE = {
    "mappings": [
        {"request": {"method": "GET", "urlPathPattern": "/api/sales/quotes/.*"},
         "response": {"status": 404, "jsonBody": {"error": "stubbed: no such quote"}}},
        {"id": "conflict", "request": {"method": "POST", "urlPath": "/api/sales/quotes"},
         "response": {"status": 409, "jsonBody": {"error": "stubbed"}}, "times": 1},
    ],
    "entityId": DEMO,
}  # fmt: skip


def _folder(tmp_path: Path, files: dict[str, Any]) -> Path:
    folder = tmp_path / "stubs"
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return folder


def _ids(http: Any, entity: str) -> list[str]:
    return [stub["id"] for stub in http.get(f"/__admin/entities/{entity}/stubs").json()["data"]]


def test_files_load_per_entity_answer_and_come_back_on_reset(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"plans.json": PLANS_STUB, "sales/quotes.json": QUOTES_FILE})
    http = client(make_app(fixtures="demo", stubs_dir=str(folder)))
    demo_stubs = http.get(f"/__admin/entities/{DEMO}/stubs").json()["data"]
    # the plan stub (no entityId) is for every fixture entity; the quotes file names the demo entity
    assert len(demo_stubs) == 3 and len(_ids(http, OTHER)) == 1
    by_operation = {stub["request"]["operationId"]: stub for stub in demo_stubs}  # inferred, shown
    assert set(by_operation) == {"listPlans", "getQuote", "createQuote"}
    assert by_operation["createQuote"]["id"] == "conflict"
    for entity, key in ((DEMO, "ak_demo_readonly"), (OTHER, "ak_other_readwrite")):
        plans = http.get("/api/sales/plans", params={"entityId": entity}, headers=bearer(key))
        assert plans.json() == {"data": []} and plans.headers["x-from"] == "file" and plans.headers["x-mock-stub"]
    quote = http.get("/api/sales/quotes/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, params={"entityId": DEMO},
                     headers=bearer("ak_demo_readonly"))  # fmt: skip
    assert quote.status_code == 404 and quote.json()["error"] == "stubbed: no such quote"
    created = http.post("/api/sales/quotes", params={"entityId": DEMO}, headers=bearer("ak_demo_readwrite"), json={})
    assert created.status_code == 400  # validation comes before stubs: a stub never hides a bad request
    # reset brings back the start-up stubs, fresh, with the same ids
    before = _ids(http, DEMO)
    assert http.delete(f"/__admin/entities/{DEMO}/stubs").status_code == 204
    assert http.delete(f"/__admin/entities/{OTHER}").status_code == 204
    assert http.post("/__admin/reset").status_code == 204
    assert _ids(http, DEMO) == before and len(_ids(http, OTHER)) == 1
    # the ids a file does not give are stable: the same after a restart
    assert _ids(client(make_app(fixtures="demo", stubs_dir=str(folder))), DEMO) == before


def test_the_files_replace_their_saved_stubs_and_keep_the_others(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"plans.json": {**PLANS_STUB, "id": "plans", "times": 2}})
    state = str(tmp_path / "state.json")
    app = make_app(stubs_dir=str(folder), state_file=state)
    http = client(app)
    entity = http.get("/__admin/entities").json()["data"][0]["entityId"]
    mine = {"request": {"method": "GET", "urlPath": "/api/sales/customers"},
            "response": {"status": 200, "jsonBody": {"data": []}}}  # fmt: skip
    assert http.post(f"/__admin/entities/{entity}/stubs", json=mine).status_code == 201
    keeper = app.state.runtime.control.keeper
    assert keeper is not None and keeper.save()
    (folder / "plans.json").write_text(json.dumps({**PLANS_STUB, "id": "plans", "times": 5}))
    again = client(make_app(stubs_dir=str(folder), state_file=state))
    stubs = again.get(f"/__admin/entities/{entity}/stubs").json()["data"]
    assert sorted((s["id"], s["remaining"]) for s in stubs if s["id"] == "plans") == [("plans", 5)]
    assert [s["request"]["urlPath"] for s in stubs] == ["/api/sales/plans", "/api/sales/customers"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"bad.json": b'{"request": '}, "bad.json: malformed JSON: Expecting value at line 1 column 13"),
        ({"bad.json": b"\xff"}, "bad.json: not UTF-8 text"),
        ({"bad.json": [PLANS_STUB]}, 'bad.json: must be a stub {"request": ..., "response": ...} or {"mappings"'),
        ({"bad.json": {"mappings": {}}}, "bad.json: mappings: must be an array of stubs"),
        ({"bad.json": {"mappings": [], "extra": 1}}, "bad.json: extra: is not an allowed field beside mappings"),
        ({"bad.json": {**PLANS_STUB, "entityId": "nope"}}, "bad.json: entityId: must be a UUID"),
        ({"bad.json": {"mappings": [{**PLANS_STUB, "entityId": "11111111-2222-4333-8444-555555555555"}]}},
         "bad.json: mappings[0]: entityId: 11111111-2222-4333-8444-555555555555 is no entity of the start-up"),
        ({"bad.json": {"mappings": [PLANS_STUB, {**PLANS_STUB, "request": {"method": "GET", "urlPath": "/api/x"}}]}},
         "bad.json: mappings[1]: request.urlPath: must be a Sales API path under /api/sales/"),
        ({"bad.json": {**PLANS_STUB, "response": {"status": 200, "jsonBody": {"data": 1}}}},
         "bad.json: the answer does not fit the spec of listPlans 200"),
        ({"a.json": {**PLANS_STUB, "id": "same"}, "b.json": {**PLANS_STUB, "id": "same"}},
         "b.json: id: stub same already exists"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_file_and_the_problem(
    tmp_path: Path, files: dict[str, Any], message: str
) -> None:
    folder = _folder(tmp_path, files)
    with pytest.raises(StubFileError) as raised:
        make_app(stubs_dir=str(folder))
    text = str(raised.value)
    assert "\n" not in text and text.startswith(str(folder)) and message in text, text


def test_serve_with_bad_stubs_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(
        tmp_path, {"plans.json": {**PLANS_STUB, "request": {"method": "GET", "urlPath": "/api/sales/plan"}}}
    )
    assert main(["serve", "--port", "0", "--fixtures", "empty", "--stubs", str(folder)]) == 2
    assert main(["serve", "--port", "0", "--fixtures", "empty", "--stubs", str(tmp_path / "missing")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"sales-mock: error: {folder}/plans.json: request.urlPath: GET /api/sales/plan is no Sales API operation",
        f"sales-mock: error: cannot read the stubs folder {tmp_path}/missing: No such file or directory",
    ]
