#!/usr/bin/env bash
# Lint the OpenAPI documents with an independent linter: Redocly CLI (rules: redocly.yaml, `recommended`).
# Installs @redocly/cli into .cache/redocly on first use (needs the npm registry once), then runs offline.
# Exits non-zero if any document has a lint error. Warnings are printed but do not fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="2.77.0"
prefix=".cache/redocly"
redocly="$prefix/node_modules/.bin/redocly"
installed="$prefix/node_modules/@redocly/cli/package.json"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "lint-spec: node and npm are required (Node.js 20+)" >&2
  exit 2
fi
if [ ! -x "$redocly" ] || ! grep -q "\"version\": \"$version\"" "$installed" 2>/dev/null; then
  echo "lint-spec: installing @redocly/cli@$version into $prefix ..." >&2
  mkdir -p "$prefix"
  npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" "@redocly/cli@$version" >&2
fi

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

specs=(openapi/sales.yaml)
[ -f openapi/mock-admin.yaml ] && specs+=(openapi/mock-admin.yaml)

status=0
for spec in "${specs[@]}"; do
  "$redocly" lint --config redocly.yaml "$spec" || status=1
done
exit "$status"
