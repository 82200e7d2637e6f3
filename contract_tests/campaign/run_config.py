"""The options of one run of the suite as one typed object, built once.

``sales-contract check`` builds it from its own options and hands it to the in-process pytest run
(:class:`Given`, a plugin); plain ``pytest contract_tests --sales-target URL`` builds the same object from
the ``--sales-*`` options and ``SALES_API_ALLOW_WRITES`` (:func:`from_options`, the one place that reads
them). The suite's hooks and fixtures read :func:`get`. A fuzz round gets its campaign's object as a JSON
file (:meth:`RunConfig.to_json`) that names the environment variables holding its secrets, never their values.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pytest

from contract_tests.campaign.sharding import Shard, parse_shard
from contract_tests.target import ENV_VARS, UsageError

EXAMPLE_DB_ENV = "SALES_EXAMPLE_DB"

SECRETS = {
    "api_key": ENV_VARS["api_key"],
    "entity_id": ENV_VARS["entity_id"],
    "admin_token": ENV_VARS["admin_token"],
    "readonly_key": ENV_VARS["readonly_key"],
    "other_entity_id": ENV_VARS["other_entity_id"],
    "other_key": ENV_VARS["other_key"],
    "example_db": EXAMPLE_DB_ENV,  # a Redis URL may hold a password
}
"""The fields a child process gets by environment variable (this name), never in a file or on its command line."""


@dataclass(frozen=True)
class RunConfig:
    target: str | None = None
    """``mock`` (in process), a base URL, or None: both mocks (in process and a ``sales-mock`` process)."""
    api_key: str | None = None
    entity_id: str | None = None
    admin_token: str | None = None
    readonly_key: str | None = None
    other_entity_id: str | None = None
    other_key: str | None = None
    allow_writes: bool = False
    read_only: bool = False
    profile: str = "default"
    max_examples: int | None = None
    seed: int | None = None
    operations: tuple[str, ...] = ()
    timeout: float = 30.0
    budget: float | None = None
    ledger: str | None = None
    progress: str | None = None
    shard: Shard | None = None
    example_db: str | None = None
    failures_dir: str | None = None
    """Where the command saves each failure as a replayable JSON file (None: not saved)."""
    junit_xml: str | None = None
    """The command's JUnit file (its error case on exit 2 too)."""
    scratch: bool = False
    """The entity is a scratch one the command made: its failures replay in a scratch entity too."""
    tests: tuple[str, ...] = ()
    """Scenario tests to run instead of the whole suite (``FILE::NAME``)."""
    verbose: bool = False

    @property
    def writes(self) -> bool:
        """Whether the run may write, as the target fixture decides (a read-only run generates GETs only)."""
        if self.read_only:
            return False
        return self.target in (None, "mock") or self.allow_writes

    def secrets_env(self) -> dict[str, str]:
        """The secrets this config holds, by environment variable: how a child process gets them."""
        values = {name: getattr(self, field) for field, name in SECRETS.items()}
        return {name: value for name, value in values.items() if value}

    def to_json(self) -> str:
        """This config for a child process: the secrets by the names of their variables (:meth:`secrets_env`)."""
        data: dict[str, Any] = {name: value for name, value in asdict(self).items() if name not in SECRETS}
        data["shard"] = str(self.shard) if self.shard else None
        data["secrets"] = sorted(self.secrets_env())
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, env: Mapping[str, str] | None = None) -> RunConfig:
        """The config :meth:`to_json` wrote, its secrets read from ``env`` (default: this process's environment)."""
        env = os.environ if env is None else env
        try:
            data: dict[str, Any] = dict(json.loads(text))
            named = list(data.pop("secrets"))
            missing = [name for name in named if not env.get(name)]
            if missing:
                raise UsageError(f"the run's config names ${', $'.join(missing)}: not set in the environment")
            data |= {field: env[name] for field, name in SECRETS.items() if name in named}
            data |= {"operations": tuple(data["operations"]), "tests": tuple(data["tests"])}
            data["shard"] = parse_shard(data["shard"]) if data["shard"] else None
            return cls(**data)
        except (ValueError, TypeError, KeyError, argparse.ArgumentTypeError) as exc:
            raise UsageError(f"not a run config: {type(exc).__name__} {exc}") from exc


RUN_CONFIG = pytest.StashKey[RunConfig]()


def allow_writes_from_env() -> bool:
    return os.environ.get(ENV_VARS["allow_writes"]) == "1"


def from_options(config: pytest.Config) -> RunConfig:
    """The run's options as plain pytest has them (``--sales-*``, ``SALES_API_ALLOW_WRITES``)."""
    option = config.getoption
    return RunConfig(
        target=option("--sales-target"),
        api_key=option("--sales-api-key"),
        entity_id=option("--sales-entity-id"),
        admin_token=option("--sales-admin-token"),
        readonly_key=option("--sales-readonly-key"),
        other_entity_id=option("--sales-other-entity-id"),
        other_key=option("--sales-other-key"),
        allow_writes=bool(option("--sales-allow-writes")) or allow_writes_from_env(),
        read_only=bool(option("--sales-read-only")),
        profile=option("--sales-profile"),
        max_examples=option("--sales-max-examples"),
        seed=option("--sales-seed"),
        operations=tuple(op.strip() for op in (option("--sales-operations") or "").split(",") if op.strip()),
        timeout=option("--sales-timeout"),
        budget=option("--sales-budget"),
        ledger=option("--sales-ledger"),
        progress=option("--sales-progress", None),
        shard=option("--sales-shard"),
        example_db=option("--sales-example-db"),
    )


def get(config: pytest.Config) -> RunConfig:
    """The run's :class:`RunConfig`: the one a command handed over, else built from the options (once)."""
    run = config.stash.get(RUN_CONFIG, None)
    if run is None:
        run = config.stash[RUN_CONFIG] = from_options(config)
    return run


class Given:
    """The plugin that hands a command's :class:`RunConfig` to the pytest run it starts."""

    def __init__(self, run: RunConfig) -> None:
        self.run = run

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[RUN_CONFIG] = self.run
