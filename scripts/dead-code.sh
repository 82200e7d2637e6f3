#!/usr/bin/env bash
# Dead code in the shipped packages (vulture). The tests are read too, so a name the tests use is not
# reported; names only frameworks call are listed in vulture_whitelist.py. Exit 1 when anything is found.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
vulture="${VULTURE:-.venv/bin/vulture}"
found="$("$vulture" mock_server contract_tests tests benchmarks vulture_whitelist.py --min-confidence 60 \
  --exclude "tests/mutants/defects.py" | grep -E '^mock_server/' || true)"
if [ -n "$found" ]; then
  echo "dead code (remove it, or add a framework-called name to vulture_whitelist.py):" >&2
  echo "$found" >&2
  exit 1
fi
echo "dead-code: none in mock_server/"
