"""``--example-db URL``: one Hypothesis example database shared by every run, job and shard.

``redis://[:password@]host:port/db`` (or ``rediss://``, ``unix://``) is Hypothesis' own
:class:`~hypothesis.extra.redis.RedisExampleDatabase`; anything else is a directory
(:class:`~hypothesis.database.DirectoryBasedExampleDatabase`). Hypothesis saves every failing
example under a key that names the test (and, here, the operation), and replays what it finds
there before it generates anything new, so a failure one job found is tried first by every later
job that runs that operation, whichever shard it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import hypothesis
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from contract_tests.target import UsageError

REDIS_SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX = b"sales-contract:"
PROFILE = "sales-contract-example-db"


def redacted(url: str) -> str:
    """The URL without its password (reports and logs never show secrets)."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_database(url: str) -> ExampleDatabase:
    """The database at ``url``; an unreachable Redis or an unusable directory is a :class:`UsageError`."""
    scheme = urlsplit(url).scheme
    if scheme in REDIS_SCHEMES:
        return _redis(url)
    if scheme and len(scheme) > 1:  # not a Windows drive letter
        raise UsageError(f"--example-db: unsupported URL {redacted(url)!r} (use redis://host:port/db or a directory)")
    path = Path(url)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--example-db: cannot use the directory {url}: {exc}") from exc
    return DirectoryBasedExampleDatabase(str(path))


def _redis(url: str) -> ExampleDatabase:
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError as exc:  # pragma: no cover - redis is a dependency
        raise UsageError("--example-db redis://... needs the 'redis' package") from exc
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=15)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise UsageError(f"--example-db: the Redis at {redacted(url)} is unusable: {exc}") from exc
    return RedisExampleDatabase(client, key_prefix=KEY_PREFIX)


@contextlib.contextmanager
def activated(database: ExampleDatabase) -> Iterator[None]:
    """Inside: Hypothesis' default settings use ``database``, which is how Schemathesis' generated tests get it
    (its configuration only names directories). Derandomising would drop the database, so it is off."""
    previous = hypothesis.settings.get_current_profile_name()
    parent = hypothesis.settings.get_profile("default")
    hypothesis.settings.register_profile(PROFILE, parent=parent, database=database, derandomize=False)
    hypothesis.settings.load_profile(PROFILE)
    with _operation_keys():
        try:
            yield
        finally:
            hypothesis.settings.load_profile(previous)


@contextlib.contextmanager
def _operation_keys() -> Iterator[None]:
    """Give each API operation its own database key, as Schemathesis' own runner does.

    Its pytest integration builds one Hypothesis test per operation from the same test function, so
    all of them would share one key, and every operation would replay every other's examples.
    """
    from schemathesis.pytest import lazy

    original: Callable[..., Any] = lazy.build_operation_test  # type: ignore[attr-defined]

    def keyed(*args: Any, **kwargs: Any) -> Any:
        test = original(*args, **kwargs)
        operation = kwargs.get("operation")
        if operation is not None:
            test.hypothesis.inner_test._hypothesis_internal_add_digest = operation.label.encode()
        return test

    lazy.build_operation_test = keyed  # type: ignore[attr-defined]
    try:
        yield
    finally:
        lazy.build_operation_test = original  # type: ignore[attr-defined]
