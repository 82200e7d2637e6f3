"""The mock server's settings (``sales-mock serve`` options), as one dataclass."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mock_server.origins import DEFAULT_CORS_ORIGINS
from mock_server.packed import DEFAULT_LIVE_LIMIT

SPEC_ENV = "SALES_MOCK_SPEC"


def default_spec_path() -> Path:
    """``$SALES_MOCK_SPEC`` if set, else the packaged ``openapi/sales.yaml`` (see ``mock_server.resources``)."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override)
    from mock_server.resources import spec_path

    return spec_path()


@dataclass
class MockConfig:
    """Everything ``create_app`` needs.

    ``fixtures`` is a fixture name (``demo``, ``empty``) or a path to a YAML/JSON fixture file;
    ``clock`` is ``"now"`` (real time) or an RFC 3339 instant (frozen there until advanced);
    ``validate_responses`` validates every Sales API response against the spec (tests turn it on);
    ``admin_token`` and ``state_file`` are used by the control plane (``/__admin``);
    ``allowed_hosts`` are extra ``Host`` names the admin API answers (beyond loopback and ``host``),
    ``cors_origins`` the origin patterns whose pages may use the session cookie (``mock_server.origins``);
    ``journal_size`` how many requests the journal keeps; ``live_resources`` how many resources per
    collection stay unpacked between requests (``mock_server.packed``; 0 packs all after each request);
    ``read_timeout`` the seconds a connection has for a request's headers, then for its body
    (``sales-mock serve`` only: ``mock_server.http_protocol``);
    ``stubs_dir`` a folder of WireMock-style stub files loaded at start (``mock_server.admin.stub_files``).
    """

    host: str = "127.0.0.1"
    port: int = 4010
    fixtures: str = "demo"
    clock: str = "now"
    log_level: str = "info"
    validate_responses: bool = False
    admin_token: str | None = None
    state_file: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    journal_size: int = 1000
    live_resources: int = DEFAULT_LIVE_LIMIT
    read_timeout: float = 10.0
    spec_path: Path = field(default_factory=default_spec_path)
    stubs_dir: str | None = None
