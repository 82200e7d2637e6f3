"""uvicorn's HTTP protocols with the mock's error shape for requests the HTTP parser rejects.

A request that is not valid HTTP/1.1 (control characters in a header, contradictory framing, a
TLS hello on the plain port, ...) never reaches the app: the parser answers it. uvicorn answers
in plain text; these subclasses answer ``400 {"error": ...}`` as JSON like every other error.
"""

from __future__ import annotations

import importlib.util

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from mock_server.errors import error_body

_MESSAGE = "malformed HTTP request: the server could not parse it (check the request line, headers and framing)"
_BODY = orjson.dumps(error_body(_MESSAGE))


def _raw_400() -> bytes:
    head = (
        b"HTTP/1.1 400 Bad Request\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(_BODY)).encode("ascii") + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + _BODY


class JsonErrorH11Protocol(H11Protocol):
    """h11-based protocol whose parser errors are JSON 400s."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_raw_400())
        self.transport.close()


def protocol_class() -> type:
    """The fastest available protocol class (httptools when installed, else h11), with JSON 400s."""
    if importlib.util.find_spec("httptools") is None:
        return JsonErrorH11Protocol
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class JsonErrorHttpToolsProtocol(HttpToolsProtocol):
        """httptools-based protocol whose parser errors are JSON 400s."""

        def send_400_response(self, msg: str) -> None:
            self.transport.write(_raw_400())
            self.transport.close()

    return JsonErrorHttpToolsProtocol
