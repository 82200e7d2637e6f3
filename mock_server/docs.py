"""The mock's own documentation surface: ``/openapi.yaml``, ``/openapi.json`` and ``/docs``.

``/docs`` is a self-contained HTML + JS page shipped in ``mock_server/static`` (no CDN, works
offline) that renders every operation of ``/openapi.json``.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mock_server.spec import Spec

STATIC_DIR = Path(__file__).parent / "static"


def routes(spec: Spec) -> list[BaseRoute]:
    """The routes serving the spec and the browsable reference."""

    async def openapi_yaml(_request: Request) -> Response:
        return Response(spec.yaml_text, media_type="application/yaml")

    rendered: list[bytes] = []

    async def openapi_json(_request: Request) -> Response:
        if not rendered:
            rendered.append(orjson.dumps(spec.document, option=orjson.OPT_NON_STR_KEYS))
        return Response(rendered[0], media_type="application/json")

    async def docs_page(_request: Request) -> Response:
        return FileResponse(STATIC_DIR / "docs.html", media_type="text/html")

    async def docs_slash(_request: Request) -> Response:
        return RedirectResponse("/docs", status_code=308)

    return [
        Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs_page, methods=["GET"]),
        Route("/docs/", docs_slash, methods=["GET"]),
        Mount("/docs/assets", app=StaticFiles(directory=STATIC_DIR), name="docs-assets"),
    ]
