"""The options of one run of the suite as one typed object, built once.

``sales-contract check`` builds it from its own options and hands it to the in-process pytest run
(:class:`Given`, a plugin); plain ``pytest contract_tests --sales-target URL`` builds the same object from
the ``--sales-*`` options and ``SALES_API_ALLOW_WRITES`` (:func:`from_options`, the one place that reads
them). The suite's hooks and fixtures read :func:`get`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from contract_tests.campaign.sharding import Shard
from contract_tests.target import ENV_VARS


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

    @property
    def writes(self) -> bool:
        """Whether the run may write, as the target fixture decides (a read-only run generates GETs only)."""
        if self.read_only:
            return False
        return self.target in (None, "mock") or self.allow_writes


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
