"""``sales-mock wait [URL]``: block until a mock answers, for CI jobs that start it in the background.

A base URL (``http://127.0.0.1:4010``) is probed at ``/openapi.json`` (public even with an admin
token); a URL with a path is probed as given. Ready means an HTTP answer of 200-399. Exit 0 when
ready, 1 after ``--timeout`` seconds (one line saying what the last attempt got), 2 for a bad URL.
Standard library only.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:4010"
PROBE_PATH = "/openapi.json"


def add_wait_parser(commands: Any) -> None:
    """Register the ``wait`` subcommand on the ``sales-mock`` parser."""
    wait = commands.add_parser(
        "wait", help="wait until a mock answers (for CI)", description="Wait until a mock (or any URL) answers."
    )
    wait.add_argument("url", nargs="?", default=DEFAULT_URL, help=f"base URL or full URL (default {DEFAULT_URL})")
    wait.add_argument("--timeout", type=_seconds, default=30.0, help="give up after this many seconds (default 30)")
    wait.add_argument("--interval", type=_seconds, default=0.2, help="pause between attempts (default 0.2)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text} seconds is out of range (0, 86400]")
    return value


def probe_url(url: str) -> str:
    """The URL to poll: ``/openapi.json`` of a base URL, else ``url`` itself. ValueError if not http(s)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"invalid URL {url!r}: expected http(s)://host:port[/path]")
    if parts.path in ("", "/") and not parts.query:
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, PROBE_PATH, "", ""))
    return url


def attempt(url: str, timeout: float) -> tuple[bool, str]:
    """One GET: (ready?, what happened)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return False, str(reason) or type(error).__name__
    return 200 <= status < 400, f"HTTP {status}"


def wait_for(url: str, timeout: float, interval: float = 0.2) -> tuple[bool, str, float]:
    """Poll ``url`` until it is ready or ``timeout`` seconds passed: (ready?, last outcome, seconds waited)."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        remaining = deadline - time.monotonic()
        ready, outcome = attempt(url, timeout=max(0.1, min(2.0, remaining)))
        if ready or time.monotonic() + interval > deadline:
            return ready, outcome, time.monotonic() - start
        time.sleep(interval)


def run_wait(args: argparse.Namespace) -> int:
    """``sales-mock wait``: 0 when ready, 1 on timeout, 2 for a bad URL."""
    try:
        url = probe_url(args.url)
    except ValueError as error:
        print(f"sales-mock: error: {error}", file=sys.stderr)
        return 2
    ready, outcome, waited = wait_for(url, args.timeout, args.interval)
    if ready:
        print(f"sales-mock: {url} is ready ({outcome} after {waited:.1f}s)", flush=True)
        return 0
    print(f"sales-mock: {url} not ready after {args.timeout:g}s (last attempt: {outcome})", file=sys.stderr)
    return 1
