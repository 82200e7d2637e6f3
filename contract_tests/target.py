"""What the suite runs against: the mock in-process, the mock as a process, or a live base URL.

Every test gets a :class:`Target`; nothing else in the suite knows which kind it is, except the
few checks that need the mock's admin API (clock control), which skip when it is absent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_ENTITY_ID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
DEMO_KEY = "ak_demo_readwrite"
DEMO_READONLY_KEY = "ak_demo_readonly"
OTHER_ENTITY_ID = "f1f5c646-a768-4f15-ab7e-5e3088389de0"
OTHER_KEY = "ak_other_readwrite"
MOCK_CLOCK = "2025-03-01T00:00:00Z"
API_PREFIX = "/api/sales"
SPEC_ENV = "SALES_API_SPEC"

ENV_VARS = {
    "base_url": "SALES_API_BASE_URL",
    "api_key": "SALES_API_KEY",
    "entity_id": "SALES_API_ENTITY_ID",
    "readonly_key": "SALES_API_READONLY_KEY",
    "other_entity_id": "SALES_API_OTHER_ENTITY_ID",
    "other_key": "SALES_API_OTHER_KEY",
    "allow_writes": "SALES_API_ALLOW_WRITES",
    "admin_token": "SALES_ADMIN_TOKEN",
}


class UsageError(Exception):
    """Bad options or an unusable target: the CLI exits 2."""


@dataclass(frozen=True)
class Target:
    """One system under test. ``base_url`` None means the mock's ASGI app in this process.

    ``origin`` is scheme://host[:port]; the Sales API lives under ``origin + /api/sales``.
    ``mock`` says the target is (a variant of) our mock, so the demo fixtures and ``/__admin`` exist.
    """

    name: str
    base_url: str | None
    api_key: str = field(repr=False)  # secrets never show in a repr (an assertion message, a traceback)
    entity_id: str
    readonly_key: str | None = field(default=None, repr=False)
    other_entity_id: str | None = None
    other_key: str | None = field(default=None, repr=False)
    allow_writes: bool = False
    mock: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    admin_token: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @property
    def in_process(self) -> bool:
        return self.base_url is None

    @property
    def origin(self) -> str:
        return normalize_origin(self.base_url) if self.base_url else "http://localhost"


def normalize_origin(url: str) -> str:
    """``https://x/api/sales/`` -> ``https://x``: users may give either form."""
    url = url.rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the target must be 'mock' or an http(s) URL, got {url!r}")
    return url


def mock_target(name: str, base_url: str | None = None) -> Target:
    """The mock with its demo fixtures: every credential is known and writes are safe."""
    return Target(
        name=name,
        base_url=base_url,
        api_key=DEMO_KEY,
        entity_id=DEMO_ENTITY_ID,
        readonly_key=DEMO_READONLY_KEY,
        other_entity_id=OTHER_ENTITY_ID,
        other_key=OTHER_KEY,
        allow_writes=True,
        mock=True,
    )


def live_target(
    base_url: str,
    *,
    api_key: str | None = None,
    entity_id: str | None = None,
    allow_writes: bool = False,
    env: Mapping[str, str] | None = None,
    admin_token: str | None = None,
    timeout: float = 30.0,
    readonly_key: str | None = None,
    other_entity_id: str | None = None,
    other_key: str | None = None,
) -> Target:
    """A live URL: every credential comes from the arguments, else from its ``SALES_API_*`` variable."""
    env = os.environ if env is None else env
    key = api_key or env.get(ENV_VARS["api_key"])
    entity = entity_id or env.get(ENV_VARS["entity_id"])
    if not key or not entity:
        raise UsageError(
            f"a URL target needs an API key and an entity id (--api-key/--entity-id or "
            f"{ENV_VARS['api_key']}/{ENV_VARS['entity_id']})"
        )
    return Target(
        name=normalize_origin(base_url),
        base_url=normalize_origin(base_url),
        api_key=key,
        entity_id=entity,
        readonly_key=readonly_key or env.get(ENV_VARS["readonly_key"]) or None,
        other_entity_id=other_entity_id or env.get(ENV_VARS["other_entity_id"]) or None,
        other_key=other_key or env.get(ENV_VARS["other_key"]) or None,
        allow_writes=allow_writes,
        admin_token=admin_token or env.get(ENV_VARS["admin_token"]) or None,
        timeout=timeout,
    )


def credential_names(target: Target) -> list[str]:
    """The environment variables (names, never values) of the credentials a URL target was given: what a
    replay there needs again. The mock's own targets need none."""
    if target.mock or target.in_process:
        return []
    given = {
        "api_key": target.api_key,
        "entity_id": target.entity_id,
        "readonly_key": target.readonly_key,
        "other_entity_id": target.other_entity_id,
        "other_key": target.other_key,
        "admin_token": target.admin_token,
    }
    return [ENV_VARS[name] for name, value in given.items() if value]


SECRETS = ("api_key", "readonly_key", "other_key", "admin_token")
"""The credentials that are secrets: shown as ``$VARIABLE``, never as their value."""


def secrets_of(target: Target) -> dict[str, str]:
    """Each secret ``target`` holds -> the environment variable that names it in anything the suite prints."""
    values = {name: getattr(target, name) for name in SECRETS}
    return {value: ENV_VARS[name] for name, value in values.items() if value}


def spec_path(env: Mapping[str, str] | None = None) -> Path:
    """The contract: ``$SALES_API_SPEC`` (``--spec``) or the packaged ``openapi/sales.yaml``.

    UsageError (one line) when the file cannot be read."""
    from mock_server import resources

    env = os.environ if env is None else env
    try:
        if env.get(SPEC_ENV):
            return resources.user_file(env[SPEC_ENV], "contract")
        return resources.spec_path()
    except resources.ResourceError as error:
        raise UsageError(str(error)) from None


def build_mock_app() -> Any:
    """The mock's ASGI app with the demo fixtures and the clock frozen at :data:`MOCK_CLOCK`."""
    from mock_server.app import create_app
    from mock_server.config import MockConfig

    return create_app(MockConfig(clock=MOCK_CLOCK))
