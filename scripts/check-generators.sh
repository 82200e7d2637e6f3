#!/usr/bin/env bash
# Code generators must accept the specs: a Python client (openapi-python-client, PyPI) and TypeScript
# types (openapi-typescript, npm) with zero errors and zero warnings, then a smoke scenario with the
# generated Python client against the mock (scripts/generated_client_smoke.py).
#
# Installs the generators on first use (needs PyPI and the npm registry once): openapi-python-client
# into its own virtualenv .cache/generators/venv (its pins must not mix with the project's), and
# openapi-typescript + typescript into .cache/node. Generates into a temporary folder, removed at exit.
# MOCK_PYTHON is the Python with mock_server installed (default: the project's virtualenv).
# Run by tests/test_generators.py (in the default test run); exits non-zero on any error or warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

python_client_version="0.29.1"
typescript_generator_version="7.13.0"
typescript_version="5.9.3"
venv="$root/.cache/generators/venv"
node_prefix="$root/.cache/node"
mock_python="${MOCK_PYTHON:-${SALES_VENV:-$root/.venv}/bin/python}"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "check-generators: node and npm are required (Node.js 20+)" >&2
  exit 2
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

exec 9>"$root/.cache/generators.lock" 2>/dev/null || { mkdir -p "$root/.cache" && exec 9>"$root/.cache/generators.lock"; }
flock 9
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$python_client_version" ]; then
  echo "check-generators: installing openapi-python-client $python_client_version into $venv ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q "openapi-python-client==$python_client_version" >&2
  echo "$python_client_version" >"$venv/.installed"
fi
want_node="openapi-typescript@$typescript_generator_version typescript@$typescript_version"
if [ "$(cat "$node_prefix/.installed" 2>/dev/null)" != "$want_node" ]; then
  echo "check-generators: installing $want_node into $node_prefix ..." >&2
  mkdir -p "$node_prefix"
  # shellcheck disable=SC2086
  npm install --no-audit --no-fund --loglevel=error --prefix "$node_prefix" $want_node >&2
  echo "$want_node" >"$node_prefix/.installed"
fi
flock -u 9

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0

# Any line but the generator's own progress lines is a warning or an error.
fail_on_noise() {
  local what="$1" log="$2" allowed="$3"
  if grep -v -E "$allowed" "$log" | grep -q -E '[^[:space:]]'; then
    echo "check-generators: $what printed warnings or errors:" >&2
    grep -v -E "$allowed" "$log" >&2
    status=1
  fi
}

echo "== openapi-python-client $python_client_version: openapi/sales.yaml"
if (cd "$work" && PATH="$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate \
      --path "$root/openapi/sales.yaml" --meta none --output-path sales_client) >"$work/python.log" 2>&1; then
  fail_on_noise "openapi-python-client" "$work/python.log" '^Generating sales_client$'
else
  echo "check-generators: openapi-python-client failed:" >&2
  cat "$work/python.log" >&2
  exit 1
fi

tsc_inputs=()
for spec in openapi/sales.yaml openapi/mock-admin.yaml; do
  [ -f "$spec" ] || continue
  name="$(basename "$spec" .yaml)"
  echo "== openapi-typescript $typescript_generator_version: $spec"
  if "$node_prefix/node_modules/.bin/openapi-typescript" "$spec" --redocly redocly.yaml \
       -o "$work/$name.d.ts" >"$work/$name.log" 2>&1; then
    fail_on_noise "openapi-typescript ($spec)" "$work/$name.log" '^(✨ openapi-typescript|🚀 )'
  else
    echo "check-generators: openapi-typescript failed on $spec:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
  tsc_inputs+=("$work/$name.d.ts")
done

# The types compile, and the order-from-quote form is a typed object of the request union.
cat >"$work/usage.ts" <<'TS'
import type { components } from "./sales";
type Schemas = components["schemas"];
const fromQuote: Schemas["CreateOrderRequest"] = {
  quoteId: "6d1f2e3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
  orderDate: "2025-03-12",
};
const grace: Schemas["DunningRequest"] = { action: "grace_period", graceDays: 10 };
export const bodies: [Schemas["CreateOrderFromQuoteRequest"], Schemas["GracePeriodRequest"]] = [
  fromQuote as Schemas["CreateOrderFromQuoteRequest"],
  grace as Schemas["GracePeriodRequest"],
];
TS
echo "== tsc --strict on the generated types"
"$node_prefix/node_modules/.bin/tsc" --strict --noEmit --skipLibCheck false "${tsc_inputs[@]}" "$work/usage.ts" || status=1

echo "== smoke scenario with the generated Python client"
PYTHONPATH="$work" "$venv/bin/python" scripts/generated_client_smoke.py --mock-python "$mock_python" || status=1

[ "$status" = 0 ] && echo "check-generators: OK"
exit "$status"
