"""Start a server as a separate process on 127.0.0.1, wait until it answers, stop it."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import AnyStr

import httpx

from contract_tests.target import MOCK_CLOCK


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sales_mock_command(port: int, clock: str = MOCK_CLOCK) -> list[str]:
    """``sales-mock serve`` from this interpreter's environment."""
    script = Path(sys.executable).with_name("sales-mock")
    exe = str(script) if script.exists() else (shutil.which("sales-mock") or "sales-mock")
    return [exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--clock", clock]


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll ``/__admin/health`` (then ``/openapi.json``) until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        for path in ("/__admin/health", "/openapi.json"):
            try:
                if httpx.get(base_url + path, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"{base_url} was not ready after {timeout:.0f}s")


@contextmanager
def serve(command: Sequence[str], port: int, *, log_path: Path | None = None) -> Iterator[str]:
    """Run ``command`` (which must listen on ``port``) and yield its base URL; stop it afterwards."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process)
        yield base_url
    finally:
        stop(process)
        if log_path:
            log.close()  # type: ignore[union-attr]


def stop(
    process: subprocess.Popen[AnyStr],
    *,
    sig: int = signal.SIGTERM,
    timeout: float = 10.0,
    hung_is_error: bool = False,
) -> subprocess.CompletedProcess[AnyStr]:
    """Send ``sig`` and wait ``timeout`` seconds for ``process`` to exit, reading what is left of its pipes;
    kill it if it is still running then (and re-raise the timeout when ``hung_is_error``).
    Its exit code and the rest of its output (None for a stream that is not a pipe)."""
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate(timeout=10)
        if hung_is_error:
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
