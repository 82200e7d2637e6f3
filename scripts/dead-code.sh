#!/usr/bin/env bash
# Dead code in the shipped packages, mock_server/ and contract_tests/ (vulture). The tests and benchmarks
# are read too, so a name they use is not reported, but only lines of the two packages are; names only
# frameworks call (pytest hooks and fixtures, Schemathesis checks, Hypothesis rules, httptools callbacks,
# uvicorn overrides) are listed in vulture_whitelist.py. Exit 1 when anything is found.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
vulture="${VULTURE:-.venv/bin/vulture}"
found="$("$vulture" mock_server contract_tests tests benchmarks vulture_whitelist.py --min-confidence 60 \
  --exclude "tests/mutants/defects.py" | grep -E '^(mock_server|contract_tests)/' || true)"
if [ -n "$found" ]; then
  echo "dead code (remove it, or add a framework-called name to vulture_whitelist.py):" >&2
  echo "$found" >&2
  exit 1
fi
echo "dead-code: none in mock_server/ or contract_tests/"
