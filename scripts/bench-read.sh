#!/usr/bin/env bash
# Reads every page of a multi-GB sparse dump through package dumpfile, by
# the mapping (File.Pages: MADV_POPULATE_READ, then the pages) and by
# read(2) into one reused buffer (File.ReadPages, what whole-dump scans
# use), and compares each with `cat FILE > /dev/null` in the same run, for
# three states of the page cache: warmed by cat, warmed by a walk of the
# mapping (page faults), and cold (the dump's pages dropped with
# dd iflag=nocache, which touches no other file). Best of 3 each.
# "read" checksums every word it reads, work cat does not do; "read1" reads
# every byte the same way but looks at one word a page: the read path's
# own cost, the fair match for cat. DENSE=1 writes the dump without holes,
# so that cat and the readers copy real page-cache pages instead of the
# file system's zero fill (what a real dump on disk gives).
# Usage: [DENSE=1] scripts/bench-read.sh [GiB of stored pages, default 4]
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
if [ "${DENSE:-0}" = 1 ]; then
	cp --sparse=never "$dir/big.dmp" "$dir/dense.dmp"
	mv "$dir/dense.dmp" "$dir/big.dmp"
fi
echo "dump: $(du -h --apparent-size "$dir/big.dmp" | cut -f1) apparent, $(du -h "$dir/big.dmp" | cut -f1) on disk"

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
warm_cat() { cat "$dir/big.dmp" >/dev/null; }
warm_map() { "$dir/readall" -by map -first-word "$dir/big.dmp" >/dev/null; }
cold() { dd if="$dir/big.dmp" iflag=nocache count=0 status=none; }
best() { # state, command...: best of 3, the state set up before each
	local state=$1 b=999999 t
	shift
	for _ in 1 2 3; do
		$state
		t=$(secs "$@")
		b=$(echo "if ($t < $b) $t else $b" | bc -l)
	done
	echo "$b"
}
for state in warm_cat warm_map cold; do
	t_cat=$(best $state sh -c "cat '$dir/big.dmp' >/dev/null")
	t_map=$(best $state "$dir/readall" -by map "$dir/big.dmp")
	t_read=$(best $state "$dir/readall" -by read "$dir/big.dmp")
	t_read1=$(best $state "$dir/readall" -by read -first-word "$dir/big.dmp")
	printf '%-9s cat %.3f s   map %.3f s (%.2fx)   read %.3f s (%.2fx)   read1 %.3f s (%.2fx)\n' "$state" "$t_cat" \
		"$t_map" "$(echo "$t_map / $t_cat" | bc -l)" "$t_read" "$(echo "$t_read / $t_cat" | bc -l)" \
		"$t_read1" "$(echo "$t_read1 / $t_cat" | bc -l)"
done
"$dir/readall" -by read "$dir/big.dmp"
/usr/bin/time -f 'readall -by read: peak RSS %M KiB' "$dir/readall" -by read "$dir/big.dmp" >/dev/null
/usr/bin/time -f 'readall -by map:  peak RSS %M KiB' "$dir/readall" -by map "$dir/big.dmp" >/dev/null
