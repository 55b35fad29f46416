#!/usr/bin/env bash
# One pool scan pass over a multi-GB sparse dump (one pool page in every
# 64 stored pages, the rest zero pages stored as file holes), timed against
# `cat FILE > /dev/null` over the same bytes in the same run, for the
# segment heap (Windows 10 2004) and classic pool (Windows 7); then the
# same over an all-pool dump (ALL_GIB GiB, default 1: every stored page a
# pool page of 126 blocks of 32 bytes, what the per-block cost shows). Runs are
# interleaved (cat, scan, cat, scan, ...) so that the load of other
# processes falls on both alike; the best of five of each is compared, by
# wall time and by CPU time (user + system). BASE_REV=REV builds that
# revision's scanbench too and times it in the same rounds.
# Usage: [BASE_REV=REV] [ALL_GIB=N] scripts/bench-scan.sh [GiB of stored pages, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
allgib=${ALL_GIB:-1}
dir=$(mktemp -d)
cleanup() {
	[ -n "${BASE_REV:-}" ] && git worktree remove --force "$dir/base" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
go build -o "$dir/scanbench" ./scripts/scanbench
progs=(cat scan)
if [ -n "${BASE_REV:-}" ]; then
	git worktree add --detach "$dir/base" "$BASE_REV" >/dev/null 2>&1
	(cd "$dir/base" && go build -o "$dir/scanbench.base" ./scripts/scanbench)
	progs+=(base)
fi
# run PROG: one timed run; prints "wall cpu" in seconds.
run() {
	local out
	case $1 in
	cat) out=$( { /usr/bin/time -f '%e %U %S' cat "$dir/big.dmp" >/dev/null; } 2>&1) ;;
	scan) out=$( { /usr/bin/time -f '%e %U %S' "$dir/scanbench" "$dir/big.dmp" >/dev/null; } 2>&1) ;;
	base) out=$( { /usr/bin/time -f '%e %U %S' "$dir/scanbench.base" "$dir/big.dmp" >/dev/null; } 2>&1) ;;
	esac
	echo "$out" | tail -1 | awk '{printf "%s %.2f\n", $1, $2 + $3}'
}
# bench LABEL MAKE-ARGS...: makes the dump, then times cat and the scans.
bench() {
	local label=$1
	shift
	"$dir/scanbench" -make "$@" "$dir/big.dmp"
	echo "$label dump: $(du -h --apparent-size "$dir/big.dmp" | cut -f1) apparent, $(du -h "$dir/big.dmp" | cut -f1) on disk"
	cat "$dir/big.dmp" >/dev/null # warm the page cache for every run
	"$dir/scanbench" "$dir/big.dmp"
	declare -A wall=() cpu=()
	for _ in 1 2 3 4 5; do
		for p in "${progs[@]}"; do
			read -r w c < <(run "$p")
			wall[$p]="${wall[$p]:-} $w"
			cpu[$p]="${cpu[$p]:-} $c"
		done
	done
	best() { tr ' ' '\n' <<<"$1" | grep . | sort -g | head -1; }
	for p in "${progs[@]}"; do
		printf '%-5s wall %s  cpu %s   (best %.2f s wall, %.2f s cpu)\n' "$p" "${wall[$p]}" "${cpu[$p]}" "$(best "${wall[$p]}")" "$(best "${cpu[$p]}")"
	done
	for p in "${progs[@]:1}"; do
		printf '%s/cat throughput ratio (cat time / %s time; 0.7 or more is the target): %.2f by wall time, %.2f by CPU time\n' "$p" "$p" \
			"$(echo "$(best "${wall[cat]}") / $(best "${wall[$p]}")" | bc -l)" "$(echo "$(best "${cpu[cat]}") / $(best "${cpu[$p]}")" | bc -l)"
	done
	/usr/bin/time -f 'scan peak RSS: %M KiB' "$dir/scanbench" "$dir/big.dmp" >/dev/null
	rm -f "$dir/big.dmp"
}
for build in 19041 7601; do
	bench "build $build" -gib "$gib" -build "$build"
done
for build in 19041 7601; do
	bench "build $build all-pool" -gib "$allgib" -build "$build" -every 1 -size 32 -blocks 126
done
