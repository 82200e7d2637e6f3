"""A process killed in the middle of a state-file save never leaves a corrupt or partial file: the
saving process (the server, or the child it forks for background saves) is SIGKILLed at many
moments of a save of a sizeable state, and the file is then always a whole, valid state document."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mock_server import snapshot
from mock_server.persistence import StateFileKeeper
from mock_server.store import Store

pytestmark = [pytest.mark.slow]

SAVER = textwrap.dedent(
    """
    import asyncio, sys
    from mock_server.fixtures import seed_entity
    from mock_server.persistence import StateFileKeeper
    from mock_server.services import customers
    from mock_server.store import Store

    store = Store()
    for n in range(20):
        seed_entity(store, f"E{n}", "USD", fixtures="demo", clock="2025-03-01T00:00:00Z")
    keeper = StateFileKeeper(store, sys.argv[1])
    keeper.save()
    entity = next(iter(store.entities.values()))

    async def main():
        n = 0
        while True:
            n += 1
            customers.create_customer(entity, {"name": f"C{n}", "currency": "USD"}, entity.clock.now())
            if sys.argv[2] == "background":
                print("fork", flush=True)
                await keeper.save_in_background()
            else:
                print("save", flush=True)
                keeper.save()

    asyncio.run(main())
    """
)


def _check_whole(path: Path) -> int:
    """The file parses and restores; returns its number of customers in the first entity."""
    document = json.loads(path.read_bytes())
    snapshot.restore(Store(), document)
    return len(document["entities"][0]["customers"])


def _start(path: Path, mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() in ("fork", "save"), process.communicate(timeout=30)
    return process


def _await_writing(path: Path, budget: float = 20.0) -> None:
    """Return as soon as a save is writing: a temporary file beside ``path``, or ``path`` itself changing."""
    before = path.stat().st_mtime_ns
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        if any(p.name.endswith(".tmp") for p in path.parent.iterdir()) or path.stat().st_mtime_ns != before:
            return
    raise AssertionError("no save started")


def _await_landed_save(path: Path, above: int, budget: float = 30.0) -> int:
    """The file's customer count once a save with more than ``above`` landed (the last one seen at the deadline)."""
    deadline = time.monotonic() + budget
    count = _check_whole(path)
    while count <= above and time.monotonic() < deadline:
        time.sleep(0.05)
        count = _check_whole(path)
    return count


@pytest.mark.parametrize("mode", ["background", "inline"])
def test_killing_the_saver_mid_save_leaves_a_whole_file(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "state.json"
    process = _start(path, mode)
    try:
        counts = [_check_whole(path)]
        for round_ in range(6):
            _await_writing(path)
            children = _children(process.pid)
            if mode == "background" and children and round_ % 3 != 2:
                # the saving child dies; the server goes on (a child that finished first is gone already)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(children[0], signal.SIGKILL)
            else:
                os.kill(process.pid, signal.SIGKILL)  # the server dies (its saving child with it)
                process.communicate(timeout=30)
                time.sleep(0.2)
                assert not _children(process.pid)
                counts.append(_check_whole(path))
                process = _start(path, mode)
            counts.append(_check_whole(path))
        # a kill usually comes before the save it interrupts lands; the server that survived the
        # kills goes on saving, so a save with more customers than at the start must land
        counts.append(_await_landed_save(path, counts[0]))
        assert max(counts) > counts[0]  # saves did land between the kills
        process.kill()
        process.communicate(timeout=30)
        time.sleep(0.2)
        # the next start removes what killed saves left behind
        StateFileKeeper(Store(), path).load()
        assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    finally:
        process.kill()
        process.communicate(timeout=30)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]
