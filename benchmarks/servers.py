"""ASGI servers from PyPI on the same app, core and load: the trivial app and the mock.

    .venv/bin/python benchmarks/servers.py [--seconds 5]

Each server runs one worker pinned to CPU 0, wrk (1 thread, 16 connections) on CPU 1. The
trivial app answers a fixed JSON body (``benchmarks/trivial_app.py``); the mock serves the
demo fixtures (listQuotes of the demo entity, a page of its quotes). Servers not installed are
skipped with a note (``pip install granian`` adds granian; uvicorn with httptools and uvloop is
what ``sales-mock serve`` uses). Prints req/s, p50 and p99 per server and app.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HOST, ROOT, Load, LoadGenerator, Processes, ensure_wrk, free_port, log, wait_ready

DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
MOCK_PATH = f"/api/sales/quotes?entityId={DEMO_ENTITY}&page=1&pageSize=20"


def _uvicorn(target: str, http: str, loop: str, factory: bool = False) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        extra = ["--factory"] if factory else []
        return [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "benchmarks"), target, *extra,
                "--host", HOST, "--port", str(port), "--http", http, "--loop", loop,
                "--no-access-log", "--log-level", "warning"]  # fmt: skip

    return argv


def _granian(target: str, interface: str, factory: bool = False) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        extra = ["--factory"] if factory else []
        return [str(Path(sys.executable).parent / "granian"), "--interface", interface, *extra,
                "--host", HOST, "--port", str(port), "--workers", "1", "--no-ws",
                "--log-level", "warning", "--working-dir", str(ROOT / "benchmarks"), target]  # fmt: skip

    return argv


def cases() -> list[tuple[str, str, Callable[[int], list[str]], str]]:
    """(server, app, argv for a port, path)."""
    found: list[tuple[str, str, Callable[[int], list[str]], str]] = []
    mock, trivial = "mock_app:app", "trivial_app:app"
    uv = importlib.util.find_spec("uvloop") is not None
    if importlib.util.find_spec("uvicorn"):
        if uv and importlib.util.find_spec("httptools"):
            found.append(("uvicorn httptools+uvloop", "trivial", _uvicorn(trivial, "httptools", "uvloop"), "/"))
            found.append(("uvicorn httptools+uvloop", "mock", _uvicorn(mock, "httptools", "uvloop"), MOCK_PATH))
        found.append(("uvicorn h11+asyncio", "trivial", _uvicorn(trivial, "h11", "asyncio"), "/"))
        found.append(("uvicorn h11+asyncio", "mock", _uvicorn(mock, "h11", "asyncio"), MOCK_PATH))
    if shutil.which("granian", path=str(Path(sys.executable).parent)):
        found.append(("granian ASGI", "trivial", _granian(trivial, "asgi"), "/"))
        found.append(("granian ASGI", "mock", _granian(mock, "asgi"), MOCK_PATH))
        found.append(("granian RSGI", "trivial", _granian("trivial_app:rsgi_app", "rsgi"), "/"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ASGI servers compared on the trivial app and the mock")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    note = ensure_wrk()
    if note:
        print(f"note: {note}")
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    gen = LoadGenerator(pin)
    rows = []
    with tempfile.TemporaryDirectory(prefix="sales-servers-") as logs:
        procs = Processes(Path(logs), pin)
        try:
            for server, app, argv_for, path in cases():
                port = free_port()
                proc = procs.start(f"{server}-{app}".replace(" ", "_"), argv_for(port), cpu=0)
                try:
                    wait_ready(port, path, DEMO_KEY, proc)
                    load = Load(
                        "static.lua",
                        {"BENCH_TOKEN": DEMO_KEY, "BENCH_METHOD": "GET", "BENCH_PATH": path, "BENCH_BODY": ""},
                        lambda i, p=path: ("GET", p, None),
                    )
                    gen.run(port, load, 1.0)
                    result = gen.run(port, load, args.seconds)
                    rows.append((server, app, f"{result.rps:,.0f}", f"{result.p50_ms:.2f}", f"{result.p99_ms:.2f}"))
                    log(f"{server:26} {app:8} {result.rps:9,.0f} req/s")
                except RuntimeError as error:
                    rows.append((server, app, f"failed: {error}", "", ""))
                finally:
                    procs.stop(proc)
        finally:
            procs.stop_all()
    print("| server | app | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
