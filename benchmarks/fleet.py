"""A CI fleet on one mock: many concurrent jobs, each with its own entity, through real HTTP.

    .venv/bin/python benchmarks/fleet.py                 # 200 concurrent jobs for 30 s
    .venv/bin/python benchmarks/fleet.py --jobs 50 --seconds 10

One ``sales-mock serve`` (pinned to CPU 0, frozen clock, no fixtures); this process (CPU 1) runs
``--jobs`` workers, each running CI jobs back to back until ``--seconds`` have passed. A job:
creates its entity through the admin API, two customers (admin API), two plans, a quote that is
sent, accepted and turned into an order that is confirmed, a subscription and its first invoice
(paid through the admin API), a clock advance of 31 days, the next period's invoice, a plan
change, the dashboard, its lists; then checks that it saw only its own data (lists, dashboard
figures), that another job's quote answers 404 to its key and another job's entity 403; and
deletes its entity. Printed: jobs/minute, requests, p50/p99 per request, errors (any unexpected
status), isolation violations, the server's RSS at the end, and
what one mock per job would cost (its cold start and idle RSS, measured here too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HOST, LOAD_CPU, Processes, free_port, log, process_tree_rss_mib, wait_ready

CLOCK = "2025-03-01T00:00:00Z"
SERVER_CPU = 0


class Unexpected(Exception):
    """A status or body a job did not expect."""


@dataclass
class FleetStats:
    latencies_ms: list[float] = field(default_factory=list)
    jobs: int = 0
    errors: int = 0
    leaks: int = 0
    problems: list[str] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)  # (entity id, quote id) of done jobs

    def problem(self, text: str) -> None:
        if len(self.problems) < 10:
            self.problems.append(text)


class Connection:
    """One keep-alive HTTP/1.1 connection (a CI job's client)."""

    def __init__(self, port: int, stats: FleetStats) -> None:
        self.port, self.stats = port, stats
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, method: str, path: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAccept: application/json\r\n"
        if key:
            head += f"Authorization: Bearer {key}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(data)}\r\n\r\n"
        started = time.perf_counter()
        self.writer.write(head.encode() + data)
        status_line = await asyncio.wait_for(self.reader.readline(), 60)
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        raw = await self.reader.readexactly(length) if length else b""
        self.stats.latencies_ms.append((time.perf_counter() - started) * 1000)
        if close:
            await self.close()
        status = int(status_line.split()[1])
        return status, json.loads(raw) if raw else None

    async def expect(self, status: int, method: str, path: str, key: str | None = None, body: Any = None) -> Any:
        got, payload = await self.call(method, path, key, body)
        if got != status:
            raise Unexpected(f"{method} {path.split('?')[0]} -> {got} (expected {status}): {str(payload)[:200]}")
        return payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


QUOTE_LINES = [
    {"description": "Consulting day", "quantity": 2, "unitPrice": 125_000},
    {"description": "Licence seat", "quantity": 10, "unitPrice": 4_900, "discountBps": 1000},
    {"description": "Onboarding", "quantity": 1, "unitPrice": 50_000},
]


async def one_job(conn: Connection, n: int, stats: FleetStats) -> None:
    """One CI job's scenario on its own entity, with isolation checks; raises Unexpected."""
    created = await conn.expect(201, "POST", "/__admin/entities", body={"name": f"ci-job-{n}", "clock": CLOCK})
    entity, key = created["entityId"], created["apiKeys"]["readWrite"]
    q = f"?entityId={entity}"
    admin = f"/__admin/entities/{entity}"
    api = "/api/sales"
    customers = [
        (await conn.expect(201, "POST", f"{admin}/customers", body={"name": f"Acme {n}-{i}", "currency": "USD"}))["id"]
        for i in range(2)
    ]
    plans = []
    for code, amount in (("basic", 2000), ("pro", 5000)):
        body = {"code": f"{code}-{n}", "name": code, "currency": "USD", "amount": amount, "interval": "month"}
        plans.append((await conn.expect(201, "POST", f"{api}/plans{q}", key, body))["id"])
    quote = await conn.expect(201, "POST", f"{api}/quotes{q}", key, {"customerId": customers[0], "lines": QUOTE_LINES})
    await conn.expect(200, "PATCH", f"{api}/quotes/{quote['id']}{q}", key, {"status": "sent"})
    await conn.expect(200, "PATCH", f"{api}/quotes/{quote['id']}{q}", key, {"status": "accepted"})
    order = await conn.expect(201, "POST", f"{api}/orders{q}", key, {"quoteId": quote["id"], "orderDate": CLOCK[:10]})
    await conn.expect(200, "PATCH", f"{api}/orders/{order['id']}{q}", key, {"status": "confirmed"})
    sub = await conn.expect(
        201, "POST", f"{api}/subscriptions{q}", key, {"customerId": customers[1], "planId": plans[0]}
    )
    first = await conn.expect(201, "POST", f"{api}/subscriptions/{sub['id']}/generate-invoice{q}", key, {})
    await conn.expect(200, "POST", f"{admin}/invoices/{first['id']}/pay")
    await conn.expect(200, "POST", f"{admin}/clock/advance", body={"days": 31})
    await conn.expect(201, "POST", f"{api}/subscriptions/{sub['id']}/generate-invoice{q}", key, {})
    await conn.expect(200, "POST", f"{api}/subscriptions/{sub['id']}/change-plan{q}", key, {"newPlanId": plans[1]})
    board = await conn.expect(200, "GET", f"{api}/dashboard{q}", key)
    quotes = await conn.expect(200, "GET", f"{api}/quotes{q}", key)
    listed_customers = await conn.expect(200, "GET", f"{api}/customers{q}", key)
    own = {
        "quotes": [x["id"] for x in quotes["data"]] == [quote["id"]] and quotes["total"] == 1,
        "customers": sorted(c["id"] for c in listed_customers["data"]) == sorted(customers),
        "dashboard": board["quotes"]["total"] == 1
        and board["orders"]["total"] == 1
        and board["subscriptions"]["total"] == 1
        and board["customers"]["total"] == 2
        and [r["bookedRevenue"] for r in board["revenue"]] == [order["subtotal"]],
    }
    if stats.finished:  # another job's data must stay invisible
        other_entity, other_quote = random.choice(stats.finished)
        status, _ = await conn.call("GET", f"{api}/quotes/{other_quote}{q}", key)
        own["other quote is 404"] = status == 404
        status, _ = await conn.call("GET", f"{api}/quotes?entityId={other_entity}", key)
        own["other entity is 403"] = status == 403
    for check, passed in own.items():
        if not passed:
            stats.leaks += 1
            stats.problem(f"job {n}: isolation check failed: {check}")
    stats.finished.append((entity, quote["id"]))
    if len(stats.finished) > 1000:
        del stats.finished[:500]
    await conn.expect(204, "DELETE", admin)


async def worker(port: int, stats: FleetStats, deadline: float, counter: list[int]) -> None:
    conn = Connection(port, stats)
    try:
        while time.monotonic() < deadline:
            counter[0] += 1
            try:
                await one_job(conn, counter[0], stats)
                stats.jobs += 1
            except (TimeoutError, Unexpected, OSError, asyncio.IncompleteReadError, ValueError) as error:
                stats.errors += 1
                stats.problem(f"{type(error).__name__}: {error}")
                await conn.close()
    finally:
        await conn.close()


@dataclass
class FleetResult:
    concurrency: int
    seconds: float
    jobs: int
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int
    leaks: int
    rss_start_mib: float
    rss_end_mib: float
    problems: list[str]

    @property
    def jobs_per_minute(self) -> float:
        return self.jobs / self.seconds * 60 if self.seconds else 0.0


def run_fleet(procs: Processes, concurrency: int, seconds: float, pin: bool) -> FleetResult:
    """Start one mock and run the fleet against it (this process moves to the load CPU)."""
    port = free_port()
    argv = [sys.executable, "-m", "mock_server.cli", "serve", "--host", HOST, "--port", str(port)]
    argv += ["--clock", CLOCK, "--fixtures", "empty", "--log-level", "warning"]
    proc = procs.start("ours-fleet", argv, cpu=SERVER_CPU)
    wait_ready(port, "/__admin/health", "", proc)
    rss_start = process_tree_rss_mib(proc.pid)
    if pin and hasattr(os, "sched_setaffinity"):
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {LOAD_CPU})
    stats = FleetStats()
    started = time.monotonic()
    try:
        asyncio.run(_fleet(port, stats, concurrency, started + seconds))
    finally:
        if pin and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, before)
    elapsed = time.monotonic() - started
    rss_end = process_tree_rss_mib(proc.pid)
    procs.stop(proc)
    lat = sorted(stats.latencies_ms)
    p50 = statistics.median(lat) if lat else 0.0
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
    log(f"fleet: {stats.jobs} jobs in {elapsed:.1f} s, {len(lat)} requests, errors {stats.errors}, leaks {stats.leaks}")
    return FleetResult(
        concurrency,
        elapsed,
        stats.jobs,
        len(lat),
        p50,
        p99,
        stats.errors,
        stats.leaks,
        rss_start,
        rss_end,
        stats.problems,
    )


async def _fleet(port: int, stats: FleetStats, concurrency: int, deadline: float) -> None:
    counter = [0]
    await asyncio.gather(*(worker(port, stats, deadline, counter) for _ in range(concurrency)))


def fleet_table(result: FleetResult, cold_start_s: float | None, idle_rss_mib: float | None) -> str:
    rows = [
        ("concurrent CI jobs (one entity each)", f"{result.concurrency}"),
        ("jobs completed / minute", f"{result.jobs} in {result.seconds:.0f} s = {result.jobs_per_minute:,.0f}/min"),
        ("requests", f"{result.requests:,} ({result.requests / max(1, result.jobs):.0f} per job)"),
        ("latency per request p50 / p99", f"{result.p50_ms:.1f} / {result.p99_ms:.1f} ms"),
        ("errors (unexpected status or socket error)", f"{result.errors}"),
        ("isolation violations (saw another job's data)", f"{result.leaks}"),
        ("server RSS at start / at the end", f"{result.rss_start_mib:.0f} / {result.rss_end_mib:.0f} MiB"),
    ]
    if cold_start_s is not None and idle_rss_mib is not None:
        rows.append(
            (
                "one mock per job instead (measured)",
                f"+{cold_start_s * 1000:.0f} ms start-up and ~{idle_rss_mib:.0f} MiB RSS per job"
                f" ({result.concurrency} jobs: ~{result.concurrency * idle_rss_mib / 1024:.1f} GiB)",
            )
        )
    lines = ["| fleet (one shared mock) | figure |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    if result.problems:
        lines.append("\nfirst problems: " + "; ".join(result.problems))
    return "\n".join(lines)


def measure_cold_start(procs: Processes, runs: int = 3) -> tuple[float, float]:
    """Median process start -> first answer of an empty mock, and its idle RSS."""
    starts, rss = [], []
    for _ in range(runs):
        port = free_port()
        argv = [sys.executable, "-m", "mock_server.cli", "serve", "--host", HOST, "--port", str(port)]
        argv += ["--clock", CLOCK, "--fixtures", "empty", "--log-level", "warning"]
        proc = procs.start("ours-cold", argv, cpu=SERVER_CPU)
        starts.append(wait_ready(port, "/__admin/health", "", proc))
        time.sleep(0.5)
        rss.append(process_tree_rss_mib(proc.pid))
        procs.stop(proc)
    return statistics.median(starts), statistics.median(rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=200, help="concurrent CI jobs (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long jobs keep starting (default 30)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and this process to CPUs")
    args = parser.parse_args(argv)
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    with tempfile.TemporaryDirectory(prefix="sales-fleet-") as logs:
        procs = Processes(Path(logs), pin=pin)
        try:
            cold, idle = measure_cold_start(procs)
            result = run_fleet(procs, args.jobs, args.seconds, pin)
        finally:
            procs.stop_all()
    print(fleet_table(result, cold, idle))
    return 0 if result.errors == 0 and result.leaks == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
