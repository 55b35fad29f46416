#!/usr/bin/env bash
# Reads every page of a multi-GB sparse dump through package dumpfile and
# compares the time with `cat FILE > /dev/null` in the same run.
# Usage: scripts/bench-read.sh [GiB of stored pages, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pages=$((gib * 262144))
# Arch 3 = x64, Type 5 = bitmap dump; stored pages beyond the planted ones
# are zero pages written as file holes.
printf '{"Arch": 3, "Type": 5, "StoredPages": %d, "MemoryPages": %d}\n' "$pages" $((pages * 2)) >"$dir/spec.json"
go run ./dumpfile/dumptest/cmd/mkdump -spec "$dir/spec.json" -o "$dir/big.dmp"
go build -o "$dir/readall" ./scripts/readall
echo "dump: $(du -h --apparent-size "$dir/big.dmp" | cut -f1) apparent, $(du -h "$dir/big.dmp" | cut -f1) on disk"

cat "$dir/big.dmp" >/dev/null # warm the page cache for both runs
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
best() { local b=999999 t; for _ in 1 2 3; do t=$(secs "$@"); b=$(echo "if ($t < $b) $t else $b" | bc -l); done; echo "$b"; }
t_cat=$(best sh -c "cat '$dir/big.dmp' >/dev/null")
t_read=$(best "$dir/readall" "$dir/big.dmp")
t_walk=$(best "$dir/readall" -first-word "$dir/big.dmp")
"$dir/readall" "$dir/big.dmp"
printf 'cat:      %.3f s\ndumpfile: %.3f s (every stored page, PFN order, every byte checksummed)\nwalk:     %.3f s (every stored page, one word read from each)\nratio dumpfile/cat: %.2f, walk/cat: %.2f\n' \
  "$t_cat" "$t_read" "$t_walk" "$(echo "$t_read / $t_cat" | bc -l)" "$(echo "$t_walk / $t_cat" | bc -l)"
/usr/bin/time -f 'readall peak RSS: %M KiB' "$dir/readall" "$dir/big.dmp" >/dev/null
