#!/usr/bin/env bash
# Runs the whole test suite. Installs what the browser test needs
# (Debian's chromium) when it is missing and the machine allows it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the HTML report test..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed: the HTML screenshot test will be skipped"
fi
# Real data (dumps, drivers, snapshots kept as evidence) is found through
# POOLBLAME_REALDATA, or ../shared/realdata beside the checkout.
if [ -z "${POOLBLAME_REALDATA:-}" ] && [ ! -d ../shared/realdata ]; then
  echo "real data absent: the tests that need it are skipped (set POOLBLAME_REALDATA=DIR to run them)"
fi
go test -count=1 ./... "$@"
