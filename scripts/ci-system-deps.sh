#!/usr/bin/env bash
# System packages the test suite needs beyond Python, from Debian: chromium (tests/test_docs_browser.py,
# tests/contract_tests/campaign/test_campaign.py renders the merged report) and redis-server (tests/contract_tests/campaign/test_campaign.py shares a
# Hypothesis example database through it). Idempotent: installs only what is missing. Needs root (CI runs as root).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "ci-system-deps: chromium and redis-server already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
/usr/bin/chromium --version || true
/usr/bin/redis-server --version || true
