#!/usr/bin/env bash
# lint: staticcheck and golangci-lint at the versions install-tools.sh pins,
# on non-test code. Exits 1 when either reports a finding; the last line
# says how many findings each printed.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! tools=$(./scripts/install-tools.sh); then
  echo "lint: the linters could not be installed"
  exit 1
fi
sc=$("$tools/staticcheck" -tests=false ./... 2>&1); scs=$?
gl=$("$tools/golangci-lint" run ./... 2>&1); gls=$?
[ -n "$sc" ] && echo "$sc"
[ -n "$gl" ] && echo "$gl"
pos='^[^ ]+\.go:[0-9]+:[0-9]+: '
echo "lint: staticcheck $(printf '%s\n' "$sc" | grep -cE "$pos") findings, golangci-lint $(printf '%s\n' "$gl" | grep -cE "$pos") findings"
[ $scs = 0 ] && [ $gls = 0 ]
