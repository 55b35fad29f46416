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
go test -count=1 ./... "$@"
