"""Paced requests under attack: a slowloris and a header flood against ``sales-mock serve``, a gzip
bomb through ``sales-contract proxy``; p50/p99 of a paced normal load and the server's peak RSS.

``.venv/bin/python benchmarks/bench_adversarial.py`` (about 2 minutes; ``--quick``: about 40 s)
starts the mock (pinned to CPU 0) and measures, each case with the same paced normal load
(``--rate`` getQuote requests/s in total over 8 keep-alive connections, from this process on CPU 1):

- **quiet**: the normal load alone (the reference);
- **slowloris**: ``--connections`` (1,000) connections that send half a request head and then a
  header line every 2 s, never finishing it, for ``--seconds`` (30); each one the server closes is
  opened again at once;
- **header flood**: 8 clients each sending, again and again, an unauthenticated request with an
  8 MiB header (in 64 KiB writes, until the server answers or closes) for ``--seconds``; the
  server's RSS after the flood is printed too;
- **gzip bomb**: an upstream in this script answers every request with a canned getQuote answer,
  except one quote id, whose answer is gzip that inflates to 512 MiB of JSON whitespace;
  ``sales-contract proxy`` (from its CLI, CPU 0) stands in front of it; 2 clients ask for the bomb
  again and again through the proxy while the normal load goes through the proxy too. The
  proxy's RSS is sampled: past ``--rss-guard`` MiB (1,536) the bomb stops, so a proxy that
  inflates it whole cannot exhaust the machine.

Peak RSS is sampled every 100 ms from ``/proc`` (the process and its children). Loopback only;
every loop is bounded in time and count; every process it starts is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import HOST, Paced, Processes, free_port, log, paced_load, process_tree_rss_mib, read_answer, wait_ready

CLOCK = "2025-03-01T00:00:00Z"
DEMO_ENTITY = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
QUOTE = "6d1f2e3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"
BOMB_QUOTE = "0bad0bad-0bad-4bad-8bad-0bad0bad0bad"
NORMAL_PATH = f"/api/sales/quotes/{QUOTE}?entityId={DEMO_ENTITY}"
BOMB_PATH = f"/api/sales/quotes/{BOMB_QUOTE}?entityId={DEMO_ENTITY}"
SERVER_CPU, LOAD_CPU = 0, 1
NORMAL_CONNECTIONS = 8
TRICKLE_SECONDS = 2.0
FLOOD_CLIENTS, FLOOD_HEADER = 8, 8 * 1024 * 1024
BOMB_CLIENTS, BOMB_INFLATED = 2, 512 * 1024 * 1024
TIMEOUT = 10.0


@dataclass
class Row:
    case: str
    server: str
    normal: Paced
    seconds: float
    peak_mib: float
    before_mib: float
    after_mib: float
    attack: str


async def _connect(
    port: int, stats: Counter[str], failure: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection to ``port``, or None (counted as ``failure``, after a pause) when none is made."""
    try:
        return await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
    except (TimeoutError, OSError):
        stats[failure] += 1
        await asyncio.sleep(0.2)
        return None


async def sample_rss(pid: int, deadline: float, peak: list[float], guard: Callable[[float], None] | None) -> None:
    """The highest RSS of ``pid``'s process tree until ``deadline`` (every 100 ms) into ``peak[0]``."""
    while time.perf_counter() < deadline:
        rss = process_tree_rss_mib(pid)
        peak[0] = max(peak[0], rss)
        if guard is not None:
            guard(rss)
        await asyncio.sleep(0.1)


async def slowloris(port: int, connections: int, deadline: float, stats: Counter[str]) -> None:
    """``connections`` half-open requests, each trickling a header line every TRICKLE_SECONDS, reopened
    when the server closes them; at most 100 openings per connection."""
    head = f"GET /api/sales/quotes?entityId={DEMO_ENTITY} HTTP/1.1\r\nHost: {HOST}\r\n".encode()

    async def one() -> None:
        for _attempt in range(100):
            if time.perf_counter() >= deadline:
                return
            stream = await _connect(port, stats, "failed_connects")
            if stream is None:
                continue
            reader, writer = stream
            stats["opened"] += 1
            stats["open_now"] += 1
            stats["most_open"] = max(stats["most_open"], stats["open_now"])
            try:
                writer.write(head)
                while (left := deadline - time.perf_counter()) > 0:
                    try:
                        data = await asyncio.wait_for(reader.read(4096), min(TRICKLE_SECONDS, left))
                    except TimeoutError:
                        writer.write(b"X-Slow: 1\r\n")
                        continue
                    if data.startswith(b"HTTP/1.1 408 "):
                        stats["answered_408"] += 1
                    else:
                        stats["closed"] += 1
                    break
            except OSError:
                stats["closed"] += 1
            finally:
                stats["open_now"] -= 1
                writer.close()

    await asyncio.gather(*(one() for _ in range(connections)))


async def header_flood(port: int, deadline: float, stats: Counter[str]) -> None:
    """FLOOD_CLIENTS clients sending unauthenticated requests with an 8 MiB header, 64 KiB at a time,
    until the server answers or closes; at most 100,000 requests in all."""
    chunk = b"a" * 65536
    head = f"GET /api/sales/quotes?entityId={DEMO_ENTITY} HTTP/1.1\r\nHost: {HOST}\r\nX-Flood: ".encode()

    async def one() -> None:
        while time.perf_counter() < deadline and stats["sent"] < 100_000:
            stats["sent"] += 1
            stream = await _connect(port, stats, "reset")
            if stream is None:
                continue
            reader, writer = stream
            answer = asyncio.ensure_future(reader.read(64))  # the server may answer before the head is sent
            try:
                writer.write(head)
                for _ in range(FLOOD_HEADER // len(chunk)):
                    if answer.done():
                        break
                    writer.write(chunk)
                    await asyncio.wait_for(writer.drain(), TIMEOUT)
                    stats["bytes_sent"] += len(chunk)
                else:
                    writer.write(b"\r\n\r\n")
                if (await asyncio.wait_for(answer, TIMEOUT)).startswith(b"HTTP/1.1 431 "):
                    stats["answered_431"] += 1
                else:
                    stats["reset"] += 1
            except (TimeoutError, OSError):
                stats["reset"] += 1
            finally:
                if not answer.done():
                    answer.cancel()
                with contextlib.suppress(BaseException):
                    await answer
                writer.close()

    await asyncio.gather(*(one() for _ in range(FLOOD_CLIENTS)))


def gzip_bomb(size: int) -> bytes:
    """gzip of ``size`` bytes of JSON whitespace and ``{}`` (about a thousandth of the size)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    parts.append(packer.compress(b"{}"))
    parts.append(packer.flush())
    return b"".join(parts)


async def bomb_upstream(canned: bytes, bomb: bytes) -> asyncio.Server:
    """An HTTP/1.1 upstream on a free port: the gzip bomb for BOMB_QUOTE, ``canned`` for anything else."""
    plain = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(canned)).encode()
        + b"\r\n\r\n"
        + canned
    )
    bombed = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: "
        + str(len(bomb)).encode()
        + b"\r\n\r\n"
        + bomb
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(1_000_000):  # keep-alive, bounded
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await asyncio.wait_for(reader.readexactly(length), 60)
                writer.write(bombed if BOMB_QUOTE.encode() in head.split(b"\r\n", 1)[0] else plain)
                await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:  # the upstream closes with the case
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, HOST, 0, limit=65536)


@dataclass
class Bomb:
    asked: int = 0
    answers: dict[int, int] = field(default_factory=dict)
    failed: int = 0
    stopped_by_guard: bool = False


async def bomb_clients(port: int, deadline: float, stats: Bomb) -> None:
    """BOMB_CLIENTS clients asking for the bomb through the proxy, one after another; at most 1,000 in all."""
    request = f"GET {BOMB_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {DEMO_KEY}\r\n\r\n".encode()

    async def one() -> None:
        while time.perf_counter() < deadline and stats.asked < 1000 and not stats.stopped_by_guard:
            stats.asked += 1
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), TIMEOUT)
                try:
                    writer.write(request)
                    status, _body = await asyncio.wait_for(read_answer(reader), 60)
                    stats.answers[status] = stats.answers.get(status, 0) + 1
                finally:
                    writer.close()
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                stats.failed += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one() for _ in range(BOMB_CLIENTS)))


async def measure(
    pid: int,
    port: int,
    seconds: float,
    rate: float,
    attack: Callable[[float], Awaitable[None]] | None,
    guard: Callable[[float], None] | None = None,
) -> tuple[Paced, float]:
    """The normal load for ``seconds`` beside ``attack(deadline)``; (what it saw, the peak RSS of ``pid``)."""
    normal, peak = Paced(), [process_tree_rss_mib(pid)]
    deadline = time.perf_counter() + seconds + 0.2
    request = f"GET {NORMAL_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {DEMO_KEY}\r\n\r\n"
    tasks: list[Awaitable[None]] = [paced_load(port, request.encode(), seconds, rate, NORMAL_CONNECTIONS, normal)]
    tasks.append(sample_rss(pid, deadline, peak, guard))
    if attack is not None:
        tasks.append(attack(deadline))
    await asyncio.gather(*tasks)
    return normal, peak[0]


def _raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per attack (default 30)")
    parser.add_argument("--connections", type=int, default=1000, help="slowloris connections (default 1000)")
    parser.add_argument("--rate", type=float, default=200.0, help="normal requests/s in total (default 200)")
    parser.add_argument("--rss-guard", type=float, default=1536.0, help="proxy RSS (MiB) that stops the bomb")
    parser.add_argument("--quick", action="store_true", help="8-second attacks, 300 slowloris connections")
    parser.add_argument("--only", default="slowloris,flood,bomb", help="comma-separated cases (default: all)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.connections = 8.0, 300
    cases = set(args.only.split(","))
    if not 1 <= args.connections <= 5000 or not 1 <= args.seconds <= 600 or not 1 <= args.rate <= 5000:
        parser.error("--connections in 1..5000, --seconds in 1..600, --rate in 1..5000")
    _raise_file_limit(args.connections + 1024)
    quiet_seconds = min(5.0, args.seconds)
    rows: list[Row] = []
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {LOAD_CPU})
    with tempfile.TemporaryDirectory(prefix="bench-adversarial-") as tmp:
        procs = Processes(Path(tmp), pin=True)
        try:
            mock_port = free_port()
            mock_argv = [sys.executable, "-m", "mock_server.cli", "serve", "--host", HOST, "--port", str(mock_port)]
            mock = procs.start("mock", [*mock_argv, "--clock", CLOCK, "--log-level", "error"], cpu=SERVER_CPU)
            wait_ready(mock_port, NORMAL_PATH, DEMO_KEY, mock)
            pid = mock.pid

            def run_case(case: str, attack: Callable[[float], Awaitable[None]] | None, seconds: float) -> Paced:
                log(f"mock, {case}: {seconds:.0f} s at {args.rate:.0f} normal requests/s")
                before = process_tree_rss_mib(pid)
                normal, peak = asyncio.run(measure(pid, mock_port, seconds, args.rate, attack))
                time.sleep(1.0)
                rows.append(Row(case, "mock", normal, seconds, peak, before, process_tree_rss_mib(pid), ""))
                return normal

            run_case("quiet", None, quiet_seconds)
            if "slowloris" in cases:
                loris: Counter[str] = Counter()
                run_case(
                    f"slowloris, {args.connections} connections",
                    _bind(slowloris, mock_port, args.connections, loris),
                    args.seconds,
                )
                rows[-1].attack = (
                    f"{loris['opened']} opened (at most {loris['most_open']} at once), "
                    f"{loris['answered_408']} answered 408, {loris['closed']} closed without answer, "
                    f"{loris['failed_connects']} connects failed"
                )
            if "flood" in cases:
                flood: Counter[str] = Counter()
                run_case("header flood, 8 MiB headers", _bind(header_flood, mock_port, flood), args.seconds)
                rows[-1].attack = (
                    f"{flood['sent']} requests, {flood['answered_431']} answered 431, {flood['reset']} reset/closed, "
                    f"{flood['bytes_sent'] / 2**20:.0f} MiB of headers written in all"
                )
            if "bomb" in cases:
                rows.extend(_bomb_case(procs, mock_port, args, quiet_seconds))
        finally:
            procs.stop_all()
    _print(rows, args)
    return 0


def _bind(attack: Callable[..., Awaitable[None]], *leading: object) -> Callable[[float], Awaitable[None]]:
    """``attack(*leading, deadline, stats)`` as a function of the deadline (the stats object is last in ``leading``)."""
    *first, stats = leading

    def start(deadline: float) -> Awaitable[None]:
        return attack(*first, deadline, stats)

    return start


def _bomb_case(procs: Processes, mock_port: int, args: argparse.Namespace, quiet_seconds: float) -> list[Row]:
    """The proxy in front of the bomb upstream: quiet, then with the bomb clients."""
    import http.client

    conn = http.client.HTTPConnection(HOST, mock_port, timeout=TIMEOUT)
    try:
        conn.request("GET", NORMAL_PATH, headers={"Authorization": f"Bearer {DEMO_KEY}"})
        canned = conn.getresponse().read()
    finally:
        conn.close()
    log(f"building a gzip bomb of {BOMB_INFLATED // 2**20} MiB ...")
    bomb = gzip_bomb(BOMB_INFLATED)
    rows: list[Row] = []

    async def run() -> None:
        upstream = await bomb_upstream(canned, bomb)
        up_port = upstream.sockets[0].getsockname()[1]
        proxy_port = free_port()
        proxy_argv = [sys.executable, "-m", "contract_tests.cli", "proxy", "--upstream", f"http://{HOST}:{up_port}"]
        proxy = procs.start("proxy", [*proxy_argv, "--host", HOST, "--port", str(proxy_port)], cpu=SERVER_CPU)
        try:
            await asyncio.to_thread(wait_ready, proxy_port, NORMAL_PATH, DEMO_KEY, proxy)
            for case, seconds in (
                ("quiet, through the proxy", quiet_seconds),
                ("gzip bomb through the proxy", args.seconds),
            ):
                stats = Bomb()

                def guard(rss: float, stats: Bomb = stats) -> None:
                    if rss > args.rss_guard and not stats.stopped_by_guard:
                        stats.stopped_by_guard = True
                        log(f"proxy RSS {rss:.0f} MiB is past the {args.rss_guard:.0f} MiB guard: the bomb stops")

                attack = _bind(bomb_clients, proxy_port, stats) if "bomb" in case else None
                log(f"proxy, {case}: {seconds:.0f} s at {args.rate:.0f} normal requests/s")
                before = process_tree_rss_mib(proxy.pid)
                normal, peak = await measure(proxy.pid, proxy_port, seconds, args.rate, attack, guard)
                await asyncio.sleep(1.0)
                row = Row(case, "proxy", normal, seconds, peak, before, process_tree_rss_mib(proxy.pid), "")
                if attack is not None:
                    answers = ", ".join(f"{n} x {status}" for status, n in sorted(stats.answers.items())) or "none"
                    row.attack = (
                        f"{stats.asked} bombs asked ({len(bomb) // 1024} KiB, {BOMB_INFLATED // 2**20} MiB inflated), "
                        f"answers: {answers}, {stats.failed} failed"
                        + (f"; stopped at the {args.rss_guard:.0f} MiB guard" if stats.stopped_by_guard else "")
                    )
                rows.append(row)
        finally:
            procs.stop(proxy)
            upstream.close()
            await upstream.wait_closed()

    asyncio.run(run())
    return rows


def _print(rows: list[Row], args: argparse.Namespace) -> None:
    print(f"\nAdversarial load: normal load {args.rate:.0f} getQuote requests/s over {NORMAL_CONNECTIONS} keep-alive")
    print(
        f"connections (this process, CPU {LOAD_CPU}); the server on CPU {SERVER_CPU}; attacks of {args.seconds:.0f} s"
    )
    print(f"machine load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
    print("| case | server | normal requests | p50 ms | p99 ms | errors | peak RSS MiB | RSS before / after MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        n = row.normal
        print(
            f"| {row.case} | {row.server} | {len(n.latencies)} | {n.pick(0.5):.2f} | {n.pick(0.99):.2f} | {n.errors} "
            f"| {row.peak_mib:.0f} | {row.before_mib:.0f} / {row.after_mib:.0f} |"
        )
    for row in rows:
        if row.attack:
            print(f"- {row.case}: {row.attack}")


if __name__ == "__main__":
    sys.exit(main())
