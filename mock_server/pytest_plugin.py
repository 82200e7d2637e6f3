"""pytest plugin ``sales_mock`` (entry point ``pytest11``): the mock in your own test suite.

Fixtures:

- ``sales_mock_config`` (session): the ``MockConfig`` used by the two below; override it to change it.
- ``sales_mock_app`` (session): the mock as an in-process ASGI app (use it with ``httpx.ASGITransport``
  or ``starlette.testclient.TestClient``).
- ``sales_mock_server`` (session): a real server on a free loopback port; ``.url``, ``.admin_url``.
- ``sales_entity``: a fresh, isolated entity per test, made through the admin API on
  ``sales_mock_server`` and deleted afterwards: ``.id``, ``.read_write_key``, ``.read_only_key``,
  ``.headers()``. It starts **empty** (the ``empty`` fixtures: no customers, plans or quotes) unless
  marked: ``@pytest.mark.sales_entity(fixtures="demo", clock="2025-03-01T00:00:00Z")``.
  Verification and stubs: ``.requests(method=, path=, ...)`` (journaled requests of the entity, newest
  first), ``.assert_called(method=, path=, ..., times=)`` (fails with the closest requests and what
  differed) and ``.stub(method, path, status=, json=, ...)`` (a canned answer for this entity).
- ``sales_demo_entity``: the same, starting from the demo fixtures (customers, plans, quotes, orders,
  subscriptions and invoices); the ``sales_entity`` marker's options apply to it too.
- ``sales_clock``: the clock of the test's ``sales_demo_entity``, else of its ``sales_entity``:
  ``.now()``, ``.advance(days=..., months=...)``, ``.advance_to(instant)``.

Your own contract or seed data: ``--sales-mock-spec PATH`` and ``--sales-mock-fixtures NAME|PATH``
on the command line, or ``sales_mock_spec`` / ``sales_mock_fixtures`` in the ini file (paths there
are relative to the ini file). An unreadable file stops the run with one line (pytest's usage error).

Everything heavy is imported inside the fixtures, so loading the plugin costs nothing.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mock_server.config import MockConfig

ENTITY_MARKER = "sales_entity"
SPEC_OPTION = "sales_mock_spec"
FIXTURES_OPTION = "sales_mock_fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--sales-mock-spec`` / ``--sales-mock-fixtures`` and their ini twins."""
    group = parser.getgroup("sales_mock", "Sales API mock (sales_mock plugin)")
    group.addoption(
        "--sales-mock-spec", dest=SPEC_OPTION, default=None, metavar="PATH", help="OpenAPI file the mock serves"
    )
    group.addoption(
        "--sales-mock-fixtures", dest=FIXTURES_OPTION, default=None, metavar="NAME|PATH", help="demo, empty or a file"
    )
    parser.addini(SPEC_OPTION, "OpenAPI file the sales mock serves (default: the packaged spec)", default="")
    parser.addini(FIXTURES_OPTION, "sales mock fixtures: demo (default), empty or a YAML/JSON file", default="")


_NO_BODY: Any = object()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sales_entity`` marker; check the spec and fixture options."""
    config.addinivalue_line(
        "markers",
        f"{ENTITY_MARKER}(fixtures='empty', clock=None, name=None, baseCurrency=None): "
        "options for the sales_entity and sales_demo_entity fixtures (sales_mock plugin)",
    )
    chosen_files(config)


def chosen_files(config: pytest.Config) -> tuple[Path | None, str | None]:
    """(spec path, fixtures name or path) chosen by option or ini; pytest.UsageError if unreadable."""
    from mock_server import resources

    chosen: list[str | None] = []
    for option in (SPEC_OPTION, FIXTURES_OPTION):
        value = config.getoption(option, default=None)
        raw = str(config.getini(option) or "")
        if not value and raw:
            base = config.inipath.parent if config.inipath else config.rootpath
            named = option == FIXTURES_OPTION and resources.is_fixture_name(raw)  # `demo`, not a file
            value = raw if named else str(Path(base, raw))
        chosen.append(str(value) if value else None)
    spec, fixtures = chosen
    try:
        spec_path = resources.user_file(spec, "spec (sales_mock_spec)") if spec else None
        if fixtures and resources.is_fixture_name(fixtures):
            resources.fixture_path(fixtures)
        elif fixtures:
            resources.user_file(fixtures, "fixture file (sales_mock_fixtures)")
    except resources.ResourceError as error:
        raise pytest.UsageError(f"sales_mock: {error}") from None
    return spec_path, fixtures


@dataclass
class SalesMockServer:
    """A running mock: ``url`` is ``http://127.0.0.1:PORT``."""

    url: str
    admin_token: str | None = None

    @property
    def admin_url(self) -> str:
        """The control plane's base URL."""
        return f"{self.url}/__admin"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call the admin API (``path`` below ``/__admin``); the decoded JSON answer, None for 204.

        Raises ``RuntimeError`` with the server's message for a 4xx/5xx answer.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.admin_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.admin_token:
            request.add_header("Authorization", f"Bearer {self.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            raise RuntimeError(f"admin {method} {path} answered {error.code}: {detail}") from None
        return json.loads(raw) if raw else None


@dataclass
class SalesEntity:
    """An isolated entity: its id, a read+write key and a read-only key, and its clock at creation."""

    id: str
    read_write_key: str
    read_only_key: str
    now: str
    server: SalesMockServer

    def headers(self, *, write: bool = True) -> dict[str, str]:
        """``Authorization`` headers with the read+write (default) or the read-only key."""
        key = self.read_write_key if write else self.read_only_key
        return {"Authorization": f"Bearer {key}"}

    def url(self, path: str) -> str:
        """A Sales API URL for this entity: ``url("/quotes")`` -> ``.../api/sales/quotes?entityId=...``."""
        separator = "&" if "?" in path else "?"
        return f"{self.server.url}/api/sales{path}{separator}entityId={self.id}"

    def _pattern(
        self,
        method: str | None,
        path: str | None,
        path_pattern: str | None,
        operation_id: str | None,
        body_patterns: list[dict[str, Any]] | None,
    ) -> dict[str, Any]:
        pattern: dict[str, Any] = {"entityId": self.id}
        if method is not None:
            pattern["method"] = method.upper()
        if path is not None:
            pattern["urlPath"] = _sales_path(path)
        if path_pattern is not None:
            pattern["urlPathPattern"] = path_pattern
        if operation_id is not None:
            pattern["operationId"] = operation_id
        if body_patterns is not None:
            pattern["bodyPatterns"] = body_patterns
        return pattern

    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        path_pattern: str | None = None,
        operation_id: str | None = None,
        body_patterns: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """This entity's journaled requests that match (newest first), each with its request and response
        headers and bodies. ``path`` is below ``/api/sales`` (``"/quotes"``) or the whole path."""
        pattern = self._pattern(method, path, path_pattern, operation_id, body_patterns)
        found: list[dict[str, Any]] = self.server.admin("POST", "/requests/find", pattern)["requests"]
        return found

    def assert_called(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        path_pattern: str | None = None,
        operation_id: str | None = None,
        body_patterns: list[dict[str, Any]] | None = None,
        times: int | None = None,
    ) -> list[dict[str, Any]]:
        """The matching requests; an ``AssertionError`` when there are none (or not exactly ``times``),
        naming the closest requests the mock received and what differed."""
        pattern = self._pattern(method, path, path_pattern, operation_id, body_patterns)
        answer = self.server.admin("POST", "/requests/find", {**pattern, "limit": 10_000})
        found: list[dict[str, Any]] = answer["requests"]
        if found and (times is None or len(found) == times):
            return found
        wanted = json.dumps({k: v for k, v in pattern.items() if k != "entityId"})
        if found:
            raise AssertionError(f"expected {times} request(s) matching {wanted}, the mock received {len(found)}")
        lines = [f"no request matching {wanted} reached the mock for entity {self.id}"]
        misses = answer.get("nearMisses", [])
        lines.append("closest requests:" if misses else "(the journal holds no request of this entity)")
        for miss in misses:
            request = miss["request"]
            lines.append(f"  {request['method']} {request['path']} -> {request['status']}")
            lines.extend(f"    {difference}" for difference in miss["differences"])
        raise AssertionError("\n".join(lines))

    def stub(
        self,
        method: str,
        path: str | None = None,
        *,
        path_pattern: str | None = None,
        operation_id: str | None = None,
        status: int = 200,
        json: Any = _NO_BODY,
        headers: dict[str, str] | None = None,
        times: int | None = None,
        priority: int | None = None,
        delay_ms: int | None = None,
        query: dict[str, dict[str, str]] | None = None,
        body_patterns: list[dict[str, Any]] | None = None,
        allow_invalid: bool = False,
    ) -> dict[str, Any]:
        """Make the mock answer this entity's matching requests with ``status`` and ``json`` (checked
        against the spec unless ``allow_invalid``); the created stub (its ``id``)."""
        request = self._pattern(method, path, path_pattern, operation_id, body_patterns)
        del request["entityId"]
        if query is not None:
            request["queryParameters"] = query
        response: dict[str, Any] = {"status": status}
        if json is not _NO_BODY:
            response["jsonBody"] = json
        if headers is not None:
            response["headers"] = headers
        if delay_ms is not None:
            response["fixedDelayMilliseconds"] = delay_ms
        definition: dict[str, Any] = {"request": request, "response": response}
        for name, value in (("times", times), ("priority", priority)):
            if value is not None:
                definition[name] = value
        if allow_invalid:
            definition["allowInvalid"] = True
        created: dict[str, Any] = self.server.admin("POST", f"/entities/{self.id}/stubs", definition)
        return created


def _sales_path(path: str) -> str:
    return path if path.startswith("/api/sales/") else "/api/sales" + path


@dataclass
class SalesClock:
    """The clock of one entity, driven through the admin API. Instants are RFC 3339 strings."""

    entity: SalesEntity

    def now(self) -> str:
        """The entity's current instant."""
        return self._call("GET", "")

    def advance(self, *, days: int = 0, months: int = 0) -> str:
        """Move forward by calendar ``months`` then ``days``; the new instant."""
        return self._call("POST", "/advance", {"days": days, "months": months})

    def advance_to(self, instant: str) -> str:
        """Move forward to ``instant`` (going back is an error); the new instant."""
        return self._call("POST", "/advance", {"to": instant})

    def _call(self, method: str, path: str, body: Any = None) -> str:
        """Call the entity's clock endpoint (``/clock`` + ``path``); the instant it answers."""
        return str(self.entity.server.admin(method, f"/entities/{self.entity.id}/clock{path}", body)["now"])


@pytest.fixture(scope="session")
def sales_mock_config(pytestconfig: pytest.Config) -> MockConfig:
    """The configuration of ``sales_mock_app`` and ``sales_mock_server``: real time, the demo fixtures
    and the packaged spec unless ``--sales-mock-fixtures`` / ``--sales-mock-spec`` (or the ini) say otherwise."""
    from mock_server.config import MockConfig

    config = MockConfig(host="127.0.0.1", port=0, log_level="warning")
    spec, fixtures = chosen_files(pytestconfig)
    if spec:
        config = replace(config, spec_path=spec)
    return replace(config, fixtures=fixtures) if fixtures else config


@pytest.fixture(scope="session")
def sales_mock_app(sales_mock_config: MockConfig) -> Starlette:
    """The mock as an in-process ASGI app (its own state, separate from ``sales_mock_server``)."""
    from mock_server.app import create_app

    return create_app(sales_mock_config)


@pytest.fixture(scope="session")
def sales_mock_server(sales_mock_config: MockConfig) -> Iterator[SalesMockServer]:
    """A real mock server on a free loopback port for the whole session."""
    yield from _serve(sales_mock_config)


def _serve(config: MockConfig) -> Iterator[SalesMockServer]:
    import uvicorn

    from mock_server.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY on accept
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, 0))
    port = int(sock.getsockname()[1])
    app = create_app(replace(config, port=port))
    server = uvicorn.Server(uvicorn.Config(app, log_level=config.log_level, ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sales-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sales mock server did not start")
        time.sleep(0.01)
    try:
        yield SalesMockServer(url=f"http://{config.host}:{port}", admin_token=config.admin_token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def sales_entity(request: pytest.FixtureRequest, sales_mock_server: SalesMockServer) -> Iterator[SalesEntity]:
    """A fresh isolated entity (empty fixtures unless marked), deleted after the test."""
    yield from _entity(request, sales_mock_server, "empty")


@pytest.fixture
def sales_demo_entity(request: pytest.FixtureRequest, sales_mock_server: SalesMockServer) -> Iterator[SalesEntity]:
    """A fresh isolated entity with the demo fixtures (the marker's other options apply), deleted after the test."""
    yield from _entity(request, sales_mock_server, "demo")


def _entity(request: pytest.FixtureRequest, sales_mock_server: SalesMockServer, fixtures: str) -> Iterator[SalesEntity]:
    marker = request.node.get_closest_marker(ENTITY_MARKER)
    options: dict[str, Any] = {"fixtures": fixtures, **(marker.kwargs if marker else {})}
    if "base_currency" in options:
        options["baseCurrency"] = options.pop("base_currency")
    created = sales_mock_server.admin("POST", "/entities", options)
    keys = created["apiKeys"]
    entity = SalesEntity(created["entityId"], keys["readWrite"], keys["readOnly"], created["now"], sales_mock_server)
    yield entity
    try:
        sales_mock_server.admin("DELETE", f"/entities/{entity.id}")
    except RuntimeError:
        pass  # the test deleted it (or reset the server) itself


@pytest.fixture
def sales_clock(request: pytest.FixtureRequest) -> SalesClock:
    """The clock of the test's ``sales_demo_entity``, else of its ``sales_entity``."""
    chosen = "sales_demo_entity" if "sales_demo_entity" in request.fixturenames else "sales_entity"
    entity: SalesEntity = request.getfixturevalue(chosen)
    return SalesClock(entity)
