"""The one place where errors become HTTP answers: ``{"error": ..., "details"?: [...]}``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from mock_server.domain.errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound, Unprocessable


class HttpError(Exception):
    """An error that already knows its status code (auth, content type, size, routing)."""

    status_code: int = 400

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        details: list[FieldProblem] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.details = details or []
        self.headers = dict(headers or {})


class BadRequest(HttpError):
    status_code = 400


class Unauthorized(HttpError):
    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="axiomatic-sales"'})


class Forbidden(HttpError):
    status_code = 403


class RouteNotFound(HttpError):
    status_code = 404


class MethodNotAllowed(HttpError):
    status_code = 405

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message, headers={"Allow": ", ".join(allowed)})


class MisdirectedRequest(HttpError):
    status_code = 421


class PayloadTooLarge(HttpError):
    status_code = 413


class UnsupportedMediaType(HttpError):
    status_code = 415


DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    Unprocessable: 422,
}


def status_for(error: DomainError) -> int:
    """The HTTP status of a domain error, by the first matching class in its MRO."""
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def error_body(message: str, details: list[FieldProblem] | None = None) -> dict[str, object]:
    """The JSON body of every error answer."""
    body: dict[str, object] = {"error": message}
    if details:
        body["details"] = [{"path": d.path, "message": d.message} for d in details]
    return body


def render(error: Exception) -> tuple[int, dict[str, object], dict[str, str]]:
    """(status, body, headers) for any error; unknown exceptions become a generic 500 with no internals."""
    if isinstance(error, HttpError):
        return error.status_code, error_body(error.message, error.details), error.headers
    if isinstance(error, DomainError):
        return status_for(error), error_body(error.message, error.details), {}
    return 500, error_body("internal error"), {}


def error_response(error: Exception) -> JSONResponse:
    """``render`` as a Starlette response (the admin API, the docs routes)."""
    status, body, headers = render(error)
    return JSONResponse(body, status_code=status, headers=headers)
