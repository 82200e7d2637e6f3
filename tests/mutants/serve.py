"""Serve the mock with one defect applied: ``python tests/mutants/serve.py NAME --port N``.

``NAME`` is a key of ``defects.MUTANTS`` or ``none`` (the true mock, wrapped the same way).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
from catalog import Mutant, MutantMiddleware
from defects import MUTANTS, OTHER_SERVERS

from mock_server.app import create_app
from mock_server.config import MockConfig


def build(name: str, clock: str) -> object:
    known = {**MUTANTS, **OTHER_SERVERS}
    mutant = known[name] if name != "none" else Mutant("none", "the true mock")
    config = MockConfig(clock=clock, fixtures=mutant.fixtures() if mutant.fixtures else "demo")
    return MutantMiddleware(create_app(config), mutant)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=[*MUTANTS, *OTHER_SERVERS, "none"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clock", default="2025-03-01T00:00:00Z")
    args = parser.parse_args()
    uvicorn.run(build(args.name, args.clock), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
