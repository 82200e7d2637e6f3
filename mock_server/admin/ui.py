"""``/__admin/ui``: the admin web UI, static files shipped in the package (no CDN, works offline).

The page is plain HTML, CSS and one script. It loads without the admin token; when the admin API
answers 401 it asks for the token and sends it (``Authorization: Bearer``) on every call, keeping
it in the tab's ``sessionStorage`` only. Its calls are same-origin JSON, so the admin guard's Host,
Origin and media-type rules apply to them as to any client. A strict Content-Security-Policy
allows only the page's own files and forbids framing.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from mock_server.control import ControlPlane
from mock_server.domain.errors import NotFound
from mock_server.runtime import Runtime

FILES = Path(__file__).with_name("ui")
PATHS = ("/ui", "/ui/{asset}")
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def serve(runtime: Runtime, plane: ControlPlane, request: Request) -> Response:
    """``GET /ui`` (the page) and ``GET /ui/{asset}`` (its script and style)."""
    name = request.path_params.get("asset", "index.html")
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no such UI file: {name}")
    return Response((FILES / name).read_bytes(), media_type=media_type, headers=HEADERS)
