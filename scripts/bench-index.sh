#!/usr/bin/env bash
# bench-index.sh: how much does `poolblame tag` cost over grep? Builds a
# folder of synthetic drivers (pe/internal/mkdrivers) plus copies of real
# ones, then measures, in the same run and with a warm page cache, the
# median wall time of 3 runs of:
#   grep -rl TAG          the baseline: which files hold the bytes
#   poolblame tag TAG     --no-cache, with an empty cache (first run), and
#                         with the cache the first run left (later runs)
# for a tag the folder holds (PMEM, in the winpmem copies) and one it does
# not (Zzzz), and prints each as a ratio to grep. cat of every file and
# the peak RSS of the cached run are printed beside.
#
# Usage: scripts/bench-index.sh [SYNTHETIC [COPIES]]
#   SYNTHETIC  synthetic drivers to generate (default 680)
#   COPIES     copies of each real driver (default 40; with the 4 real
#              drivers and the 4 of saferwall/pe's test folder, 1,000 files)
# REAL_DRIVERS names the folder of real drivers (default
# ../shared/realdata/drivers). BASE_REV, when set, also measures
# `tag --no-cache` of that git revision (the figures before a change).
set -euo pipefail

synthetic=${1:-680}
copies=${2:-40}

cd "$(dirname "$0")/.."
real=${REAL_DRIVERS:-../shared/realdata/drivers}
[ -x /usr/bin/time ] || { echo "bench-index.sh: /usr/bin/time (GNU time) is needed" >&2; exit 2; }
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT

go build -o "$work/poolblame" ./cmd/poolblame
if [ -n "${BASE_REV:-}" ]; then
	mkdir -p "$work/base"
	git archive "$BASE_REV" | tar -x -C "$work/base"
	(cd "$work/base" && go build -o "$work/poolblame-base" ./cmd/poolblame)
fi
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

# Warm the page cache so that every command reads from memory.
find "$work/drivers" -type f -exec cat {} + > /dev/null

once() { # file for time's output, command...: wall seconds and peak RSS
	local out=$1
	shift
	/usr/bin/time -v "$@" > /dev/null 2> "$out" || {
		local st=$?
		# grep and poolblame tag exit 1 when the tag is not found.
		[ $st -eq 1 ] || { cat "$out" >&2; exit 2; }
	}
	awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; w=s}
		/Maximum resident set size/ {r=$2} END {print w, r}' "$out"
}

measure() { # name, setup command (run before each try), command...
	local name=$1 setup=$2
	shift 2
	local results=()
	for _ in 1 2 3; do
		eval "$setup"
		results+=("$(once "$work/time.out" "$@")")
	done
	# median of the three by wall time
	local med
	med=$(printf '%s\n' "${results[@]}" | sort -n | sed -n 2p)
	printf '%-34s wall %7.3f s   peak RSS %7d KiB\n' "$name" "${med% *}" "${med#* }"
	eval "secs_$3=${med% *}" 2>/dev/null || true
	last=${med% *}
}

export XDG_CACHE_HOME="$work/cache"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b < 0.001) b = 0.001; printf "%.2fx", a / b }'; }

measure "cat" : find "$work/drivers" -type f -exec cat {} +
for tag in PMEM Zzzz; do
	echo
	echo "tag $tag:"
	measure "grep -rl $tag" : grep -rl "$tag" "$work/drivers"
	g=$last
	if [ -n "${BASE_REV:-}" ]; then
		measure "tag $tag ($BASE_REV)" : "$work/poolblame-base" tag "$tag" --drivers "$work/drivers"
		echo "  ratio to grep: $(ratio "$last" "$g")"
	fi
	measure "tag $tag --no-cache" : "$work/poolblame" tag "$tag" --drivers "$work/drivers" --no-cache
	echo "  ratio to grep: $(ratio "$last" "$g")"
	measure "tag $tag, empty cache" 'rm -rf "$XDG_CACHE_HOME"' "$work/poolblame" tag "$tag" --drivers "$work/drivers"
	echo "  ratio to grep: $(ratio "$last" "$g")"
	rm -rf "$XDG_CACHE_HOME"
	"$work/poolblame" tag "$tag" --drivers "$work/drivers" > /dev/null || true
	measure "tag $tag, cache of a first run" : "$work/poolblame" tag "$tag" --drivers "$work/drivers"
	echo "  ratio to grep: $(ratio "$last" "$g")"
done
