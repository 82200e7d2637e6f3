"""The handler contract between the dispatcher and the per-resource route modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.store import EntityState


@dataclass
class Call:
    """One validated Sales API call, ready for a service.

    ``query`` holds the spec-validated, type-coerced query parameters (``entityId`` included);
    ``body`` the validated JSON body or None; ``now`` the entity's clock after due events ran.
    """

    operation_id: str
    entity: EntityState
    path_params: dict[str, str]
    query: dict[str, Any]
    body: Any
    now: datetime


@dataclass
class Result:
    """What a handler answers: a status, a JSON-able body (or its JSON text as ``bytes``; None for
    204) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Result]
