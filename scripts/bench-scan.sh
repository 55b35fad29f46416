#!/usr/bin/env bash
# One pool scan pass over a multi-GB sparse dump (one pool page in every
# 64 stored pages, the rest zero pages stored as file holes), timed against
# `cat FILE > /dev/null` over the same bytes in the same run, for the
# segment heap (Windows 10 2004) and classic pool (Windows 7).
# Usage: scripts/bench-scan.sh [GiB of stored pages, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/scanbench" ./scripts/scanbench
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
best() { local b=999999 t; for _ in 1 2 3; do t=$(secs "$@"); b=$(echo "if ($t < $b) $t else $b" | bc -l); done; echo "$b"; }
for build in 19041 7601; do
  "$dir/scanbench" -make -gib "$gib" -build "$build" "$dir/big.dmp"
  echo "build $build dump: $(du -h --apparent-size "$dir/big.dmp" | cut -f1) apparent, $(du -h "$dir/big.dmp" | cut -f1) on disk"
  cat "$dir/big.dmp" >/dev/null # warm the page cache for both runs
  t_cat=$(best sh -c "cat '$dir/big.dmp' >/dev/null")
  t_scan=$(best "$dir/scanbench" "$dir/big.dmp")
  "$dir/scanbench" "$dir/big.dmp"
  printf 'cat:  %.3f s\nscan: %.3f s\nthroughput ratio scan/cat (cat time / scan time, 0.7 or more is the target): %.2f\n' \
    "$t_cat" "$t_scan" "$(echo "$t_cat / $t_scan" | bc -l)"
  /usr/bin/time -f 'scan peak RSS: %M KiB' "$dir/scanbench" "$dir/big.dmp" >/dev/null
  rm -f "$dir/big.dmp"
done
