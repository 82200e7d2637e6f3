"""The state file: atomic writes, clear errors for bad files, load and save around the server's life."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from control_plane_client import client, comparable_state, make_app, new_entity

from mock_server.fixtures import seed_entity
from mock_server.persistence import StateFileError, StateFileKeeper, read_state_file, write_atomically
from mock_server.store import Store


def test_write_atomically_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["state.json"]


def test_write_atomically_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    (tmp_path / "sub").mkdir()
    with pytest.raises(OSError):
        write_atomically(tmp_path / "sub", b"new")  # a directory cannot be replaced by a file
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["state.json", "sub"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"{not json", "not valid JSON at line 1"), (b"[1]", "JSON object"), (b"\xff\xfe", "cannot be read")],
)
def test_unreadable_files_are_one_line_errors(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=needle) as caught:
        read_state_file(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_missing_file_is_no_state(tmp_path: Path) -> None:
    assert read_state_file(tmp_path / "none.json") is None
    assert StateFileKeeper(Store(), tmp_path / "none.json").load() is False


def test_invalid_document_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 9}))
    with pytest.raises(StateFileError, match="not a valid state document"):
        make_app(state_file=str(path))
    assert json.loads(path.read_text()) == {"version": 9}


def test_keeper_round_trip_and_saves_only_changes(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = make_app(state_file=str(path))
    http = client(app)
    keeper = app.state.runtime.control.keeper
    assert keeper.save() is True
    assert keeper.save() is False
    created = new_entity(http, name="Kept")
    assert keeper.save() is True
    restored = make_app(state_file=str(path))
    assert comparable_state(client(restored).get("/__admin/state").json()) == comparable_state(
        http.get("/__admin/state").json()
    )
    assert created["entityId"] in restored.state.runtime.store.entities


def test_resources_restored_from_the_file_keep_their_field_order(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = make_app(state_file=str(path))
    created = new_entity(client(app), fixtures="demo")
    app.state.runtime.control.keeper.save()

    def plans(http: httpx.Client) -> list[list[str]]:
        answer = http.get(
            "/api/sales/plans",
            params={"entityId": created["entityId"]},
            headers={"Authorization": f"Bearer {created['apiKeys']['readOnly']}"},
        )
        return [list(plan) for plan in answer.json()["data"]]

    before = plans(client(app))
    assert before and before[0][:2] == ["id", "code"]
    assert plans(client(make_app(state_file=str(path)))) == before


def test_running_saves_periodically_and_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    app = make_app(state_file=str(path))
    keeper: StateFileKeeper = app.state.runtime.control.keeper
    keeper.interval = 0.01

    async def life() -> None:
        async with keeper.running():
            for _ in range(1000):  # the periodic save runs in a forked child: wait for it
                await asyncio.sleep(0.01)
                if keeper.background_saves:
                    break
            assert path.exists()
            path.unlink()
            seed_entity(app.state.runtime.store, "Later", "USD")
        assert path.exists()

    asyncio.run(life())
    assert len(json.loads(path.read_text())["entities"]) == len(app.state.runtime.store.entities)
    health = client(app).get("/__admin/health").json()["stateFile"]
    assert health["path"] == str(path) and health["backgroundSaves"] == keeper.background_saves >= 1
    assert 0 <= health["lastPauseMs"] <= health["longestPauseMs"]


def test_health_has_no_state_file_section_without_one() -> None:
    assert "stateFile" not in client(make_app()).get("/__admin/health").json()


def test_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="does not exist"):
        make_app(state_file=str(tmp_path / "nowhere" / "state.json"))


def test_a_failed_write_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "state.json"
    keeper = StateFileKeeper(Store(), target)
    target.mkdir()
    keeper.save_or_report()
    assert "could not write state file" in capsys.readouterr().err


def _no_space(_fd: int) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_shows_in_health_and_fails_the_final_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that cannot write (the disk is full: the forked child's write fails) is in
    ``GET /__admin/health`` with its time; a final save that fails is flagged for the exit code."""
    path = tmp_path / "state.json"
    app = make_app(state_file=str(path))
    keeper: StateFileKeeper = app.state.runtime.control.keeper
    http = client(app)
    before = http.get("/__admin/health").json()["stateFile"]
    assert before["lastError"] is None and before["lastErrorAt"] is None and before["lastSavedAt"] is None
    new_entity(http)
    monkeypatch.setattr(os, "fsync", _no_space)  # the forked child inherits it

    async def life() -> None:
        assert await keeper.save_in_background() is False
        async with keeper.running():
            pass

    asyncio.run(life())
    health = http.get("/__admin/health").json()["stateFile"]
    assert "No space left on device" in health["lastError"]
    assert health["lastErrorAt"].endswith("Z") and health["lastSavedAt"] is None
    assert keeper.final_save_failed and not path.exists()
    assert os.listdir(tmp_path) == []  # neither the child nor the final save left a temporary file
    monkeypatch.undo()
    assert keeper.save_or_report()  # the disk has room again
    health = http.get("/__admin/health").json()["stateFile"]
    assert health["lastSavedAt"] is not None and "No space" in health["lastError"]  # the last error stays shown


def test_a_killed_save_child_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    app = make_app(state_file=str(path))
    keeper: StateFileKeeper = app.state.runtime.control.keeper
    new_entity(client(app))
    monkeypatch.setattr(os, "fsync", lambda _fd: time.sleep(60))  # the child stops with its temporary file written

    async def life() -> bool:
        save = asyncio.create_task(keeper.save_in_background())
        for _ in range(2000):
            await asyncio.sleep(0.01)
            if keeper._child is not None and any(p.suffix == ".tmp" for p in tmp_path.iterdir()):
                break
        assert keeper._child is not None, "the save child did not start writing"
        os.kill(keeper._child[0], signal.SIGKILL)
        return await save

    assert asyncio.run(life()) is False
    assert os.listdir(tmp_path) == []
    assert "killed by signal 9" in client(app).get("/__admin/health").json()["stateFile"]["lastError"]
