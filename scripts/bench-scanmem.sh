#!/usr/bin/env bash
# Peak memory of a pool scan against the number of blocks it finds: three
# sparse dumps of the same size (GiB of stored pages, default 4) with one
# segment-heap pool page of 40 'Leak' blocks in every 84, 42 and 16 stored
# pages (0.5 M, 1 M and 2.6 M blocks). For each, the peak RSS of the scan
# alone (scripts/scanbench) and of `poolblame poolfind DUMP Leak --contents`
# listing every block to /dev/null, and the peak of their anonymous memory
# (RssAnon sampled every 50 ms: what the process allocates, without the
# dump's pages the kernel maps in from its page cache on page faults).
# Flat figures down a column mean memory does not grow with the blocks
# found. BASE_REV=REV measures that revision's binaries on the same dumps.
# Usage: [BASE_REV=REV] scripts/bench-scanmem.sh [GiB, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
dir=$(mktemp -d)
cleanup() {
	[ -n "${BASE_REV:-}" ] && git worktree remove --force "$dir/base" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
go build -o "$dir/scanbench" ./scripts/scanbench
go build -o "$dir/poolblame" ./cmd/poolblame
revs=(new)
if [ -n "${BASE_REV:-}" ]; then
	git worktree add --detach "$dir/base" "$BASE_REV" >/dev/null 2>&1
	(cd "$dir/base" && go build -o "$dir/scanbench.base" ./scripts/scanbench && go build -o "$dir/poolblame.base" ./cmd/poolblame)
	revs+=(base)
fi
rss() { /usr/bin/time -f '%M' -o "$dir/rss" "$@" >/dev/null 2>&1; cat "$dir/rss"; }
# peak_anon CMD...: the command's peak RssAnon in KiB.
peak_anon() {
	"$@" >/dev/null 2>&1 &
	local pid=$! top=0 v
	while kill -0 "$pid" 2>/dev/null; do
		v=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		if [ -n "$v" ] && [ "$v" -gt "$top" ]; then top=$v; fi
		sleep 0.05
	done
	wait "$pid" || true
	echo "$top"
}
printf '%-6s %9s %-5s %14s %14s %18s %18s %9s\n' every blocks rev "scan RSS KiB" "scan anon KiB" "poolfind RSS KiB" "poolfind anon KiB" rows
for every in 84 42 16; do
	"$dir/scanbench" -make -gib "$gib" -every "$every" "$dir/big.dmp"
	blocks=$("$dir/scanbench" "$dir/big.dmp" | sed 's/.*Leak in use //')
	for rev in "${revs[@]}"; do
		sfx=""
		[ "$rev" = base ] && sfx=.base
		s=$(rss "$dir/scanbench$sfx" "$dir/big.dmp")
		sa=$(peak_anon "$dir/scanbench$sfx" "$dir/big.dmp")
		p=$(rss "$dir/poolblame$sfx" poolfind "$dir/big.dmp" Leak --contents)
		pa=$(peak_anon "$dir/poolblame$sfx" poolfind "$dir/big.dmp" Leak --contents)
		rows=$("$dir/poolblame$sfx" poolfind "$dir/big.dmp" Leak --csv | tail -n +2 | wc -l)
		printf '%-6s %9s %-5s %14s %14s %18s %18s %9s\n' "$every" "$blocks" "$rev" "$s" "$sa" "$p" "$pa" "$rows"
	done
	rm -f "$dir/big.dmp"
done
