"""The files this package ships: the two OpenAPI documents and the fixture files, and its version.

In the repository they live in ``openapi/`` and ``fixtures/``; setup.py maps those folders onto
the subpackages ``mock_server._openapi`` and ``mock_server._fixtures``, so they are package data
in a wheel and the same folders in an editable install. Everything that needs one of them (the
mock, its admin API, the fixture loader, the contract suite, the pytest plugin, the tests) asks
this module, which finds them through ``importlib.resources`` and never guesses a path from
``__file__``. Standard library only: cheap to import.
"""

from __future__ import annotations

import atexit
import re
from contextlib import ExitStack
from functools import cache
from importlib import metadata, resources
from pathlib import Path

DISTRIBUTION = "axiomatic-sales-contract"
SPEC_PACKAGE = "mock_server._openapi"
FIXTURES_PACKAGE = "mock_server._fixtures"
SALES_SPEC = "sales.yaml"
ADMIN_SPEC = "mock-admin.yaml"
FIXTURE_NAME = re.compile(r"[A-Za-z0-9_-]+")

_extracted = ExitStack()
atexit.register(_extracted.close)


class ResourceError(Exception):
    """A packaged file is missing or a user-given file cannot be used; the message is one line."""


def version() -> str:
    """The installed distribution's version (pyproject.toml is the one source of truth)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "0+unknown"


def spec_path() -> Path:
    """The packaged Sales API contract (``openapi/sales.yaml`` in the repository)."""
    return _packaged(SPEC_PACKAGE, SALES_SPEC)


def admin_spec_path() -> Path:
    """The packaged control-plane spec (``openapi/mock-admin.yaml`` in the repository)."""
    return _packaged(SPEC_PACKAGE, ADMIN_SPEC)


def fixture_names() -> list[str]:
    """The names of the packaged fixture files (``demo``, ``empty``, ...), sorted."""
    root = resources.files(FIXTURES_PACKAGE)
    return sorted(item.name.rsplit(".", 1)[0] for item in root.iterdir() if item.name.endswith((".yaml", ".json")))


def is_fixture_name(text: str) -> bool:
    """True for a bare name (``demo``) rather than a path (``./my.yaml``)."""
    return FIXTURE_NAME.fullmatch(text) is not None


def fixture_path(name: str) -> Path:
    """The packaged fixture file called ``name``; ResourceError naming the known ones if there is none."""
    if not is_fixture_name(name):
        raise ResourceError(f"invalid fixture name {name!r}")
    for suffix in (".yaml", ".json"):
        if resources.files(FIXTURES_PACKAGE).joinpath(name + suffix).is_file():
            return _packaged(FIXTURES_PACKAGE, name + suffix)
    known = ", ".join(fixture_names())
    raise ResourceError(f"unknown fixtures {name!r}: use one of {known} or a path to a YAML/JSON file")


def user_file(path: str | Path, what: str) -> Path:
    """A file the user named (``--spec``, ``--fixtures``): it must exist and be readable.

    ResourceError with one line (``cannot read the spec x.yaml: No such file or directory``) if not.
    """
    candidate = Path(path).expanduser()
    try:
        with candidate.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ResourceError(f"cannot read the {what} {candidate}: {reason}") from None
    return candidate


@cache
def _packaged(package: str, name: str) -> Path:
    """A real file path for a packaged resource (extracted once per process if the package is zipped)."""
    resource = resources.files(package).joinpath(name)
    if not resource.is_file():
        raise ResourceError(f"the packaged file {package}/{name} is missing: reinstall {DISTRIBUTION}")
    if isinstance(resource, Path):
        return resource
    return Path(_extracted.enter_context(resources.as_file(resource)))  # pragma: no cover - zipped installs only
