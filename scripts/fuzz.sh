#!/usr/bin/env bash
# Runs every fuzz target briefly: each one's seed corpus (the f.Add seeds
# and testdata/fuzz/<Target>/ in its package) first, then FUZZTIME of new
# inputs. With -keep, up to KEEP inputs the fuzzer found interesting are
# copied from Go's cache into testdata/fuzz/<Target>/, so they are kept
# in the repository and replayed by every plain `go test`.
#
#   scripts/fuzz.sh            # CI: FUZZTIME=3s per target
#   FUZZTIME=5m scripts/fuzz.sh -keep
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "-keep" ] && keep=true
fuzztime=${FUZZTIME:-3s}
cache=$(go env GOCACHE)/fuzz

grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  dir=$(dirname "$file")
  pkg=$(cd "$dir" && go list .)
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$dir" >/dev/null
    if $keep && [ -d "$cache/$pkg/$target" ]; then
      mkdir -p "$dir/testdata/fuzz/$target"
      ls -t "$cache/$pkg/$target" | head -n "${KEEP:-8}" | while read -r f; do
        cp "$cache/$pkg/$target/$f" "$dir/testdata/fuzz/$target/"
      done
    fi
  done
done

