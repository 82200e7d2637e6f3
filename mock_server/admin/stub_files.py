"""``sales-mock serve --stubs DIR``: stubs from WireMock-style mapping files, loaded at start-up.

Every ``*.json`` file in DIR and its subfolders (in path order) holds one stub definition
(``{"request": ..., "response": ...}``, as ``POST /__admin/entities/{entityId}/stubs`` takes) or
several as ``{"mappings": [definition, ...]}``, like WireMock's ``mappings`` folder. Each is checked
against the spec by the same code as a stub created through the admin API
(:func:`mock_server.admin.stubs.build_stub`), so a team keeps its stubs in its repository and a
stale one stops the start instead of answering something the contract no longer allows.

Which entities a stub is for: the ``entityId`` of its definition, else the ``entityId`` at the top
of its ``{"mappings": [...]}`` file, else every entity of the start-up fixtures (WireMock has no
entities: a mapping answers whoever calls). A definition may keep its ``id`` (unique per entity);
without one it gets a stable id from its file and position, the same after every restart.

The loaded stubs are part of the start-up state: ``POST /__admin/reset`` puts them back. With
``--state-file``, they replace the saved stubs of the same id (the files win), and the saved stubs
created through the admin API stay. A folder or file that cannot be read, malformed JSON or a
definition the spec refuses is a :class:`StubFileError`: one line naming the file and the problem.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from mock_server import body
from mock_server.admin.stubs import build_stub
from mock_server.control.stubs import StubBook
from mock_server.domain.errors import InvalidInput
from mock_server.errors import HttpError
from mock_server.runtime import Runtime
from mock_server.spec import Spec

FILE_FIELDS = {"mappings", "entityId", "meta"}
"""The keys of a ``{"mappings": [...]}`` file (``meta`` is WireMock's export summary, ignored)."""
_ID_NAMESPACE = uuid.UUID("0f7c4a52-3f9e-4c1b-9d6a-2b8e5a7c1d40")


class StubFileError(ValueError):
    """A stub file cannot be used; the message is one line naming the file and the problem."""


def load_stub_files(spec: Spec, folder: str | Path, entities: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The stubs of every file under ``folder`` as a state document's ``stubs`` section (entity id ->
    definitions in matching order); ``entities`` are the ids a stub without ``entityId`` is for."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        reason = "No such file or directory" if not root.exists() else "Not a directory"
        raise StubFileError(f"cannot read the stubs folder {root}: {reason}")
    book = StubBook()
    for path in sorted(root.rglob("*.json")):
        name = path.relative_to(root).as_posix()
        for where, entity_ids, definition in _definitions(path, entities):
            for entity_id in entity_ids:
                try:
                    book.add(entity_id, build_stub(spec, {"id": _stable_id(name, where), **definition}))
                except (InvalidInput, HttpError) as error:
                    raise StubFileError(f"{path}: {_at(where)}{_reason(error)}") from None
    return book.dump()


def _definitions(path: Path, entities: list[str]) -> list[tuple[str, list[str], dict[str, Any]]]:
    """(where in the file, its entities, the definition without ``entityId``) for each stub of a file."""
    document = _read(path)
    if isinstance(document, dict) and "mappings" in document:
        extra = sorted(set(document) - FILE_FIELDS)
        if extra:
            raise StubFileError(f"{path}: {extra[0]}: is not an allowed field beside mappings")
        mappings = document["mappings"]
        if not isinstance(mappings, list):
            raise StubFileError(f"{path}: mappings: must be an array of stubs")
        default = _entities(document, entities, entities, path, "")
        return [_definition(item, f"mappings[{i}]", entities, default, path) for i, item in enumerate(mappings)]
    return [_definition(document, "", entities, entities, path)]


def _definition(
    raw: Any, where: str, entities: list[str], default: list[str], path: Path
) -> tuple[str, list[str], dict[str, Any]]:
    if not isinstance(raw, dict) or "request" not in raw:
        shapes = '{"request": ..., "response": ...} or {"mappings": [...]}'
        raise StubFileError(f"{path}: {_at(where)}must be a stub {shapes}")
    entity_ids = _entities(raw, entities, default, path, where)
    return where, entity_ids, {k: v for k, v in raw.items() if k != "entityId"}


def _entities(raw: dict[str, Any], entities: list[str], default: list[str], path: Path, where: str) -> list[str]:
    """The entity ``raw`` names (one of ``entities``, the start-up ones), else ``default``."""
    if "entityId" not in raw:
        return default
    value = raw["entityId"]
    try:
        entity_id = str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        entity_id = None
    if entity_id is None:
        raise StubFileError(f"{path}: {_at(where)}entityId: must be a UUID")
    if entity_id not in entities:
        raise StubFileError(f"{path}: {_at(where)}entityId: {value} is no entity of the start-up fixtures")
    return [entity_id]


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise StubFileError(f"cannot read the stub file {path}: {error.strerror or error}") from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StubFileError(f"{path}: not UTF-8 text") from None
    try:
        return body.parse_json(raw)
    except HttpError as error:
        raise StubFileError(f"{path}: {error.message}") from None


def _stable_id(name: str, where: str) -> str:
    """The id of a definition that has none: the same for the same file and position, every time."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{name}#{where}"))


def _reason(error: Exception) -> str:
    return " ".join(str(error).removeprefix("invalid request: ").split())


def add_stub_files(runtime: Runtime, folder: str | Path, entities: list[str]) -> None:
    """Load ``folder``'s stubs for ``entities`` (the start-up fixtures' ids) as the start-up stubs and add
    them to those of the running server (each replaces a stub of the same id, e.g. from the state file)."""
    stubs = runtime.control.stubs
    stubs.startup = load_stub_files(runtime.spec, folder, entities)
    present = {e: s for e, s in stubs.startup.items() if runtime.store.get_entity(e) is not None}
    stubs.merge(StubBook.parse_section(present))
