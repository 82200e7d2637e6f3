"""A small HTTP client for the suite's own scenarios, with curl reproduction for every failure."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

import httpx

from contract_tests.target import API_PREFIX, Target


class ContractViolation(AssertionError):
    """The server broke the contract; the message carries the request as curl and what was wrong."""


class _Default:
    pass


DEFAULT: Any = _Default()


MOCK_URL = "http://127.0.0.1:4010"


def reproducible(curl: str, target: Target) -> str:
    """Make a curl line runnable: in-process requests go to a local ``sales-mock serve`` (./dev serve);
    a live target's key is referenced as ``$SALES_API_KEY`` rather than printed."""
    curl = re.sub(r"http://localhost(?=[/'\s]|$)", MOCK_URL, curl)  # the in-process base URL has no port
    if target.mock:
        return curl.replace("'Authorization: [Filtered]'", f"'Authorization: Bearer {target.api_key}'")
    curl = curl.replace("'Authorization: [Filtered]'", '"Authorization: Bearer $SALES_API_KEY"')
    return curl.replace(
        shlex.quote(f"Authorization: Bearer {target.api_key}"), '"Authorization: Bearer $SALES_API_KEY"'
    )


def curl_command(request: httpx.Request, target: Target) -> str:
    """A copy-pasteable curl for ``request`` (see :func:`reproducible`)."""
    parts = ["curl", "-X", request.method, shlex.quote(str(request.url))]
    for name, value in request.headers.items():
        if name.lower() in ("authorization", "content-type", "cookie", "x-entity-id"):
            parts += ["-H", shlex.quote(f"{name.title()}: {value}")]
    body = request.content
    if body:
        parts += ["-d", shlex.quote(body.decode("utf-8", "replace"))]
    return reproducible(" ".join(parts), target)


def make_http_client(target: Target, app: Any = None) -> httpx.Client:
    """An httpx client for the target: over the ASGI app in-process, or over the network."""
    if target.in_process:
        from starlette.testclient import TestClient

        return TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
    return httpx.Client(base_url=target.origin, timeout=30.0)


class SalesApi:
    """Calls the Sales API as the target's main identity unless told otherwise.

    ``call`` returns the response; ``expect`` also asserts the status and returns the JSON body.
    """

    def __init__(self, target: Target, http: httpx.Client) -> None:
        self.target = target
        self.http = http
        self.janitor: Any = None
        self.last_response: httpx.Response | None = None

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        key: str | None = DEFAULT,
        entity_id: str | None = DEFAULT,
    ) -> httpx.Response:
        query: dict[str, Any] = {}
        entity = self.target.entity_id if entity_id is DEFAULT else entity_id
        if entity is not None:
            query["entityId"] = entity
        query.update(params or {})
        auth = self.target.api_key if key is DEFAULT else key
        headers = {"Authorization": f"Bearer {auth}"} if auth else {}
        content = None
        if json_body is not None:
            content = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, API_PREFIX + path, params=query, content=content, headers=headers)
        self.last_response = response
        return response

    def expect(self, status: int | tuple[int, ...], method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        wanted = (status,) if isinstance(status, int) else status
        if response.status_code not in wanted:
            raise self.violation(response, f"expected status {' or '.join(map(str, wanted))}")
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def violation(self, response: httpx.Response, problem: str) -> ContractViolation:
        """Build (not raise) a violation for ``response`` with its curl reproduction."""
        body = response.text[:600]
        return ContractViolation(
            f"{problem}; got {response.status_code}\n  {body}\n"
            f"Reproduce with:\n  {curl_command(response.request, self.target)}"
        )

    def fail_unless(self, response: httpx.Response, problems: list[str]) -> None:
        if problems:
            raise self.violation(response, "; ".join(problems))

    def list_all(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following pages when it is paged."""
        body = self.expect(200, "GET", path, params={**(params or {}), "pageSize": 100} if _paged(path) else params)
        items: list[dict[str, Any]] = list(body["data"])
        page = 1
        while _paged(path) and len(items) < int(body["total"]):
            page += 1
            body = self.expect(200, "GET", path, params={**(params or {}), "pageSize": 100, "page": page})
            if not body["data"]:
                break
            items.extend(body["data"])
        return items

    def create(self, kind: str, body: Any, status: int = 201) -> Any:
        """POST a new ``kind`` (``quotes``, ``orders``, ``plans``, ``subscriptions``) and remember it for cleanup."""
        created = self.expect(status, "POST", f"/{kind}", json_body=body)
        if self.janitor is not None and isinstance(created, dict) and "id" in created:
            self.janitor.remember(kind, created["id"])
        return created


def _paged(path: str) -> bool:
    return path in ("/quotes", "/orders")
