#!/usr/bin/env python3
"""Benchmark the mock against Prism 5 on the same spec, then at scale. It only prints figures.

Usage (from the repository root, after ``./dev test`` or ``./dev lint`` created ``.venv``):

    .venv/bin/python benchmarks/bench.py            # full run, ~4 minutes
    .venv/bin/python benchmarks/bench.py --quick    # shorter cases and a 10,000-object scale run

What it does:
- installs what it lacks: ``wrk`` from Debian (``apt-get``, needs root; otherwise a Python load
  generator is used and the output says so) and Prism 5 from npm into ``.cache/prism``
  (skipped with a note when ``npm`` is missing or ``--no-prism`` is given);
- starts our mock (one uvicorn process, quiet logging, request validation on, response
  validation off, frozen clock) and Prism (``prism mock``, static and ``-d`` dynamic) on the
  same ``openapi/sales.yaml``, each pinned to CPU 0 with the load generator on CPU 1;
- drives each with the same load (wrk, one thread, 16 connections) for listQuotes (page of
  20), getQuote, createQuote, changePlan and getDashboard, over a dataset of 1,000 quotes
  (3 lines each) and 1,000 subscriptions, restored before every case;
- measures cold start (process start to the first 200) and idle RSS of each server;
- scale run: the same dataset grown to 100,000 quotes and 100,000 subscriptions through the
  admin state import (``PUT /__admin/state``), then listQuotes/getQuote latency against the
  1,000-object figures, getDashboard latency and RSS.

All traffic goes to 127.0.0.1. Every loop is bounded in count and time, and every process
the script starts is stopped on exit, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from fleet import FleetResult, fleet_table, run_fleet
from harness import (
    CONNECTIONS,
    HOST,
    LOAD_CPU,
    ROOT,
    Client,
    Load,
    LoadGenerator,
    LoadResult,
    Processes,
    ensure_prism,
    ensure_wrk,
    free_port,
    log,
    process_tree_rss_mib,
    wait_ready,
)

from mock_server.resources import spec_path

SPEC = spec_path()
CLOCK = "2025-03-01T00:00:00Z"
STATE_FILE_STARTS = 3
"""Starts from the 100k state file timed in the scale run (the median is reported)."""
PAIRS = 5
"""Slices per operation in the paired ceiling measurement (``measure_paired_fractions``)."""
DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
READY_PATH = f"/api/sales/customers?entityId={DEMO_ENTITY}"  # a small answer from the demo fixtures
SERVER_CPU = 0
JSON = dict[str, Any]


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    cold_start_s: float


def mock_argv(port: int) -> list[str]:
    """Our mock as users run it: one uvicorn process, quiet, frozen clock (response validation is off by default)."""
    return [
        sys.executable,
        "-m",
        "mock_server.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--clock",
        CLOCK,
        "--log-level",
        "warning",
    ]


def prism_argv(binary: Path, port: int, dynamic: bool) -> list[str]:
    argv = [str(binary), "mock", "-h", HOST, "-p", str(port), "-v", "silent"]
    return [*argv, "-d", str(SPEC)] if dynamic else [*argv, str(SPEC)]


def start_server(procs: Processes, name: str, argv_for: Callable[[int], list[str]]) -> Server:
    port = free_port()
    proc = procs.start(name, argv_for(port), cpu=SERVER_CPU)
    ready = wait_ready(port, READY_PATH, DEMO_KEY, proc)
    return Server(name, proc, port, ready)


def measure_start(procs: Processes, name: str, argv_for: Callable[[int], list[str]], runs: int) -> tuple[float, float]:
    """(median cold start in seconds, idle RSS in MiB) over ``runs`` fresh starts."""
    starts, rss = [], 0.0
    for _ in range(runs):
        server = start_server(procs, name, argv_for)
        starts.append(server.cold_start_s)
        time.sleep(1.0)
        rss = process_tree_rss_mib(server.proc.pid)
        procs.stop(server.proc)
    return statistics.median(starts), rss


def trivial_argv(port: int) -> list[str]:
    """The ceiling app on the server the mock uses, configured as ``sales-mock serve`` configures it
    (uvicorn, httptools, uvloop, no access log, no proxy headers, no server header)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(ROOT / "benchmarks"),
        "trivial_app:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--no-proxy-headers",
        "--no-server-header",
        "--log-level",
        "warning",
    ]


def trivial_load() -> Load:
    return Load(
        "static.lua",
        {"BENCH_TOKEN": "x", "BENCH_METHOD": "GET", "BENCH_PATH": "/", "BENCH_BODY": ""},
        lambda i: ("GET", "/", None),
    )


def measure_ceiling(procs: Processes, gen: LoadGenerator, seconds: float) -> LoadResult:
    """req/s of the trivial app (a fixed JSON body) on the same server software, core and load."""
    port = free_port()
    proc = procs.start("trivial", trivial_argv(port), cpu=SERVER_CPU)
    try:
        wait_ready(port, "/", "", proc)
        load = trivial_load()
        gen.run(port, load, min(1.0, seconds / 3))
        result = gen.run(port, load, seconds)
    finally:
        procs.stop(proc)
    log(f"trivial app (uvicorn) {result.rps:9,.0f} req/s  p50 {result.p50_ms:6.2f} ms")
    return result


def paired_ratios(
    gen: LoadGenerator,
    ours: Server,
    other: Server,
    loads: dict[str, tuple[Load, Load]],
    reset: Callable[[], None],
    label: str,
) -> dict[str, float]:
    """Our req/s over ``other``'s per operation, robust to a shared machine whose speed drifts
    within a run: ``PAIRS`` times, one second of our load (from the reset state) then one second
    of ``other``'s (both servers up on the same CPU, one idle while the other is measured); the
    median of the per-pair ratios. ``loads``: operation -> (our load, the other server's)."""
    medians: dict[str, float] = {}
    for op, (mine_load, their_load) in loads.items():
        ratios = []
        for _ in range(PAIRS):
            wait_ready(ours.port, READY_PATH, DEMO_KEY, ours.proc, budget=120)
            reset()
            mine = gen.run(ours.port, mine_load, 1.0)
            theirs = gen.run(other.port, their_load, 1.0)
            if theirs.rps:
                ratios.append(mine.rps / theirs.rps)
        medians[op] = statistics.median(ratios) if ratios else 0.0
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        log(f"paired with {label}: {op:13} median {medians[op]:.2f} ({shown})")
    return medians


def measure_paired_fractions(
    procs: Processes, gen: LoadGenerator, ours: Server, loads: dict[str, Load], reset: Callable[[], None]
) -> dict[str, float]:
    """Each operation's req/s as a fraction of the trivial app's, paired (``paired_ratios``)."""
    port = free_port()
    proc = procs.start("trivial-paired", trivial_argv(port), cpu=SERVER_CPU)
    trivial = trivial_load()
    try:
        ready = wait_ready(port, "/", "", proc)
        gen.run(port, trivial, 1.0)  # warm-up
        server = Server("trivial", proc, port, ready)
        return paired_ratios(gen, ours, server, {op: (load, trivial) for op, load in loads.items()}, reset, "trivial")
    finally:
        procs.stop(proc)


# --------------------------------------------------------------------------- dataset


@dataclass
class Dataset:
    """The benchmark entity and the ids the load scripts use."""

    entity_id: str
    token: str
    customer_id: str
    plan_a: str
    plan_b: str
    quote_ids: list[str] = field(default_factory=list)
    subscription_ids: list[str] = field(default_factory=list)


def quote_body(customer_id: str, n: int) -> JSON:
    lines = [
        {"description": f"Consulting day {n}", "quantity": 2, "unitPrice": 125_000},
        {"description": "Licence seat", "quantity": 10, "unitPrice": 4_900, "discountBps": 1000},
        {"description": "Onboarding", "quantity": 1, "unitPrice": 50_000},
    ]
    return {"customerId": customer_id, "lines": lines, "notes": "benchmark"}


def build_dataset(client: Client, size: int) -> Dataset:
    """A fresh entity (frozen clock) with ``size`` quotes and ``size`` subscriptions, made through the API."""
    made = client.ok("POST", "/__admin/entities", {"name": "Bench Co", "baseCurrency": "USD", "clock": CLOCK})
    entity, token = made["entityId"], made["apiKeys"]["readWrite"]
    customer = client.ok(
        "POST",
        f"/__admin/entities/{entity}/customers",
        {"name": "Bench Customer", "currency": "USD", "taxRateBps": 825},
    )
    q = f"?entityId={entity}"
    plans = [
        client.ok(
            "POST",
            f"/api/sales/plans{q}",
            {"code": code, "name": code.title(), "currency": "USD", "amount": amount, "interval": "month"},
            token,
        )["id"]
        for code, amount in (("basic", 2000), ("pro", 5000))
    ]
    data = Dataset(entity, token, customer["id"], plans[0], plans[1])
    for n in range(size):
        data.quote_ids.append(client.ok("POST", f"/api/sales/quotes{q}", quote_body(customer["id"], n), token)["id"])
        sub = {"planId": plans[0], "customerId": customer["id"]}
        data.subscription_ids.append(client.ok("POST", f"/api/sales/subscriptions{q}", sub, token)["id"])
    return data


# --------------------------------------------------------------------------- cases


def cases(data: Dataset, ids_dir: Path) -> dict[str, Load]:
    """The five operations, as wrk scripts and as request factories for the Python generator."""
    q = f"?entityId={data.entity_id}"
    quote_ids = ids_dir / "quotes.txt"
    quote_ids.write_text("\n".join(data.quote_ids) + "\n")
    sub_ids = ids_dir / "subscriptions.txt"
    sub_ids.write_text("\n".join(data.subscription_ids) + "\n")
    token = {"BENCH_TOKEN": data.token}
    list_path = f"/api/sales/quotes{q}&page=1&pageSize=20"
    create_body = json.dumps(quote_body(data.customer_id, 0))
    change_path = f"/api/sales/subscriptions/{{id}}/change-plan{q}"

    def change(i: int) -> tuple[str, str, bytes | None]:
        n = len(data.subscription_ids)
        rnd = i // n
        plan = (data.plan_b, data.plan_a)[rnd % 2]
        body = json.dumps({"newPlanId": plan, "quantity": rnd % 5 + 1}).encode()
        return "POST", change_path.replace("{id}", data.subscription_ids[i % n]), body

    return {
        "listQuotes": Load(
            "static.lua",
            {**token, "BENCH_METHOD": "GET", "BENCH_PATH": list_path, "BENCH_BODY": ""},
            lambda i: ("GET", list_path, None),
        ),
        "getQuote": Load(
            "rotate.lua",
            {**token, "BENCH_PATH": f"/api/sales/quotes/{{id}}{q}", "BENCH_IDS_FILE": str(quote_ids)},
            lambda i: ("GET", f"/api/sales/quotes/{data.quote_ids[i % len(data.quote_ids)]}{q}", None),
        ),
        "createQuote": Load(
            "static.lua",
            {**token, "BENCH_METHOD": "POST", "BENCH_PATH": f"/api/sales/quotes{q}", "BENCH_BODY": create_body},
            lambda i: ("POST", f"/api/sales/quotes{q}", create_body.encode()),
        ),
        "changePlan": Load(
            "change_plan.lua",
            {
                **token,
                "BENCH_PATH": change_path,
                "BENCH_IDS_FILE": str(sub_ids),
                "BENCH_PLANS": f"{data.plan_b},{data.plan_a}",
            },
            change,
        ),
        "getDashboard": Load(
            "static.lua",
            {**token, "BENCH_METHOD": "GET", "BENCH_PATH": f"/api/sales/dashboard{q}", "BENCH_BODY": ""},
            lambda i: ("GET", f"/api/sales/dashboard{q}", None),
        ),
    }


# --------------------------------------------------------------------------- runs


@dataclass
class Report:
    notes: list[str] = field(default_factory=list)
    throughput: dict[str, dict[str, LoadResult]] = field(default_factory=dict)
    startup: dict[str, tuple[float, float]] = field(default_factory=dict)
    scale: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    fleet: FleetResult | None = None
    ceiling: LoadResult | None = None
    paired: dict[str, float] = field(default_factory=dict)
    paired_prism: dict[str, float] = field(default_factory=dict)


def restore(client: Client, state: Any) -> None:
    """Put the server back to ``state`` (the admin state import)."""
    status, payload = client.request("PUT", "/__admin/state", state)
    if status >= 300:
        raise RuntimeError(f"PUT /__admin/state -> {status}: {payload}")


def run_cases(
    gen: LoadGenerator, server: Server, loads: dict[str, Load], seconds: float, reset: Callable[[], None] | None
) -> dict[str, LoadResult]:
    """Warm up and measure each operation. Before each run the server is drained (it must answer a
    cheap request: a slow server may still be working off requests wrk gave up on) and reset."""

    def settle() -> None:
        wait_ready(server.port, READY_PATH, DEMO_KEY, server.proc, budget=120)
        if reset:
            reset()

    results = {}
    for op, load in loads.items():
        try:
            settle()
            gen.run(server.port, load, min(1.0, seconds / 3))  # warm-up
            settle()
        except RuntimeError as error:  # a server still working off the previous case: not measured
            log(f"{server.name:14} {op:13} not measured: {error}")
            results[op] = LoadResult(0.0, 0.0, 0.0, 0, 0)
            continue
        results[op] = gen.run(server.port, load, seconds)
        log(f"{server.name:14} {op:13} {results[op].rps:9,.0f} req/s  p50 {results[op].p50_ms:6.2f} ms")
    return results


def sequential_latency_ms(client: Client, path: str, count: int) -> tuple[float, float]:
    """(median, max) latency of ``count`` sequential GETs, in ms."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.ok("GET", path)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples)


def fixture_document(size: int) -> tuple[JSON, Dataset]:
    """A fixture file (the ``--fixtures PATH`` format) with one entity holding ``size`` quotes of 3
    lines (statuses rotating draft/sent/accepted/declined over 100 customers) and ``size``
    subscriptions (four plans of three cadences, every other one invoiced). The mock creates all of
    it through its own services at start-up, exactly as the API would."""
    entity, token = str(uuid.uuid4()), "ak_bench_scale"
    customers: list[JSON] = [
        {"id": str(uuid.uuid4()), "name": f"Customer {i}", "currency": "USD", "country": "US", "taxRateBps": 825}
        for i in range(100)
    ]
    plans: list[JSON] = [
        {"id": str(uuid.uuid4()), "code": code, "name": code, "currency": "USD", "amount": amount, "interval": every}
        for code, amount, every in (("basic", 2000, "month"), ("pro", 5000, "month"), ("pro-y", 50000, "year"))
    ]
    plans.append({**plans[0], "id": str(uuid.uuid4()), "code": "weekly", "interval": "week", "amount": 1000})
    quotes = [
        {"id": str(uuid.uuid4()), "status": QUOTE_STATUSES[n % 4], **quote_body(customers[n % 100]["id"], n)}
        for n in range(size)
    ]
    subs: list[JSON] = []
    for n in range(size):
        sub: JSON = {"id": str(uuid.uuid4()), "customerId": customers[n % 100]["id"], "planId": plans[n % 4]["id"]}
        if n % 2:
            sub["history"] = [{"date": "today", "op": "generateInvoice", "body": {}}]
        subs.append(sub)
    document = {
        "entities": [
            {
                "id": entity,
                "name": "Scale Co",
                "baseCurrency": "USD",
                "apiKeys": [{"key": token, "scopes": ["read:sales", "write:sales"]}],
                "customers": customers,
                "plans": plans,
                "quotes": quotes,
                "subscriptions": subs,
            }
        ]
    }
    step = max(1, size // 1000)
    data = Dataset(entity, token, customers[0]["id"], plans[0]["id"], plans[1]["id"])
    data.quote_ids = [q["id"] for q in quotes[::step]][:1000]
    data.subscription_ids = [s["id"] for s in subs[::step]][:1000]
    return document, data


QUOTE_STATUSES = ("draft", "sent", "accepted", "declined")


@dataclass
class ScaleFigures:
    size: int
    load_s: float
    rss_mib: float
    rss_after_mib: float
    results: dict[str, LoadResult]
    dashboard_ms: tuple[float, float]
    first_dashboard_ms: float = 0.0


@dataclass
class StateFileFigures:
    load_s: float
    rss_mib: float
    first_dashboard_ms: float
    dashboard_ms: tuple[float, float]
    quiet: LoadResult
    saving: LoadResult
    saves: int
    file_mib: float
    pause_ms: float | None  # the longest event-loop pause of a background save, as the server measured it


def _first_latency_ms(client: Client, path: str) -> float:
    started = time.perf_counter()
    client.ok("GET", path)
    return (time.perf_counter() - started) * 1000


def measure_scale(
    procs: Processes, gen: LoadGenerator, size: int, seconds: float, work: Path, state_file: Path | None = None
) -> ScaleFigures:
    """Start the mock on a fixture file of ``size`` quotes and subscriptions and measure it. With
    ``state_file`` (absent at start) the server also writes that file when it stops."""
    document, data = fixture_document(size)
    path = work / f"scale-{size}.json"
    path.write_text(json.dumps(document))
    del document
    port = free_port()
    argv = [*mock_argv(port), "--fixtures", str(path)]
    if state_file is not None:
        argv += ["--state-file", str(state_file)]
    proc = procs.start(f"ours-scale-{size}", argv, cpu=SERVER_CPU)
    load_s = wait_ready(port, f"/api/sales/customers?entityId={data.entity_id}", data.token, proc, budget=600)
    time.sleep(1.0)
    rss = process_tree_rss_mib(proc.pid)
    loads = cases(data, work)
    filtered = f"/api/sales/quotes?entityId={data.entity_id}&status=sent&page=1&pageSize=20"
    loads["listQuotes?status=sent"] = Load(
        "static.lua",
        {"BENCH_TOKEN": data.token, "BENCH_METHOD": "GET", "BENCH_PATH": filtered, "BENCH_BODY": ""},
        lambda i: ("GET", filtered, None),
    )
    results = {}
    for op in ("listQuotes", "listQuotes?status=sent", "getQuote"):
        gen.run(port, loads[op], min(1.0, seconds / 3))  # warm-up
        # the best of three windows: the host's noise only ever slows a window down
        windows = [gen.run(port, loads[op], max(1.0, seconds / 3)) for _ in range(3)]
        results[op] = min(windows, key=lambda result: result.p50_ms)
    client = Client(port, data.token)
    board = f"/api/sales/dashboard?entityId={data.entity_id}"
    first = _first_latency_ms(client, board)  # builds the running totals once
    dashboard = sequential_latency_ms(client, board, 20)
    client.close()
    rss_after = process_tree_rss_mib(proc.pid)
    procs.stop(proc, timeout=300)
    log(
        f"scale {size:,}: loaded in {load_s:.1f} s, RSS {rss:.0f} MiB, dashboard first {first:.0f} ms"
        f" then {dashboard[0]:.1f} ms"
    )
    return ScaleFigures(size, load_s, rss, rss_after, results, dashboard, first)


def measure_state_file(
    procs: Processes, gen: LoadGenerator, size: int, seconds: float, work: Path, state_file: Path
) -> StateFileFigures:
    """Start the mock from the state file ``measure_scale`` left (no fixtures), then getQuote under load
    while nothing is saved and while a background save of the whole state runs (saves every 2 s
    after a change)."""
    _document, data = fixture_document(0)  # only for the load scripts' shape; ids come from the file
    state = json.loads(state_file.read_bytes())
    entity = state["entities"][0]
    data.entity_id, data.token = entity["id"], "ak_bench_scale"
    step = max(1, len(entity["quotes"]) // 1000)
    data.quote_ids = [q["id"] for q in entity["quotes"][::step]][:1000]
    data.subscription_ids = [s["id"] for s in entity["subscriptions"][::step]][:1000]
    data.customer_id = entity["customers"][0]["id"]
    del state, entity
    ready = f"/api/sales/customers?entityId={data.entity_id}"
    starts = []  # start-up is timed three times (the median counts): one start is at the mercy of the host
    for _ in range(STATE_FILE_STARTS - 1):
        port = free_port()
        argv = [*mock_argv(port), "--fixtures", "empty", "--state-file", str(state_file)]
        proc = procs.start(f"ours-state-{size}", argv, cpu=SERVER_CPU)
        starts.append(wait_ready(port, ready, data.token, proc, budget=600))
        procs.stop(proc, timeout=300)  # nothing changed: nothing is saved
    port = free_port()
    argv = [*mock_argv(port), "--fixtures", "empty", "--state-file", str(state_file)]
    proc = procs.start(f"ours-state-{size}", argv, cpu=SERVER_CPU, env={"SALES_MOCK_STATE_SAVE_SECONDS": "2"})
    starts.append(wait_ready(port, ready, data.token, proc, budget=600))
    load_s = statistics.median(starts)
    log(f"state file {size:,}: starts in " + ", ".join(f"{s:.1f}" for s in starts) + " s")
    time.sleep(1.0)
    rss = process_tree_rss_mib(proc.pid)
    client = Client(port, data.token)
    board = f"/api/sales/dashboard?entityId={data.entity_id}"
    first = _first_latency_ms(client, board)
    dashboard = sequential_latency_ms(client, board, 20)
    load = cases(data, work)["getQuote"]
    gen.run(port, load, min(1.0, seconds / 3))
    time.sleep(2.5)  # no change since start: no save runs
    quiet = gen.run(port, load, seconds)
    before = state_file.stat().st_mtime_ns
    saves = 0
    worst: LoadResult | None = None
    for _ in range(2):  # a change, then getQuote while the save it causes runs
        client.ok("POST", f"/api/sales/quotes?entityId={data.entity_id}", quote_body(data.customer_id, saves))
        result = gen.run(port, load, max(4.0, seconds))
        if state_file.stat().st_mtime_ns != before:
            saves += 1
            before = state_file.stat().st_mtime_ns
        worst = result if worst is None or result.p99_ms > worst.p99_ms else worst
    client.close()
    assert worst is not None
    admin = Client(port)
    pause_ms = admin.ok("GET", "/__admin/health").get("stateFile", {}).get("longestPauseMs")
    admin.close()
    procs.stop(proc, timeout=300)
    log(f"state file {size:,}: loaded in {load_s:.1f} s, getQuote p99 {quiet.p99_ms:.1f} / {worst.p99_ms:.1f} ms")
    file_mib = state_file.stat().st_size / 2**20
    return StateFileFigures(load_s, rss, first, dashboard, quiet, worst, saves, file_mib, pause_ms)


def scale_run(procs: Processes, gen: LoadGenerator, report: Report, size: int, seconds: float) -> None:
    """The same measurements with 1,000 and with ``size`` quotes and subscriptions, then a restart of
    the large state from its state file."""
    with tempfile.TemporaryDirectory(prefix="sales-bench-scale-") as work:
        state_file = Path(work) / f"state-{size}.json"
        small = measure_scale(procs, gen, 1000, seconds, Path(work))
        big = measure_scale(procs, gen, size, seconds, Path(work), state_file=state_file)
        restart = measure_state_file(procs, gen, size, seconds, Path(work), state_file) if state_file.exists() else None
    for op in ("listQuotes", "listQuotes?status=sent", "getQuote"):
        a, b = small.results[op], big.results[op]
        ratio = b.p50_ms / a.p50_ms if a.p50_ms else float("inf")
        verdict = ("met" if ratio <= 1.5 else "MISSED") if op != "listQuotes?status=sent" else ""
        label = f"{op} p50 (16 conn, best of 3 windows)"
        report.scale.append((label, f"{a.p50_ms:.2f} ms", f"{b.p50_ms:.2f} ms", "<= 1.5x", f"{ratio:.2f}x {verdict}"))
        report.scale.append((f"{op} req/s", a.rps_text, b.rps_text, "", ""))
    verdict = "met" if big.dashboard_ms[0] < 50 else "MISSED"
    report.scale.append(
        (
            "getDashboard (1 client, median of 20)",
            f"{small.dashboard_ms[0]:.1f} ms",
            f"{big.dashboard_ms[0]:.1f} ms (max {big.dashboard_ms[1]:.1f})",
            "<= 50 ms",
            verdict,
        )
    )
    report.scale.append(
        (
            "getDashboard, first call (builds the running totals)",
            f"{small.first_dashboard_ms:.0f} ms",
            f"{big.first_dashboard_ms:.0f} ms",
            "",
            "",
        )
    )
    peak = max(big.rss_mib, big.rss_after_mib)
    verdict = "met" if peak <= 500 else "MISSED"
    report.scale.append(
        (
            "RSS",
            f"{small.rss_mib:.0f} MiB",
            f"{big.rss_mib:.0f} MiB (after load {big.rss_after_mib:.0f})",
            "<= 500 MB",
            verdict,
        )
    )
    verdict = "met" if big.load_s <= 5 else "MISSED"
    report.scale.append(
        ("start-up with the fixture file", f"{small.load_s:.1f} s", f"{big.load_s:.1f} s", "<= 5 s", verdict)
    )
    if restart is None:
        report.scale.append(("start-up with the state file", "", "no state file was written", "<= 5 s", "MISSED"))
        return
    verdict = "met" if restart.load_s <= 5 else "MISSED"
    report.scale.append(
        (
            "start-up with the state file",
            "",
            f"{restart.load_s:.1f} s, median of {STATE_FILE_STARTS} ({restart.file_mib:.0f} MiB file)",
            "<= 5 s",
            verdict,
        )
    )
    report.scale.append(("RSS after start-up from the state file", "", f"{restart.rss_mib:.0f} MiB", "<= 500 MB", ""))
    report.scale.append(
        (
            "getDashboard after the state-file start (first / median of 20)",
            "",
            f"{restart.first_dashboard_ms:.0f} ms / {restart.dashboard_ms[0]:.1f} ms",
            "<= 50 ms",
            "met" if restart.dashboard_ms[0] <= 50 else "MISSED",
        )
    )
    report.scale.append(
        (
            "getQuote p99 / max (16 conn): no save",
            "",
            f"{restart.quiet.p99_ms:.2f} ms / {restart.quiet.max_ms:.1f} ms",
            "",
            "",
        )
    )
    report.scale.append(
        (
            "getQuote p99 / max (16 conn): while background saves run",
            "",
            f"{restart.saving.p99_ms:.2f} ms / {restart.saving.max_ms:.1f} ms ({restart.saves} saves in the window)",
            "",
            "",
        )
    )
    pause = restart.pause_ms
    report.scale.append(
        (
            "event loop pause per background save (the fork; longest, measured by the server)",
            "",
            "not reported" if pause is None else f"{pause:.1f} ms",
            "<= 20 ms",
            "not measured" if pause is None else ("met" if pause <= 20 else "MISSED"),
        )
    )


# --------------------------------------------------------------------------- output


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def print_report(report: Report, gen: LoadGenerator, seconds: float, scale: int) -> None:
    print(f"\n## Benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    print(f"- machine: {machine()}")
    print(f"- load: {gen.name}, {CONNECTIONS} connections, {seconds:g} s per case after a warm-up; servers on CPU")
    print(f"  {SERVER_CPU}, load generator on CPU {LOAD_CPU}; dataset 1,000 quotes (3 lines) + 1,000 subscriptions")
    for note in report.notes:
        print(f"- note: {note}")
    servers = list(next(iter(report.throughput.values()), {}))
    if servers:
        print("\nreq/s | p50 ms | p99 ms per server; ratio = our req/s / Prism's req/s (same run)\n")
        header = ["operation", *[f"{s} req/s | p50 | p99" for s in servers]]
        header += [f"ours/{s}" for s in servers[1:]]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * (1 + 3 * len(servers) + len(servers) - 1))
        for op, by_server in report.throughput.items():
            row = [op, *[by_server[s].cell() for s in servers]]
            ours = by_server[servers[0]].rps
            row += [f"{ours / by_server[s].rps:.1f}x" if by_server[s].rps else "n/a" for s in servers[1:]]
            print("| " + " | ".join(row) + " |")
        if report.ceiling is not None and report.ceiling.rps:
            ceiling = report.ceiling.rps
            print(
                f"\nceiling: a trivial ASGI app (fixed JSON body) on the same uvicorn, core and load: {ceiling:,.0f}"
                " req/s; ours as a fraction of it: "
                + ", ".join(f"{op} {d['ours'].rps / ceiling:.0%}" for op, d in report.throughput.items())
            )
        if report.paired_prism:
            print(
                f"\nours/prism static, paired: each operation alternated with Prism static in 1-s slices ({PAIRS}"
                " pairs), median ratio: " + ", ".join(f"{op} {r:.1f}x" for op, r in report.paired_prism.items())
            )
        if report.paired:
            print(
                f"ceiling, paired: each operation alternated with the trivial app in 1-s slices ({PAIRS} pairs),"
                " median fraction: " + ", ".join(f"{op} {f:.0%}" for op, f in report.paired.items())
            )
        failures = {f"{s}/{op}": r.failures for op, d in report.throughput.items() for s, r in d.items() if r.failures}
        print(f"\nnon-2xx or socket errors: {failures or 'none'}")
    if report.startup:
        print("\n| server | cold start (process start to first 200) | idle RSS |\n|---|---|---|")
        for name, (cold, rss) in report.startup.items():
            print(f"| {name} | {cold * 1000:.0f} ms | {rss:.0f} MiB |")
    if report.scale:
        print(
            f"\n| scale (our mock) | 1,000 + 1,000 | {scale:,} + {scale:,} | target | verdict |\n|---|---|---|---|---|"
        )
        for scale_row in report.scale:
            print("| " + " | ".join(scale_row) + " |")
    if report.fleet is not None:
        cold, idle = report.startup.get("ours", (None, None))
        print("\n" + fleet_table(report.fleet, cold, idle))


# --------------------------------------------------------------------------- main


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def managed(procs: Processes) -> Iterator[None]:
    old_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        procs.stop_all()
        signal.signal(signal.SIGTERM, old_term)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="2 s per case, 10,000-object scale run")
    parser.add_argument("--seconds", type=float, help="seconds per case (default 5, quick 2)")
    parser.add_argument("--scale", type=int, help="objects of each kind in the scale run (default 100,000)")
    parser.add_argument("--no-prism", action="store_true", help="do not install or measure Prism")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale run")
    parser.add_argument("--only", help="comma-separated operations to run (default all five)")
    parser.add_argument("--no-fleet", action="store_true", help="skip the CI fleet run")
    parser.add_argument("--fleet-jobs", type=int, default=200, help="concurrent CI jobs in the fleet run (default 200)")
    parser.add_argument("--fleet-seconds", type=float, help="seconds jobs keep starting (default 30, quick 10)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    scale = args.scale or (10_000 if args.quick else 100_000)
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    report = Report()
    if not pin:
        report.notes.append("fewer than 2 CPUs or no taskset: servers and load generator were not pinned")
    wrk_note = ensure_wrk()
    if wrk_note:
        report.notes.append(wrk_note)
    gen = LoadGenerator(pin)
    if pin:
        os.sched_setaffinity(0, {LOAD_CPU})  # this script (and the fallback generator) stays off the server CPU
    prism: Path | None = None
    if not args.no_prism:
        prism, note = ensure_prism()
        if note:
            report.notes.append(note)
    servers: list[tuple[str, Callable[[int], list[str]]]] = [("ours", mock_argv)]
    if prism is not None:
        binary = prism
        servers.append(("prism static", lambda port: prism_argv(binary, port, False)))
        servers.append(("prism dynamic", lambda port: prism_argv(binary, port, True)))
    log_dir = Path(tempfile.mkdtemp(prefix="sales-bench-"))
    procs = Processes(log_dir, pin)
    with managed(procs), tempfile.TemporaryDirectory() as ids_dir:
        for name, argv_for in servers:
            log(f"cold start: {name}")
            report.startup[name] = measure_start(procs, name.replace(" ", "-"), argv_for, 1 if args.quick else 3)
        ours = start_server(procs, "ours", mock_argv)
        client = Client(ours.port)
        log("building the 1,000-object dataset through the API ...")
        data = build_dataset(client, 1000)
        state = client.ok("GET", "/__admin/state")
        loads = cases(data, Path(ids_dir))
        if args.only:
            loads = {op: loads[op] for op in args.only.split(",")}
        results = {"ours": run_cases(gen, ours, loads, seconds, lambda: restore(client, state))}
        report.paired = measure_paired_fractions(procs, gen, ours, loads, lambda: restore(client, state))
        report.ceiling = measure_ceiling(procs, gen, seconds)
        for name, argv_for in servers[1:]:
            server = start_server(procs, name.replace(" ", "-"), argv_for)
            server.name = name
            results[name] = run_cases(gen, server, loads, seconds, None)
            if name == "prism static":  # the target's ratio, also measured paired (ours is still up)
                both = {op: (load, load) for op, load in loads.items()}
                report.paired_prism = paired_ratios(gen, ours, server, both, lambda: restore(client, state), name)
            procs.stop(server.proc)
        client.close()
        procs.stop(ours.proc)
        report.throughput = {op: {name: results[name][op] for name in results} for op in loads}
        if not args.no_scale:
            log(f"scale run with {scale:,} objects ...")
            scale_run(procs, gen, report, scale, seconds)
        if not args.no_fleet:
            fleet_seconds = args.fleet_seconds or (10.0 if args.quick else 30.0)
            log(f"CI fleet: {args.fleet_jobs} concurrent jobs for {fleet_seconds:g} s ...")
            report.fleet = run_fleet(procs, args.fleet_jobs, fleet_seconds, pin=False)  # already on the load CPU
    print_report(report, gen, seconds, scale)
    print(f"\n(server logs: {log_dir})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: every started process was stopped", file=sys.stderr)
        sys.exit(130)
