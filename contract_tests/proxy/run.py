"""``sales-contract proxy``: options, start-up checks, serving until Ctrl-C/SIGTERM, reports on exit.

The upstream is named like every command's target: ``--target URL`` (alias ``--upstream``), else
``$SALES_API_BASE_URL``, else ``mock``: a local ``sales-mock serve`` the proxy starts on a free
loopback port and stops when it stops.

Exit codes (the same as ``sales-contract check``): 0 stopped cleanly (or violations without
``--fail-on-violation``), 1 violations found with ``--fail-on-violation``, 2 usage error or an
upstream that does not answer at start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import httpx

from contract_tests import cli_common, interrupts
from contract_tests.cli_common import EXIT_OK, EXIT_VIOLATION, Command
from contract_tests.process import free_port, sales_mock_command, serve
from contract_tests.proxy.record import Recorder
from contract_tests.proxy.report import write_html, write_junit
from contract_tests.proxy.server import ProxyApp
from contract_tests.proxy.spec import Contract
from contract_tests.proxy.violations import Findings
from contract_tests.target import ENV_VARS, UsageError, spec_path

if TYPE_CHECKING:
    import uvicorn


def configure(proxy: argparse.ArgumentParser) -> None:
    """The proxy's options; ``--target``, ``--timeout`` and ``--junit-xml`` are the shared names
    (``cli_common``) of ``--upstream``, ``--upstream-timeout`` and ``--junit``."""
    proxy.add_argument(
        "--upstream",
        "--target",
        dest="upstream",
        default=None,
        metavar="URL|mock",
        help=(
            "the server to check, e.g. https://staging.example.com, or 'mock' (a local mock the proxy "
            f"starts) (default: ${ENV_VARS['base_url']}, else mock)"
        ),
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on")
    proxy.add_argument("--port", type=int, default=4011, help="port to listen on; 0 picks a free one")
    proxy.add_argument(
        "--upstream-timeout",
        "--timeout",
        dest="upstream_timeout",
        type=cli_common.parse_duration,
        default=30.0,
        metavar="DURATION",
        help="time the upstream has for a whole answer (504 before it starts, an abort after), e.g. 30s (default: 30s)",
    )
    proxy.add_argument(
        "--junit", "--junit-xml", dest="junit", default=None, metavar="PATH", help="write a JUnit XML report on exit"
    )
    proxy.add_argument(
        "--report", default=None, metavar="PATH.html", help="write a self-contained HTML report here on exit"
    )
    proxy.add_argument(
        "--record", default=None, metavar="PATH.yaml", help="write the resources seen as a fixtures file on exit"
    )
    proxy.add_argument("--fail-on-violation", action="store_true", help="exit 1 when any violation was found")


def _validate(args: argparse.Namespace) -> None:
    args.upstream = (args.upstream or os.environ.get(ENV_VARS["base_url"]) or "mock").strip()
    if args.upstream != "mock" and not args.upstream.startswith(("http://", "https://")):
        raise UsageError(f"--target must be an http(s) URL or 'mock', got {args.upstream!r}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    if not 0 < args.upstream_timeout <= 3600:
        raise UsageError(f"--upstream-timeout must be in (0, 3600] seconds, got {args.upstream_timeout}")
    for option in ("junit", "report", "record"):
        value = getattr(args, option)
        if value is not None and (not value or Path(value).is_dir()):
            raise UsageError(f"--{option} must be a file path, got {value!r}")


def _probe(upstream: str, timeout: float) -> None:
    """Any HTTP answer means the upstream is there; no answer at start is a usage error (exit 2)."""
    try:
        httpx.get(upstream.rstrip("/") + "/", timeout=min(timeout, 10.0))
    except httpx.HTTPError as error:
        raise UsageError(f"the upstream {upstream} does not answer: {type(error).__name__}: {error}") from None


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: accepted connections inherit it, and asyncio sets TCP_NODELAY only on
    # sockets that say they are TCP. Without it, a keep-alive answer written as head + body waits
    # for the client's delayed ACK (~40 ms per request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_proxy(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as resources:
        try:
            _validate(args)
            contract = Contract(spec_path())
            if args.upstream == "mock":
                args.upstream = _start_mock(resources)
            _probe(args.upstream, args.upstream_timeout)
            sock = _listen(args.host, args.port)
        except (UsageError, ValueError) as error:
            # the JUnit file asked for names the problem, as for every command's exit 2
            junit = args.junit if args.junit and not Path(args.junit).is_dir() else None
            args.junit_xml = junit
            return cli_common.usage_failure(args, str(error))
        return _proxy(args, contract, sock)


def _start_mock(resources: contextlib.ExitStack) -> str:
    """``--target mock``: ``sales-mock serve`` (demo fixtures, the suite's frozen clock) on a free
    loopback port until the proxy stops; its base URL."""
    port = free_port()
    try:
        url = resources.enter_context(serve(sales_mock_command(port), port))
    except (OSError, RuntimeError) as error:
        raise UsageError(f"could not start a local mock (sales-mock serve): {error}") from None
    print(f"sales-contract proxy: started a local mock at {url} (demo fixtures)", file=sys.stderr, flush=True)
    return url


def _proxy(args: argparse.Namespace, contract: Contract, sock: socket.socket) -> int:
    findings, recorder = Findings(), Recorder() if args.record else None
    app = ProxyApp(args.upstream, contract, timeout=args.upstream_timeout, findings=findings, recorder=recorder)
    started = time.monotonic()
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"sales-contract proxy: http://{shown}:{port} -> {app.upstream} "
        f"(violations: GET http://{shown}:{port}/__proxy/violations; Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    stopped_by: list[int] = []

    def remember(sig: int, _frame: FrameType | None) -> None:
        stopped_by.append(sig)  # uvicorn re-raises the signal that stopped it; it must not kill the reports

    try:
        with interrupts.handling({signal.SIGINT: remember, signal.SIGTERM: remember}):
            _serve(app, sock)
    finally:
        sock.close()
        _write_outputs(args, findings, recorder, app.upstream, time.monotonic() - started)
    snapshot = findings.snapshot()
    print(
        f"sales-contract proxy: {snapshot['exchanges']} exchanges, {snapshot['violations']} violating; "
        f"upstream refused {snapshot['upstreamRefused']}, timed out {snapshot['upstreamTimeouts']}, "
        f"failed mid-answer {snapshot['upstreamAborted']}",
        file=sys.stderr,
    )
    return EXIT_VIOLATION if args.fail_on_violation and snapshot["violations"] else EXIT_OK


MAX_REQUEST_HEAD = 256 * 1024
"""What the HTTP layer buffers of an incomplete request head (its default is 16 KiB): room for the
app to answer 431 ``{"error"}`` above its own, smaller limits (``upstream.MAX_HEADER_BYTES``); only a
head that arrives beyond this one can get the HTTP layer's plain-text 400."""


def http_server(app: ProxyApp) -> uvicorn.Server:
    """The HTTP server the command runs ``app`` in."""
    import uvicorn

    config = uvicorn.Config(
        app,
        http="h11",  # h11 passes any method name; httptools refuses the ones it does not know
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
        date_header=False,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )
    return uvicorn.Server(config)


def _serve(app: ProxyApp, sock: socket.socket) -> None:
    asyncio.run(http_server(app).serve(sockets=[sock]))


def _write_outputs(
    args: argparse.Namespace, findings: Findings, recorder: Recorder | None, upstream: str, seconds: float
) -> None:
    snapshot = findings.snapshot()
    for option, write in (("junit", write_junit), ("report", write_html)):
        target = getattr(args, option)
        if target:
            try:
                write(Path(target), snapshot, upstream, seconds)
                print(f"sales-contract proxy: wrote {target}", file=sys.stderr)
            except OSError as error:
                print(f"sales-contract proxy: cannot write {target}: {error.strerror}", file=sys.stderr)
    if recorder is not None and args.record:
        try:
            recorder.write(Path(args.record))
            print(f"sales-contract proxy: recorded fixtures to {args.record}", file=sys.stderr)
        except OSError as error:
            print(f"sales-contract proxy: cannot write {args.record}: {error.strerror}", file=sys.stderr)


COMMAND = Command(
    "proxy",
    "a validating, recording proxy in front of a live server",
    configure,
    run_proxy,
    target=False,
    junit=False,
    environment={
        ENV_VARS["base_url"]: "default --target (else: mock, a local mock the proxy starts)",
        "SALES_API_SPEC": cli_common.ENVIRONMENT["SALES_API_SPEC"],
    },
    exit_codes={
        cli_common.EXIT_OK: "no violation (or violations without --fail-on-violation)",
        cli_common.EXIT_VIOLATION: "a violation was found, with --fail-on-violation",
        cli_common.EXIT_USAGE: "usage problem, or the upstream did not answer at start",
    },
)
