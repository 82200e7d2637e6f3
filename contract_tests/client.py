"""A small HTTP client for the suite's own scenarios, with curl reproduction for every failure."""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

import httpx

from contract_tests.target import API_PREFIX, ENV_VARS, Target, secrets_of


class ContractViolation(AssertionError):
    """The server broke the contract; the message carries the request as curl and what was wrong."""


class _Default:
    pass


DEFAULT: Any = _Default()


MOCK_URL = "http://127.0.0.1:4010"


def reproducible(curl: str, target: Target) -> str:
    """Make a curl line runnable: in-process requests go to a local ``sales-mock serve`` (./dev serve);
    a live target's keys are referenced as their variables (``$SALES_API_KEY``, ``$SALES_API_OTHER_KEY``,
    ...) rather than printed."""
    curl = re.sub(r"http://localhost(?=[/'\s]|$)", MOCK_URL, curl)  # the in-process base URL has no port
    if target.mock:
        return curl.replace("'Authorization: [Filtered]'", f"'Authorization: Bearer {target.api_key}'")
    curl = curl.replace("'Authorization: [Filtered]'", f'"Authorization: Bearer ${ENV_VARS["api_key"]}"')
    for secret, variable in secrets_of(target).items():
        curl = curl.replace(shlex.quote(f"Authorization: Bearer {secret}"), f'"Authorization: Bearer ${variable}"')
        curl = curl.replace(secret, f"${variable}")
    return curl


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
    """An httpx client for the target: over the ASGI app in-process, or over the network.

    Over the network: the per-request timeout is the target's, throttle answers (429/503 with
    ``Retry-After``) are retried with bounded backoff, and ``/__admin`` calls carry the admin token.
    """
    hooks = {"request": [_admin_token_hook(target.admin_token)]} if target.admin_token else {}
    if target.in_process:
        import warnings

        with warnings.catch_warnings():
            # Starlette's TestClient warns that its httpx support will move to another package.
            warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
            from starlette.testclient import TestClient

        client = TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
        client.event_hooks = {**client.event_hooks, **hooks}
        return client
    from contract_tests.throttle import RetryingTransport

    return httpx.Client(
        base_url=target.origin,
        timeout=target.timeout,
        transport=RetryingTransport(httpx.HTTPTransport()),
        event_hooks=hooks,
    )


def _admin_token_hook(token: str) -> Any:
    def add_token(request: httpx.Request) -> None:
        if request.url.path.startswith("/__admin"):
            request.headers["X-Admin-Token"] = token

    return add_token


class SalesApi:
    """Calls the Sales API as the target's main identity unless told otherwise.

    ``call`` returns the response; ``expect`` also asserts the status and returns the JSON body.
    """

    def __init__(self, target: Target, http: httpx.Client) -> None:
        self.target = target
        self.http = http
        self.janitor: Any = None
        self.last_response: httpx.Response | None = None
        self.chain: list[httpx.Response] = []
        self.budget: Any = None

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
        if self.budget is not None:
            self.budget.enforce_budget()
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
        self.chain.append(response)
        return response

    def admin(self, method: str, path: str, json_body: Any = None) -> httpx.Response:
        """A call to the mock's control plane (``/__admin``), with the admin token when there is one."""
        return self.http.request(method, "/__admin" + path, json=json_body)

    def expect(self, status: int | tuple[int, ...], method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        wanted = (status,) if isinstance(status, int) else status
        if response.status_code not in wanted:
            raise self.violation(response, f"expected status {' or '.join(map(str, wanted))}")
        if response.status_code == 204 or not response.content:
            return None
        body = response.json()
        self.judge(response, json_body=kwargs.get("json_body"), body=body)
        return body

    def judge(self, response: httpx.Response, *, json_body: Any, body: Any) -> None:
        """The oracle on every answer the suite sees: totals, invoices, proration, derived dates."""
        from contract_tests.oracle.checks import answer_problems

        problems = answer_problems(
            response.request.method, response.request.url.path, json_body, response.status_code, body
        )
        if problems:
            raise self.violation(response, "; ".join(problems[:8]))

    def violation(self, response: httpx.Response, problem: str) -> ContractViolation:
        """Build (not raise) a violation for ``response`` with its curl reproduction."""
        body = response.text[:600]
        return ContractViolation(
            f"{problem}; got {response.status_code}\n  {body}\n"
            f"Reproduce with:\n  {curl_command(response.request, self.target)}"
        )

    def list_all(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following pages when it is paged.

        A target fuller than :data:`WALK_LIMIT` items is not walked: the calling check is skipped with
        the reason (the paging checks use :meth:`sample_pages` instead)."""
        body = self.expect(200, "GET", path, params={**(params or {}), "pageSize": 100} if _paged(path) else params)
        items: list[dict[str, Any]] = list(body["data"])
        if _paged(path) and int(body["total"]) > WALK_LIMIT:
            import pytest

            pytest.skip(f"GET {path} holds {body['total']} items, more than the {WALK_LIMIT} the suite walks")
        page = 1
        while _paged(path) and len(items) < int(body["total"]):
            page += 1
            body = self.expect(200, "GET", path, params={**(params or {}), "pageSize": 100, "page": page})
            if not body["data"]:
                break
            items.extend(body["data"])
        return items

    def sample_pages(self, path: str, size: int, samples: int = 3, seed: int = 0) -> tuple[int, dict[int, Any]]:
        """``(total, {page: body})`` for the first, the last and a few pages between, however full the list:
        a bounded number of requests instead of walking every page."""
        first = self.expect(200, "GET", path, params={"page": 1, "pageSize": size})
        total = int(first["total"])
        last = max(1, -(-total // size))
        import random

        chosen = {1, last, *random.Random(seed).sample(range(1, last + 1), min(samples, last))}
        pages = {1: first}
        for page in sorted(chosen - {1}):
            pages[page] = self.expect(200, "GET", path, params={"page": page, "pageSize": size})
        return total, pages

    def create(self, kind: str, body: Any, status: int = 201) -> Any:
        """POST a new ``kind`` (``quotes``, ``orders``, ``plans``, ``subscriptions``) and remember it for cleanup."""
        response = self.call("POST", f"/{kind}", json_body=body)
        try:
            created = response.json() if 200 <= response.status_code < 300 else None
        except ValueError:
            created = None
        if self.janitor is not None and isinstance(created, dict) and isinstance(created.get("id"), str):
            self.janitor.remember(kind, created["id"])  # whatever the status says, it exists now
        if response.status_code != status:
            raise self.violation(response, f"expected status {status}")
        self.judge(response, json_body=body, body=created)
        return created


WALK_LIMIT = 2000


def _paged(path: str) -> bool:
    """Whether the list at ``path`` is paged: the contract documents ``page`` and ``pageSize`` for it (the suite
    sends a server only the parameters its contract documents)."""
    return {"page", "pageSize"} <= documented_query("GET", path)


def documented_query(method: str, path: str) -> frozenset[str]:
    """The query parameters the contract documents for ``method`` on ``path`` (``/quotes``, with or without
    ``/api/sales``); empty for a path it does not have."""
    from contract_tests.target import spec_path

    return _documented_query(str(spec_path()), method.lower(), path)


@functools.cache
def _documented_query(spec: str, method: str, path: str) -> frozenset[str]:
    import yaml

    with open(spec, encoding="utf-8") as source:
        raw = yaml.safe_load(source) or {}
    paths = raw.get("paths") or {}
    item = paths.get(API_PREFIX + path) or paths.get(path) or {}
    shared = (raw.get("components") or {}).get("parameters") or {}
    found = set()
    for parameter in [*(item.get("parameters") or []), *((item.get(method) or {}).get("parameters") or [])]:
        if "$ref" in parameter:
            parameter = shared.get(str(parameter["$ref"]).rsplit("/", 1)[-1], {})
        if parameter.get("in") == "query":
            found.add(str(parameter.get("name")))
    return frozenset(found)
