"""A throttled target is not a broken one: 429/503 with ``Retry-After`` are retried with bounded backoff.

Both HTTP stacks the suite uses go through here: httpx (the suite's own scenarios, via
:class:`RetryingTransport`) and requests (Schemathesis' calls, via :class:`RetryingAdapter`).
A throttle answer that persists after the retries is handed to the checks like any other
response (so a server that only ever answers 429 is a violation); every retry is counted in
:data:`STATS` and the run's summary says "target throttled".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from contract_tests.interrupts import request_in_flight

THROTTLE_STATUSES = (429, 503)
MAX_RETRIES = 4
MAX_WAIT = 10.0  # seconds, per retry: a Retry-After of an hour is not waited for
MAX_TOTAL_WAIT = 30.0  # seconds, per request


@dataclass
class Stats:
    throttled: int = 0
    retried: int = 0
    persisted: int = 0
    waited: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def line(self) -> str | None:
        if not self.throttled:
            return None
        return (
            f"target throttled: {self.throttled} answer(s) 429/503 with Retry-After, {self.retried} retried "
            f"({self.waited:.1f}s waited), {self.persisted} still throttled after {MAX_RETRIES} retries"
        )


STATS = Stats()


def retry_after(status: int, headers: Any, waited: float, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None: not a throttle answer, or the retries are used up."""
    if status not in THROTTLE_STATUSES:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    with STATS.lock:
        STATS.throttled += 1
    seconds = _seconds(str(value))
    if seconds is None or attempt >= MAX_RETRIES or waited >= MAX_TOTAL_WAIT:
        with STATS.lock:
            STATS.persisted += 1
        return None
    # Bounded exponential backoff: at least what the server asked for (capped), at least 2^attempt/10 s.
    wait = float(min(MAX_WAIT, max(seconds, 0.1 * 2**attempt), MAX_TOTAL_WAIT - waited))
    with STATS.lock:
        STATS.retried += 1
        STATS.waited += wait
    return wait


def _seconds(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryingTransport(httpx.BaseTransport):
    """An httpx transport that retries throttle answers (the request body is re-sent as is)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        waited, attempt = 0.0, 0
        with request_in_flight():
            while True:
                response = self.inner.handle_request(request)
                wait = retry_after(response.status_code, response.headers, waited, attempt)
                if wait is None:
                    return response
                response.read()
                response.close()
                time.sleep(wait)
                waited, attempt = waited + wait, attempt + 1

    def close(self) -> None:
        self.inner.close()


class RetryingAdapter(HTTPAdapter):
    """The same for requests (Schemathesis' network calls)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        waited, attempt = 0.0, 0
        with request_in_flight():
            while True:
                response = super().send(request, *args, **kwargs)
                wait = retry_after(response.status_code, response.headers, waited, attempt)
                if wait is None:
                    return response
                response.close()
                time.sleep(wait)
                waited, attempt = waited + wait, attempt + 1


@contextmanager
def every_requests_session() -> Iterator[None]:
    """Inside: every new requests session retries throttle answers, also those Schemathesis' checks
    open for their own probes (``ignored_auth`` sends without the run's session)."""
    import requests.sessions

    original = requests.sessions.HTTPAdapter  # type: ignore[attr-defined]
    requests.sessions.HTTPAdapter = RetryingAdapter  # type: ignore[attr-defined]
    try:
        yield
    finally:
        requests.sessions.HTTPAdapter = original  # type: ignore[attr-defined]


def session() -> requests.Session:
    """A requests session whose calls retry throttle answers."""
    made = requests.Session()
    adapter = RetryingAdapter()
    made.mount("http://", adapter)
    made.mount("https://", adapter)
    return made
