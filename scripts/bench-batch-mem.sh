#!/usr/bin/env bash
# Memory and time of `poolblame batch` over 250, 500 and 1,000 generated
# dumps (scripts/mkbatch: small dumps of one machine): the peak RSS and
# wall time of each run, the time per dump, and what each dump adds to
# the peak (the RSS slope from 250 to 1,000 dumps). Each size runs REPS
# times (median kept). With BASE_REV=REV the same runs are made with
# that revision's build, interleaved with this tree's, and the ratios
# this tree / REV are printed: both measured in the same run.
#
#   [BASE_REV=REV] scripts/bench-batch-mem.sh [REPS]     (REPS default 3)
#
# The dumps (about 150 MB) and outputs go to a temporary folder, removed
# at the end. Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE_REV:-}
reps=${1:-3}
sizes=(250 500 1000)
if [ ! -x /usr/bin/time ]; then echo "$0: needs /usr/bin/time (apt-get install time)" >&2; exit 2; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/poolblame-bench-mem.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/mkbatch" ./scripts/mkbatch
go build -o "$work/new" ./cmd/poolblame
builds=(new)
if [ -n "$base" ]; then
	mkdir "$work/src"
	git archive "$base" | tar -x -C "$work/src"
	(cd "$work/src" && go build -o "$work/base" ./cmd/poolblame)
	builds=(base new)
fi

"$work/mkbatch" -n "${sizes[-1]}" -o "$work/dumps/${sizes[-1]}"
all=("$work/dumps/${sizes[-1]}"/*.dmp)
for n in "${sizes[@]}"; do # smaller folders: the first n dumps, linked
	[ -d "$work/dumps/$n" ] && continue
	mkdir -p "$work/dumps/$n"
	ln "${all[@]:0:n}" "$work/dumps/$n/"
done

once() { # build n: prints "wall_seconds peak_rss_kib"
	local out="$work/out-$1-$2"
	rm -rf "$out"
	/usr/bin/time -f '%e %M' -o "$work/time" "$work/$1" batch "$work/dumps/$2" -o "$out" >/dev/null 2>&1 || true
	rm -rf "$out"
	cat "$work/time"
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

declare -A wall rss
for n in "${sizes[@]}"; do
	for b in "${builds[@]}"; do : >"$work/runs-$b-$n"; done
	for ((r = 0; r < reps; r++)); do
		for b in "${builds[@]}"; do once "$b" "$n" >>"$work/runs-$b-$n"; done
	done
	for b in "${builds[@]}"; do
		wall[$b,$n]=$(cut -d' ' -f1 "$work/runs-$b-$n" | median)
		rss[$b,$n]=$(cut -d' ' -f2 "$work/runs-$b-$n" | median)
	done
done

first=${sizes[0]} last=${sizes[-1]}
for b in "${builds[@]}"; do
	for n in "${sizes[@]}"; do
		awk -v b="$b" -v n="$n" -v w="${wall[$b,$n]}" -v m="${rss[$b,$n]}" \
			'BEGIN { printf "%-4s %5d dumps: wall %7.2f s (%5.2f ms/dump)   peak RSS %7.1f MiB\n", b, n, w, 1000*w/n, m/1024 }'
	done
	awk -v b="$b" -v a="${rss[$b,$first]}" -v z="${rss[$b,$last]}" -v wa="${wall[$b,$first]}" -v wz="${wall[$b,$last]}" -v f="$first" -v l="$last" \
		'BEGIN { printf "%-4s per dump: %.1f KiB of peak RSS (slope %d to %d dumps); time per dump at %d / at %d: %.2fx\n", b, (z-a)/(l-f), f, l, l, f, (wz/l)/(wa/f) }'
done
if [ -n "$base" ]; then
	for n in "${sizes[@]}"; do
		awk -v n="$n" -v rb="${rss[base,$n]}" -v rn="${rss[new,$n]}" -v wb="${wall[base,$n]}" -v wn="${wall[new,$n]}" \
			'BEGIN { printf "new/base %5d dumps: peak RSS %.2fx, wall %.2fx\n", n, rn/rb, wn/wb }'
	done
fi
echo "($reps runs per figure, median; the machine's other load varies between runs)"
