#!/usr/bin/env bash
# Build the wheel and use it as a new user would, far from the repository:
#   a fresh virtualenv in a temporary folder, `pip install <wheel>`, then from that folder
#   sales-mock --version / sales-contract --version (the wheel's version), sales-mock spec,
#   sales-mock serve on a free port + sales-mock wait, a Sales API call with the demo key,
#   /openapi.json and the admin spec, serve --spec/--fixtures with the user's own files,
#   sales-contract check --target mock, and the README's pytest-plugin example as a tiny project.
# Any failure stops the script with a line saying which step failed. Uses pip's cache, so a
# second run takes about a minute. Usage: bash scripts/check-wheel.sh   (PYTHON=python3.12 to pick one)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/sales-wheel.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== check-wheel [${SECONDS}s]: $*"; }
fail() { echo "check-wheel: FAILED: $*" >&2; exit 1; }
export PIP_DISABLE_PIP_VERSION_CHECK=1

step "build the wheel from a copy of the working tree (no stale build/ folder can leak in)"
mkdir -p "$work/src" "$work/dist"
git -C "$repo" ls-files -z --cached --others --exclude-standard \
  | (cd "$repo" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) \
  | (cd "$repo" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
"$python" -m pip wheel -q --no-deps --wheel-dir "$work/dist" "$work/src" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; fail "pip wheel"; }
wheel="$(ls "$work"/dist/*.whl)"
expected_version="$(basename "$wheel" | cut -d- -f2)"
step "built $(basename "$wheel")"
for member in mock_server/_openapi/sales.yaml mock_server/_openapi/mock-admin.yaml \
  mock_server/_fixtures/demo.yaml mock_server/_fixtures/empty.yaml mock_server/py.typed; do
  "$python" -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' \
    "$wheel" "$member" || fail "$member is not in the wheel"
done

step "install it into a fresh virtualenv in $work/venv"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "pip install of the wheel"; }
export PATH="$work/venv/bin:$PATH"
mkdir -p "$work/user" && cd "$work/user"   # a user's folder: no repository anywhere on the path
unset SALES_MOCK_SPEC SALES_API_SPEC SALES_API_BASE_URL PYTHONPATH || true

step "the package and its data come from the virtualenv, not the repository"
python - "$work/venv" "$repo" <<'EOF'
import sys
from pathlib import Path

import contract_tests
import mock_server
from mock_server import resources

venv, repo = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
for path in (Path(mock_server.__file__), Path(contract_tests.__file__), resources.spec_path(),
             resources.admin_spec_path(), resources.fixture_path("demo")):
    path = path.resolve()
    assert path.is_relative_to(venv) and not path.is_relative_to(repo), f"{path} is not inside {venv}"
print("check-wheel: files under", venv)
EOF

step "versions"
[ "$(sales-mock --version)" = "sales-mock $expected_version" ] || fail "sales-mock --version: $(sales-mock --version)"
[ "$(sales-contract --version)" = "sales-contract $expected_version" ] \
  || fail "sales-contract --version: $(sales-contract --version)"
echo "sales-mock $expected_version, sales-contract $expected_version"

step "sales-mock spec: the packaged contract on stdout, as written and as JSON"
sales-mock spec >"$work/sales.yaml" || fail "sales-mock spec"
python -c 'import sys; from mock_server import resources; sys.exit(open(sys.argv[1]).read() != resources.spec_path().read_text())' \
  "$work/sales.yaml" || fail "sales-mock spec did not print the packaged spec"
sales-mock spec --format json | python -c 'import json, sys; d = json.load(sys.stdin); assert "/api/sales/quotes" in d["paths"]; print("check-wheel: sales-mock spec --format json:", len(d["paths"]), "paths")' \
  || fail "sales-mock spec --format json"

step "sales-mock serve on a free port"
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
sales-mock serve --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
sales-mock wait "$base" --timeout 30 || { cat "$work/serve.log" >&2; fail "the mock did not start"; }
python - "$base" <<'EOF'
import json
import sys
import urllib.request

base = sys.argv[1]
entity = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
request = urllib.request.Request(
    f"{base}/api/sales/quotes?entityId={entity}&pageSize=2", headers={"Authorization": "Bearer ak_demo_readwrite"}
)
with urllib.request.urlopen(request, timeout=10) as answer:
    page = json.load(answer)
assert answer.status == 200 and page["total"] > 0 and len(page["data"]) == 2, page
with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as answer:
    spec = json.load(answer)
assert spec["openapi"].startswith("3.1") and len(spec["paths"]) >= 10, sorted(spec)
with urllib.request.urlopen(f"{base}/__admin/openapi.yaml", timeout=10) as answer:
    admin = answer.read()
assert answer.status == 200 and b"openapi:" in admin and b"/entities" in admin, admin[:200]
print(f"check-wheel: listQuotes 200 ({page['total']} quotes), /openapi.json {len(spec['paths'])} paths, admin spec served")
EOF
kill "$server_pid" && wait "$server_pid" || true
server_pid=""

step "sales-mock serve with the user's own spec and fixtures; unreadable ones are one-line errors (exit 2)"
python -c 'from mock_server import resources; import shutil; shutil.copy(resources.spec_path(), "my-spec.yaml")'
printf 'entities:\n  - id: 11111111-2222-4333-8444-555555555555\n    name: Mine\n    baseCurrency: USD\n    apiKeys: [{key: ak_mine, scopes: ["read:sales", "write:sales"]}]\n' >my-fixtures.yaml
sales-mock serve --port "$port" --spec my-spec.yaml --fixtures my-fixtures.yaml >"$work/serve2.log" 2>&1 &
server_pid=$!
sales-mock wait "$base" --timeout 30 || { cat "$work/serve2.log" >&2; fail "the mock with user files did not start"; }
status="$(python -c 'import sys, urllib.request as u; r = u.Request(sys.argv[1], headers={"Authorization": "Bearer ak_mine"}); print(u.urlopen(r, timeout=10).status)' \
  "$base/api/sales/plans?entityId=11111111-2222-4333-8444-555555555555")"
[ "$status" = 200 ] || fail "the user's fixture key was not accepted ($status)"
kill "$server_pid" && wait "$server_pid" || true
server_pid=""
for bad in "--spec missing.yaml" "--fixtures missing.yaml" "--fixtures no_such_name"; do
  set +e
  # shellcheck disable=SC2086
  message="$(sales-mock serve --port "$port" $bad 2>&1 >/dev/null)"
  code=$?
  set -e
  [ "$code" = 2 ] && [ "$(printf '%s\n' "$message" | wc -l)" = 1 ] || fail "serve $bad: exit $code, message: $message"
  echo "serve $bad -> exit 2: $message"
done

step "sales-contract check --target mock"
sales-contract check --target mock >"$work/contract.log" 2>&1 || { tail -40 "$work/contract.log" >&2; fail "sales-contract check"; }
tail -1 "$work/contract.log"
set +e
message="$(sales-contract check --target mock --spec missing.yaml 2>&1 >/dev/null)"
code=$?
set -e
[ "$code" = 2 ] || fail "sales-contract check --spec missing.yaml: exit $code ($message)"

step "the README's pytest-plugin example as a project of its own"
mkdir -p "$work/plugin-project" && cd "$work/plugin-project"
python "$repo/tests/readme_blocks.py" "$repo/README.md" --plugin-example >test_plugin_example.py \
  || fail "no pytest-plugin example found in README.md"
python -m pytest -q -p no:cacheprovider test_plugin_example.py >"$work/plugin.log" 2>&1 \
  || { cat "$work/plugin.log" >&2; fail "the README's plugin example"; }
tail -1 "$work/plugin.log"
grep -q " passed" "$work/plugin.log" || fail "the plugin example ran no test"

echo "check-wheel: OK ($(basename "$wheel"), ${SECONDS}s)"
