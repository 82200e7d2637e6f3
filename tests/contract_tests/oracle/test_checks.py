"""The suite's Schemathesis checks are registered by the call where the suite starts, never by an import."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json
from schemathesis.checks import CHECKS
before = set(CHECKS.get_all_names())
from contract_tests.oracle import checks
imported = set(CHECKS.get_all_names())
checks.register_checks()
once = CHECKS.get_all_names()
checks.register_checks()
twice = CHECKS.get_all_names()
ours = [check.__name__ for check in checks.SUITE_CHECKS]
print(json.dumps({"on_import": sorted(imported - before), "ours": ours, "once": once, "twice": twice}))
"""


def test_importing_the_checks_registers_nothing_and_register_checks_does_once() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["on_import"] == []
    assert seen["ours"] and set(seen["ours"]) <= set(seen["once"])
    assert seen["twice"] == seen["once"]  # a second call adds nothing
