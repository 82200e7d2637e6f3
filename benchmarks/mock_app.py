"""The mock as a plain ASGI app for other servers (``benchmarks/servers.py``): demo fixtures,
frozen clock, response validation off (what ``sales-mock serve`` runs, minus its uvicorn set-up)."""

from __future__ import annotations

import gc

from mock_server.app import create_app
from mock_server.config import MockConfig

app = create_app(MockConfig(clock="2025-03-01T00:00:00Z"))
gc.collect()
gc.freeze()
