"""The mock's own documentation surface: ``/`` -> ``/docs``, ``/openapi.yaml``, ``/openapi.json`` and ``/docs``.

``/docs`` is Swagger UI 5 as packaged by swagger-ui-py: its page template and its static bundle
(served from the installed package under ``/docs/static``: no CDN, works offline). We chose it over
the alternatives on PyPI because it is the maintained packaging of the reference OpenAPI UI (try it
out, schemas, markdown, a spec selector) with a Starlette handler; swagger-ui-bundle ships the
files only (we would maintain the page), and fastapi-offline needs FastAPI. We do not call its
handler (it adds routes to a built app and re-serves the spec with a Swagger 2 ``host`` key): we
render its page with our settings and mount its static folder ourselves.

The UI lists two specs in its selector: the Sales API and the mock's admin API. Each is served to
the UI under ``/docs/specs/`` with this server first in ``servers`` (a relative URL), so "Try it
out" calls the mock that serves the page on whatever port it runs. The demo key is authorized when
the page loads (``persistAuthorization`` keeps a key you enter instead), and ``entityId`` is
prefilled from the parameter's example (the demo entity).
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui.core import ApplicationDocument

from mock_server.spec import Spec

log = logging.getLogger("mock_server")

DOCS_PREFIX = "/docs"
DEMO_KEY = "ak_demo_readwrite"  # in both the demo and the empty fixtures (fixtures/*.yaml)
THIS_SERVER = {"url": "/", "description": "This mock server (the one serving these docs)"}


def _for_the_ui(document: dict[str, Any]) -> bytes:
    """The spec with this server first in ``servers``, so try-it-out calls the mock serving the page."""
    shown = copy.copy(document)
    shown["servers"] = [THIS_SERVER, *[s for s in document.get("servers", []) if s.get("url") != "/"]]
    return orjson.dumps(shown, option=orjson.OPT_NON_STR_KEYS)


def _ui_settings(specs: list[tuple[str, str]]) -> dict[str, str]:
    """SwaggerUIBundle options; each value is a JavaScript expression, as swagger-ui-py's template wants."""
    urls = [{"url": url, "name": name} for name, url in specs]
    preauthorize = (
        "function () {"
        " const ui = window.ui;"
        " if (!ui || !ui.specSelectors.specJson().getIn(['components', 'securitySchemes', 'bearerAuth'])) return;"
        " if (ui.authSelectors.authorized().has('bearerAuth')) return;"
        f" ui.preauthorizeApiKey('bearerAuth', {json.dumps(DEMO_KEY)});"
        " }"
    )
    return {
        "urls": json.dumps(urls),
        '"urls.primaryName"': json.dumps(specs[0][0]),
        "persistAuthorization": "true",
        "tryItOutEnabled": "true",
        "displayOperationId": "true",
        "filter": "true",
        "docExpansion": '"list"',
        "defaultModelsExpandDepth": "0",
        "validatorUrl": "null",
        "onComplete": preauthorize,
    }


def routes(spec: Spec, admin_spec_path: Path | None = None) -> list[BaseRoute]:
    """The routes serving the specs and the browsable reference (the admin API beside the Sales API)."""

    async def openapi_yaml(_request: Request) -> Response:
        return Response(spec.yaml_text, media_type="application/yaml")

    rendered: list[bytes] = []

    async def openapi_json(_request: Request) -> Response:
        if not rendered:
            rendered.append(orjson.dumps(spec.document, option=orjson.OPT_NON_STR_KEYS))
        return Response(rendered[0], media_type="application/json")

    ui_specs: dict[str, bytes] = {"sales.json": _for_the_ui(spec.document)}
    titles = [(str(spec.document.get("info", {}).get("title", "Sales API")), f"{DOCS_PREFIX}/specs/sales.json")]
    admin = _read_admin_spec(admin_spec_path)
    if admin is not None:
        ui_specs["admin.json"] = _for_the_ui(admin)
        titles.append((str(admin.get("info", {}).get("title", "Admin API")), f"{DOCS_PREFIX}/specs/admin.json"))

    document = ApplicationDocument(
        None,
        config_rel_url="/specs/sales.json",
        url_prefix=DOCS_PREFIX,
        title="Axiomatic Sales API - reference (mock server)",
        parameters=_ui_settings(titles),
    )
    page = document.doc_html.encode("utf-8")

    async def docs_page(_request: Request) -> Response:
        return HTMLResponse(page)

    async def ui_spec(request: Request) -> Response:
        body = ui_specs.get(request.path_params["name"])
        if body is None:
            return Response(b'{"error":"not found"}', status_code=404, media_type="application/json")
        return Response(body, media_type="application/json")

    async def to_docs(_request: Request) -> Response:
        return RedirectResponse(DOCS_PREFIX, status_code=307)

    return [
        Route("/", to_docs, methods=["GET"]),
        Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route(DOCS_PREFIX, docs_page, methods=["GET"]),
        Route(f"{DOCS_PREFIX}/", to_docs, methods=["GET"]),
        Route(DOCS_PREFIX + "/specs/{name}", ui_spec, methods=["GET"]),
        Mount(f"{DOCS_PREFIX}/static", app=StaticFiles(directory=document.static_dir), name="docs-static"),
    ]


def _read_admin_spec(path: Path | None) -> dict[str, Any] | None:
    """The admin API spec for the UI, or None (logged) when there is none beside the Sales API spec."""
    if path is None:
        return None
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        log.warning("docs: the admin API spec %s is not shown: %s", path, error)
        return None
    return loaded if isinstance(loaded, dict) else None
