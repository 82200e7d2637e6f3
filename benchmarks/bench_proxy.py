"""What ``sales-contract proxy`` adds to each request: p50/p99 direct vs through the proxy, 16 connections.

``.venv/bin/python benchmarks/bench_proxy.py`` (about a minute; ``--seconds N`` per case) starts
the mock (pinned to CPU 0) and the proxy in front of it (pinned to CPU 1, with full checking:
spec, oracle, tracking), then measures two loads per operation, each direct and through the
proxy, with 16 keep-alive connections:

- **paced**: 16 connections sending a fixed 400 requests/s in total (an open load, as a test
  suite or a frontend makes) from this process, pinned to CPU 1 — the added latency per request;
- **saturated**: wrk (one thread, 16 connections, as many requests as the servers take), which
  shows throughput; its latency is queueing time once the proxy is the bottleneck.

Loopback only; every process it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

from harness import (
    CONNECTIONS,
    HOST,
    Load,
    LoadGenerator,
    Paced,
    Processes,
    ensure_wrk,
    free_port,
    log,
    paced_load,
    wait_ready,
)

CLOCK = "2025-03-01T00:00:00Z"
DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
MOCK_CPU, PROXY_CPU = 0, 1
PACED_RATE = 400.0
OPERATIONS = {
    "listQuotes (page of 7)": f"/api/sales/quotes?entityId={DEMO_ENTITY}",
    "getQuote": f"/api/sales/quotes/6d1f2e3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a?entityId={DEMO_ENTITY}",
    "listSubscriptions": f"/api/sales/subscriptions?entityId={DEMO_ENTITY}",
}


async def paced(port: int, path: str, seconds: float, rate: float) -> tuple[float, float, int, int]:
    """(p50 ms, p99 ms, requests, failures): 16 keep-alive connections, ``rate`` requests/s in total."""
    head = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {DEMO_KEY}\r\n"
    result = Paced()
    await paced_load(port, (head + "Accept: application/json\r\n\r\n").encode(), seconds, rate, CONNECTIONS, result)
    return result.pick(0.5), result.pick(0.99), len(result.latencies), result.errors


def _get(path: str, _index: int) -> tuple[str, str, bytes | None]:
    return "GET", path, None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc): the proxy's own cost, whatever the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per case (default 8)")
    args = parser.parse_args(argv)
    note = ensure_wrk()
    generator = LoadGenerator(pin=True)
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        procs = Processes(Path(tmp), pin=True)
        try:
            mock_port, proxy_port = free_port(), free_port()
            mock_argv = [sys.executable, "-m", "mock_server.cli", "serve", "--host", HOST, "--port", str(mock_port)]
            mock_argv += ["--clock", CLOCK, "--log-level", "warning"]
            mock = procs.start("mock", mock_argv, cpu=MOCK_CPU)
            ready = f"/api/sales/customers?entityId={DEMO_ENTITY}"
            wait_ready(mock_port, ready, DEMO_KEY, mock)
            proxy_argv = [sys.executable, "-m", "contract_tests.cli", "proxy", "--upstream"]
            proxy_argv += [f"http://{HOST}:{mock_port}", "--host", HOST, "--port", str(proxy_port)]
            proxy = procs.start("proxy", proxy_argv, cpu=PROXY_CPU)
            wait_ready(proxy_port, ready, DEMO_KEY, proxy)
            os.sched_setaffinity(0, {PROXY_CPU})
            rows = []
            for name, path in OPERATIONS.items():
                log(f"{name}: paced {PACED_RATE:.0f}/s, then saturated, direct and through the proxy")
                before = cpu_seconds(mock.pid)
                direct = asyncio.run(paced(mock_port, path, args.seconds, PACED_RATE))
                mock_cpu_ms = (cpu_seconds(mock.pid) - before) * 1000 / max(1, direct[2])
                before = cpu_seconds(proxy.pid)
                proxied = asyncio.run(paced(proxy_port, path, args.seconds, PACED_RATE))
                cpu_ms = (cpu_seconds(proxy.pid) - before) * 1000 / max(1, proxied[2])
                load = Load(
                    "static.lua",
                    {"BENCH_METHOD": "GET", "BENCH_PATH": path, "BENCH_TOKEN": DEMO_KEY, "BENCH_BODY": ""},
                    partial(_get, path),
                )
                sat_direct = generator.run(mock_port, load, args.seconds)
                sat_proxy = generator.run(proxy_port, load, args.seconds)
                rows.append((name, direct, proxied, sat_direct, sat_proxy, mock_cpu_ms, cpu_ms))
        finally:
            procs.stop_all()
    print(f"\nProxy overhead, {CONNECTIONS} connections, mock on CPU {MOCK_CPU}, proxy on CPU {PROXY_CPU}")
    print(f"load: paced = {PACED_RATE:.0f} req/s in total from Python; saturated = {generator.name}")
    if note:
        print(f"note: {note}")
    print(f"machine load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        "\n| operation | paced p50 direct / proxy (added) ms | paced p99 direct / proxy ms "
        "| CPU ms/request mock / proxy | saturated req/s direct / proxy | saturated p50 direct / proxy ms "
        "| saturated p99 direct / proxy ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, direct, proxied, sd, sp, mock_cpu_ms, cpu_ms in rows:
        added = proxied[0] - direct[0]
        print(
            f"| {name} | {direct[0]:.2f} / {proxied[0]:.2f} (+{added:.2f}) | {direct[1]:.2f} / {proxied[1]:.2f} | "
            f"{mock_cpu_ms:.2f} / {cpu_ms:.2f} | {sd.rps_text} / {sp.rps_text} | {sd.p50_ms:.2f} / {sp.p50_ms:.2f} | "
            f"{sd.p99_ms:.2f} / {sp.p99_ms:.2f} |"
        )
        failures = direct[3] + proxied[3] + sd.failures + sp.failures
        if failures:
            print(f"  ({failures} failed requests in {name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
