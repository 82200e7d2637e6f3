"""Domain errors. They know nothing of HTTP; ``mock_server.errors`` maps them to status codes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field; ``path`` is a JSON-pointer-like path such as ``lines/0/quantity``."""

    path: str
    message: str


@dataclass
class DomainError(Exception):
    """Base of every error the domain raises. ``message`` is for a person."""

    message: str
    details: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class InvalidInput(DomainError):
    """The input is malformed or breaks a rule of the schema (maps to 400)."""


class NotFound(DomainError):
    """No such resource in this entity (maps to 404)."""


class Conflict(DomainError):
    """The resource's state forbids the operation (maps to 409)."""


class Unprocessable(DomainError):
    """A well-formed request refers to something unusable (maps to 422)."""
