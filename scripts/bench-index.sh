#!/usr/bin/env bash
# bench-index.sh: how much does `poolblame tag` cost over just reading the
# drivers? Builds a folder of synthetic drivers (pe/internal/mkdrivers)
# plus copies of real ones, then measures, in the same run and with a warm
# page cache, `cat` of every file and `poolblame tag` over the folder, with
# /usr/bin/time -v (wall time, peak RSS).
#
# Usage: scripts/bench-index.sh [SYNTHETIC [COPIES]]
#   SYNTHETIC  synthetic drivers to generate (default 400)
#   COPIES     copies of each real driver (default 40)
# REAL_DRIVERS names the folder of real drivers (default
# /work/shared/realdata/drivers); the .sys files shipped in the saferwall/pe
# module's test folder are added when the module cache has them.
set -euo pipefail

synthetic=${1:-400}
copies=${2:-40}
real=${REAL_DRIVERS:-/work/shared/realdata/drivers}

cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench-index.sh: /usr/bin/time (GNU time) is needed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/poolblame" ./cmd/poolblame
mkdir -p "$work/drivers"
go run ./pe/internal/mkdrivers -o "$work/drivers" -n "$synthetic"

sources=()
[ -d "$real" ] && sources+=("$real"/*.sys)
modtest="$(go env GOMODCACHE)/github.com/saferwall/pe@v1.6.5/test"
[ -d "$modtest" ] && sources+=("$modtest"/*.sys)
for i in $(seq 1 "$copies"); do
	mkdir -p "$work/drivers/copy$i"
	for f in "${sources[@]}"; do
		cp "$f" "$work/drivers/copy$i/"
	done
done
chmod -R a-w "$work/drivers"

files=$(find "$work/drivers" -type f | wc -l)
bytes=$(find "$work/drivers" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "folder: $files files, $((bytes / 1024 / 1024)) MiB ($synthetic synthetic, $copies copies of ${#sources[@]} real drivers)"

# Warm the page cache so that both commands read from memory.
find "$work/drivers" -type f -exec cat {} + > /dev/null

measure() { # name, command...
	local name=$1
	shift
	/usr/bin/time -v "$@" > /dev/null 2> "$work/$name.time" || {
		local st=$?
		# poolblame tag exits 1 when a tag is not found: not a failure here.
		[ "$name" = poolblame ] && [ $st -eq 1 ] || { cat "$work/$name.time" >&2; exit 2; }
	}
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$name.time")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
	# h:mm:ss or m:ss.ss to seconds
	secs=$(echo "$wall" | awk -F: '{s=0; for (i=1; i<=NF; i++) s=s*60+$i; print s}')
	printf '%-10s wall %8.2f s   peak RSS %8d KiB\n' "$name" "$secs" "$rss"
	eval "${name}_secs=$secs ${name}_rss=$rss"
}

measure cat find "$work/drivers" -type f -exec cat {} +
measure poolblame "$work/poolblame" tag PMEM Zzzz --drivers "$work/drivers"
awk -v a="$poolblame_secs" -v b="$cat_secs" -v c="$poolblame_rss" -v d="$cat_rss" 'BEGIN {
	if (b < 0.01) b = 0.01
	printf "ratio      wall %.1fx   peak RSS %.1fx  (poolblame tag / cat)\n", a / b, c / d
}'
