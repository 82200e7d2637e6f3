"""``sales-mock serve``: run the stateful Sales API mock with uvicorn; ``sales-mock wait URL``: wait for it;
``sales-mock spec [--format yaml|json]``: print the packaged contract.

Exit codes of ``serve``: 0 after Ctrl-C (or SIGTERM), 2 for a bad option, spec, fixture, state or
stub file or an address it cannot listen on (the port is taken; one line on stderr), 1 when the
server cannot start otherwise or its last save to ``--state-file`` failed. ``wait``: 0 once the URL
answers, 1 after the timeout. ``--version`` prints the package version.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range 0..65535")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: a whole number in 1..1000000")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"invalid timeout {text!r}: seconds in 0.1..3600")
    return value


def _clock(text: str) -> str:
    if text == "now":
        return text
    from mock_server.clock import RANGE_TEXT, in_range
    from mock_server.domain.periods import parse_instant

    try:
        moment = parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid clock {text!r}: use 'now' or an instant like 2025-03-01T00:00:00Z"
        ) from None
    if not in_range(moment.replace(microsecond=0)):
        raise argparse.ArgumentTypeError(f"invalid clock {text!r}: an instant within {RANGE_TEXT}")
    return text


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``sales-mock`` argument parser."""
    from mock_server.resources import version

    parser = _Parser(prog="sales-mock", description="Stateful mock of the Axiomatic Sales API.")
    parser.add_argument("--version", action="version", version=f"sales-mock {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the mock over HTTP", description="Serve the mock over HTTP.")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=4010, help="port (default 4010; 0 picks a free one)")
    serve.add_argument(
        "--fixtures", default="demo", metavar="NAME|PATH", help="demo (default), empty, or a YAML/JSON fixture file"
    )
    serve.add_argument("--clock", type=_clock, default="now", metavar="now|INSTANT", help="real time or frozen")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="default info")
    serve.add_argument("--validate-responses", action="store_true", help="check every answer against the spec")
    serve.add_argument("--admin-token", default=None, help="token required by the /__admin API")
    serve.add_argument("--state-file", default=None, metavar="PATH", help="load state from / save state to a file")
    serve.add_argument(
        "--spec", default=None, metavar="PATH", help="your own OpenAPI file (default: the packaged openapi/sales.yaml)"
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another Host name the admin API answers (beyond loopback and --host); repeatable, * for any",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="an origin whose pages may use the session cookie, e.g. http://localhost:5173 or http://localhost:* "
        "(repeatable; default http://localhost:* and http://127.0.0.1:*)",
    )
    serve.add_argument(
        "--journal-size", type=_positive, default=1000, metavar="N", help="requests the journal keeps (default 1000)"
    )
    serve.add_argument(
        "--read-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="a connection's time for a request's headers, then for its body, before a 408 (default 10)",
    )
    serve.add_argument(
        "--stubs",
        default=None,
        metavar="DIR",
        help='load WireMock-style stub files (*.json: one stub or {"mappings": [...]}) from DIR at start',
    )
    from mock_server.wait import add_wait_parser

    add_wait_parser(commands)
    spec = commands.add_parser(
        "spec",
        help="print the packaged Sales API contract",
        description="Print the Sales API contract this package ships (for code generators and tools).",
    )
    spec.add_argument("--format", choices=("yaml", "json"), default="yaml", help="yaml (default, as written) or json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: parse options, build the app, serve until interrupted."""
    args = build_parser().parse_args(argv)
    if args.command == "wait":
        from mock_server.wait import run_wait

        return run_wait(args)
    if args.command == "spec":
        return print_spec(args.format)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    from mock_server.app import create_app
    from mock_server.config import MockConfig
    from mock_server.fixtures import FixtureError
    from mock_server.resources import ResourceError, fixture_path, is_fixture_name, user_file
    from mock_server.spec import SpecError

    settings: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "fixtures": args.fixtures,
        "clock": args.clock,
        "log_level": args.log_level,
        "validate_responses": args.validate_responses,
        "admin_token": args.admin_token,
        "state_file": args.state_file,
        "allowed_hosts": tuple(args.allowed_host),
        "journal_size": args.journal_size,
        "read_timeout": args.read_timeout,
        "stubs_dir": args.stubs,
    }
    if args.cors_origin is not None:
        from mock_server.origins import check_patterns

        bad = check_patterns(args.cors_origin)
        if bad:
            print(f"sales-mock: error: {bad[0]}", file=sys.stderr)
            return 2
        settings["cors_origins"] = tuple(args.cors_origin)
    gc.disable()  # start-up builds millions of long-lived objects: collections would only rescan them
    sockets: list[socket.socket] = []
    try:
        if args.spec:
            settings["spec_path"] = user_file(args.spec, "spec")
        if is_fixture_name(args.fixtures):
            fixture_path(args.fixtures)
        else:
            user_file(args.fixtures, "fixture file")
        sockets = listen(args.host, args.port)  # a taken port is found before anything is built
        config = MockConfig(**settings)
        app = create_app(config)
    except (FixtureError, ResourceError, SpecError, ValueError, ListenError) as error:
        for sock in sockets:
            sock.close()
        print(f"sales-mock: error: {_one_line(error)}", file=sys.stderr)
        return 2
    finally:
        tune_gc()
    return _serve(app, config, sockets)


class ListenError(Exception):
    """The address cannot be listened on (the port is taken, the name does not resolve, ...)."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to ``host:port``, one per address the name resolves to (as uvicorn would bind
    them; with port 0 all take the first one's port). ``ListenError`` when one cannot be bound."""
    sockets: list[socket.socket] = []
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)  # IPPROTO_TCP: asyncio sets TCP_NODELAY on accept
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
    except OSError as error:
        for sock in sockets:
            sock.close()
        where = f"[{host}]" if ":" in host else host
        busy = error.errno == errno.EADDRINUSE
        hint = " (another server uses it: stop it or pick another --port; --port 0 picks a free one)" if busy else ""
        raise ListenError(f"cannot listen on {where}:{port}: {error.strerror or error}{hint}") from None
    return sockets


def print_spec(form: str) -> int:
    """``sales-mock spec``: the packaged ``openapi/sales.yaml`` on stdout, as written or as JSON (the
    document ``/openapi.json`` serves, indented)."""
    from mock_server.resources import ResourceError, spec_path

    try:
        text = spec_path().read_text(encoding="utf-8")
    except (OSError, ResourceError) as error:
        print(f"sales-mock: error: {_one_line(error)}", file=sys.stderr)
        return 2
    if form == "json":
        import orjson
        import yaml

        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `sales-mock spec | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _serve(app: Any, config: Any, sockets: list[socket.socket]) -> int:
    import importlib.util

    import uvicorn

    from mock_server.http_protocol import ConnectionLimits, protocol_class

    files = raise_file_limit()
    waiting = ConnectionLimits.waiting if files is None else max(16, min(ConnectionLimits.waiting, files - 64))
    limits = ConnectionLimits(read_timeout=config.read_timeout, waiting=waiting)
    debug = config.log_level == "debug"
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level="debug" if debug else "warning",
        access_log=debug,
        http=protocol_class(limits),
        h11_max_incomplete_event_size=limits.header_bytes,  # the h11 fallback's bound on a request's head
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        lifespan="on",
        server_header=False,
        proxy_headers=False,  # nothing in the mock reads the client address; X-Forwarded-* is not trusted
    )
    server = _Server(uv_config, config)
    server.run(sockets)
    keeper = app.state.runtime.control.keeper
    if keeper is not None and keeper.final_save_failed:  # the reason is on stderr already
        return 1
    return 0 if server.started else 1


def raise_file_limit() -> int | None:
    """Raise the soft limit on open files to the hard one (each connection is a file); the limit now in
    force, or None where there is none to read (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    target = max(soft, 65536) if hard == resource.RLIM_INFINITY else hard
    if soft < target:
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def tune_gc() -> None:
    """Keep full garbage collections off the request path. The store is a large, long-lived heap of
    acyclic dicts that CPython's default thresholds rescan again and again as it grows (pauses of
    30-80 ms at 20,000-40,000 created quotes): freeze what start-up built and collect the old
    generations far less often. Young cyclic garbage is still collected every 10,000 allocations.
    Turns collection back on (``main`` turns it off while the app and its state are built)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 1_000)
    gc.enable()


def _startup_line(config: Any, port: int) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"http://{host}:{port}"
    return f"sales-mock: Sales API mock on {url} (fixtures {config.fixtures}, clock {config.clock}); docs at {url}/docs"


class _Server:
    """A uvicorn server that prints one line with the URL once it listens."""

    def __init__(self, uv_config: Any, config: Any) -> None:
        import uvicorn

        outer = self

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                if self.started:
                    outer.started = True
                    print(_startup_line(config, _bound_port(self, config.port)), flush=True)

        self.started = False
        self._server = Server(uv_config)

    def run(self, sockets: list[socket.socket]) -> None:
        # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the handler that
        # was installed before it: make that handler a clean exit (code 0), like Ctrl-C.
        previous = signal.signal(signal.SIGTERM, _exit_cleanly)
        try:
            self._server.run(sockets=sockets)
        except (KeyboardInterrupt, _Stopped):  # uvicorn normally handles SIGINT itself
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)


class _Stopped(Exception):
    """SIGTERM, re-raised by uvicorn once it has shut down (``main`` then works out the exit code)."""


def _exit_cleanly(_signum: int, _frame: Any) -> None:
    raise _Stopped


def _bound_port(server: Any, default: int) -> int:
    for listener in getattr(server, "servers", []) or []:
        for sock in getattr(listener, "sockets", []) or []:
            address = sock.getsockname()
            if isinstance(address, tuple) and len(address) >= 2:
                return int(address[1])
    return default


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
