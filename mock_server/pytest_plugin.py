"""pytest plugin ``sales_mock`` (entry point ``pytest11``): the mock in your own test suite.

Fixtures:

- ``sales_mock_config`` (session): the ``MockConfig`` used by the two below; override it to change it.
- ``sales_mock_app`` (session): the mock as an in-process ASGI app (use it with ``httpx.ASGITransport``
  or ``starlette.testclient.TestClient``).
- ``sales_mock_server`` (session): a real server on a free loopback port; ``.url``, ``.admin_url``.
- ``sales_entity``: a fresh, isolated entity per test, made through the admin API on
  ``sales_mock_server`` and deleted afterwards: ``.id``, ``.read_write_key``, ``.read_only_key``,
  ``.headers()``. Options with ``@pytest.mark.sales_entity(fixtures="demo", clock="2025-03-01T00:00:00Z")``.
- ``sales_clock``: that entity's clock: ``.now()``, ``.advance(days=..., months=...)``, ``.advance_to(instant)``.

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
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mock_server.config import MockConfig

ENTITY_MARKER = "sales_entity"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sales_entity`` marker."""
    config.addinivalue_line(
        "markers",
        f"{ENTITY_MARKER}(fixtures='empty', clock=None, name=None, baseCurrency=None): "
        "options for the sales_entity fixture (sales_mock plugin)",
    )


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


@dataclass
class SalesClock:
    """The clock of one entity, driven through the admin API. Instants are RFC 3339 strings."""

    entity: SalesEntity

    def now(self) -> str:
        """The entity's current instant."""
        return str(self.entity.server.admin("GET", f"/entities/{self.entity.id}/clock")["now"])

    def advance(self, *, days: int = 0, months: int = 0) -> str:
        """Move forward by calendar ``months`` then ``days``; the new instant."""
        answer = self.entity.server.admin(
            "POST", f"/entities/{self.entity.id}/clock/advance", {"days": days, "months": months}
        )
        return str(answer["now"])

    def advance_to(self, instant: str) -> str:
        """Move forward to ``instant`` (going back is an error); the new instant."""
        answer = self.entity.server.admin("POST", f"/entities/{self.entity.id}/clock/advance", {"to": instant})
        return str(answer["now"])


@pytest.fixture(scope="session")
def sales_mock_config() -> MockConfig:
    """The configuration of ``sales_mock_app`` and ``sales_mock_server`` (demo fixtures, real time)."""
    from mock_server.config import MockConfig

    return MockConfig(host="127.0.0.1", port=0, log_level="warning")


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

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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
    marker = request.node.get_closest_marker(ENTITY_MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
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
def sales_clock(sales_entity: SalesEntity) -> SalesClock:
    """The clock of ``sales_entity``."""
    return SalesClock(sales_entity)
