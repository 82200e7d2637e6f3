#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's chromium for tests/test_docs_browser.py.
# Idempotent: does nothing when /usr/bin/chromium already exists. Needs root (CI runs as root).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "ci-system-deps: chromium already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version || true
