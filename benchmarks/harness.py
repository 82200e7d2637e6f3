"""Process control, local HTTP, load generation and installs for ``benchmarks/bench.py``.

Loopback only: every address is 127.0.0.1; every loop and wait is bounded in count or time.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA_DIR = ROOT / "benchmarks" / "lua"
PRISM_DIR = ROOT / ".cache" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
HOST = "127.0.0.1"
CONNECTIONS = 16
LOAD_CPU = 1


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes


def _unblock_signals() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


class Processes:
    """Every process the benchmark starts, each in its own session so its whole group can be stopped."""

    def __init__(self, log_dir: Path, pin: bool) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._log_dir = log_dir
        self._pin = pin

    def start(
        self, name: str, argv: list[str], *, cpu: int | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        if cpu is not None and self._pin:
            argv = ["taskset", "-c", str(cpu), *argv]
        out = (self._log_dir / f"{name}.log").open("ab")
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:  # no Ctrl-C between starting the process and remembering it
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **env} if env else None,
                preexec_fn=_unblock_signals,  # the child must not inherit the blocked mask
            )
            self._procs.append(proc)
        finally:
            out.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (a server saving a large state file needs longer)."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self._procs):
            self.stop(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def process_tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total_kib, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


# --------------------------------------------------------------------------- HTTP


class Client:
    """A keep-alive JSON client for one local server (every call has a timeout)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 120.0) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        auth = token or self.token
        if auth:
            headers["Authorization"] = f"Bearer {auth}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=data, headers=headers)
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        payload = json.loads(raw) if raw else None
        return response.status, payload

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        status, payload = self.request(method, path, body, token)
        if status >= 300:
            raise RuntimeError(f"{method} {path} -> {status}: {payload}")
        return payload

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def wait_ready(port: int, path: str, token: str, proc: subprocess.Popen[bytes], budget: float = 60.0) -> float:
    """Seconds from now until ``GET path`` answers 200 (polls every 5 ms; bounded by ``budget``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering")
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter() - start
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.005)
    raise RuntimeError(f"no 200 from {path} within {budget:.0f} s")


# --------------------------------------------------------------------------- load generation


@dataclass
class Load:
    """One load case: a wrk script plus its environment; ``requests`` is the same load for the Python generator."""

    script: str
    env: dict[str, str]
    requests: Callable[[int], tuple[str, str, bytes | None]]


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # status >= 400 plus socket errors
    max_ms: float = 0.0

    def cell(self) -> str:
        if not self.requests:
            return "0 | - | -"
        return f"{self.rps_text} | {self.p50_ms:.2f} | {self.p99_ms:.2f}"

    @property
    def rps_text(self) -> str:
        return f"{self.rps:,.0f}" if self.rps >= 10 else f"{self.rps:.2f}"


class LoadGenerator:
    """wrk when available (pinned to the load CPU), else a bounded asyncio generator in this process."""

    def __init__(self, pin: bool) -> None:
        self.wrk = shutil.which("wrk")
        self.pin = pin

    @property
    def name(self) -> str:
        return "wrk 4 (1 thread)" if self.wrk else "python asyncio fallback (much weaker than wrk)"

    def run(self, port: int, load: Load, seconds: float) -> LoadResult:
        if self.wrk:
            return self._run_wrk(port, load, seconds)
        return asyncio.run(_python_load(port, load, seconds))

    def _run_wrk(self, port: int, load: Load, seconds: float) -> LoadResult:
        assert self.wrk is not None
        argv = [self.wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
        argv += ["-s", str(LUA_DIR / load.script), f"http://{HOST}:{port}"]
        if self.pin:
            argv = ["taskset", "-c", str(LOAD_CPU), *argv]
        env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_HOST": f"{HOST}:{port}", **load.env}
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_JSON "):
                data = json.loads(line.removeprefix("BENCH_JSON "))
                duration = data["duration_us"] / 1e6
                return LoadResult(
                    rps=data["requests"] / duration if duration else 0.0,
                    p50_ms=data["p50_us"] / 1000,
                    p99_ms=data["p99_us"] / 1000,
                    requests=data["requests"],
                    failures=data["status_errors"] + data["socket_errors"],
                    max_ms=data["max_us"] / 1000,
                )
        raise RuntimeError(
            f"wrk printed no summary (exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}"
        )


async def _python_load(port: int, load: Load, seconds: float) -> LoadResult:
    """16 keep-alive connections, raw HTTP/1.1, until ``seconds`` pass (at most 2,000,000 requests)."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    failures = 0
    counter = iter(range(2_000_000))

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.perf_counter() < deadline:
                i = next(counter, None)
                if i is None:
                    return
                method, path, body = load.requests(i)
                head = (
                    f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {load.env['BENCH_TOKEN']}\r\n"
                )
                if body is not None:
                    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                started = time.perf_counter()
                writer.write(head.encode() + b"\r\n" + (body or b""))
                status_line = await asyncio.wait_for(reader.readline(), 5)
                length = 0
                while True:
                    line = await asyncio.wait_for(reader.readline(), 5)
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await asyncio.wait_for(reader.readexactly(length), 5)
                latencies.append(time.perf_counter() - started)
                if int(status_line.split()[1]) >= 400:
                    failures += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        return LoadResult(0.0, 0.0, 0.0, 0, failures)
    return LoadResult(
        rps=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        requests=len(latencies),
        failures=failures,
        max_ms=latencies[-1] * 1000,
    )


class Paced:
    """What a paced load saw: the latency of each answered request (seconds), and the failed ones."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0

    def pick(self, q: float) -> float:
        """The ``q`` quantile of the latencies, in ms (nan when nothing was answered)."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


async def read_answer(reader: asyncio.StreamReader, timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 answer with a Content-Length (every read bounded by ``timeout``)."""
    status_line = await asyncio.wait_for(reader.readline(), timeout)
    if not status_line:
        raise ConnectionResetError("closed before an answer")
    length = 0
    while (line := await asyncio.wait_for(reader.readline(), timeout)) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await asyncio.wait_for(reader.readexactly(length), timeout)
    return int(status_line.split()[1]), body


async def paced_load(port: int, request: bytes, seconds: float, rate: float, connections: int, result: Paced) -> None:
    """``request`` at ``rate`` requests/s in total over ``connections`` keep-alive connections (an open
    load, as a test suite or a frontend sends), for ``seconds``, into ``result``. A failed request (an
    error status, a reset, a timeout) is counted and its connection opened again."""
    interval = connections / rate
    start = time.perf_counter() + 0.1
    deadline = start + seconds

    async def connection(offset: float) -> None:
        stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for k in range(int(seconds / interval) + 1):
            due = start + offset + k * interval
            if due > deadline:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = time.perf_counter()
            try:
                if stream is None:
                    stream = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
                stream[1].write(request)
                status, _body = await read_answer(stream[0])
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                result.errors += 1
                if stream is not None:
                    stream[1].close()
                stream = None
                continue
            result.latencies.append(time.perf_counter() - sent)
            if status >= 400:
                result.errors += 1
        if stream is not None:
            stream[1].close()

    await asyncio.gather(*(connection(interval * n / connections) for n in range(connections)))


# --------------------------------------------------------------------------- installs


def ensure_wrk() -> str | None:
    """wrk on PATH, installing Debian's package when we are root. None (and a note) otherwise."""
    if shutil.which("wrk"):
        return None
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk from Debian (apt-get) ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(argv, env=env, capture_output=True, timeout=600, check=True)
    if shutil.which("wrk"):
        return None
    return "wrk could not be installed: the Python asyncio load generator was used, so figures are load-bound"


def ensure_prism() -> tuple[Path | None, str | None]:
    """The prism binary from ``.cache/prism`` (npm install on first use), or None and the reason."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary, None
    if not shutil.which("npm") or not shutil.which("node"):
        return None, "Node.js/npm not found: Prism was not measured"
    log(f"installing {PRISM_PACKAGE} into {PRISM_DIR.relative_to(ROOT)} (npm) ...")
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    argv = ["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--loglevel=error", PRISM_PACKAGE]
    try:
        subprocess.run(argv, capture_output=True, timeout=600, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"npm install {PRISM_PACKAGE} failed ({exc}): Prism was not measured"
    return (binary, None) if binary.exists() else (None, "Prism binary missing after npm install")
