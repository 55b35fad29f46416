#!/usr/bin/env bash
# bench-compressed.sh: does a batch over compressed dumps cost more than
# decompressing them? Writes N dumps of 64 MiB (a bitmap dump from
# dumptest/cmd/mkdump with 28 MiB of Go source text in its unused pages, so
# that it compresses like real memory rather than like zeros), compresses
# them with gzip and with zstd, and one dump of 1 GiB (the same text every
# 64 MiB) with zstd, then measures in the same run, warm page cache:
#   gzip -dc / zstd -dc FILE > /dev/null, once per file     (the baseline)
#   the same tool with every file in one process            (no process start per file)
#   poolblame batch over the same files, one worker and the default
# The machine may be shared: every command runs once per round, the rounds
# interleave baseline and batches (and BASE_REV's batch), and each row is
# the median of the rounds, wall time and CPU time (user+sys), with its
# ratio to the baseline's median of the same kind, and the wall and CPU
# ratios to the one-process run. A process start costs tens of
# milliseconds of CPU on a loaded virtual machine: the one-process run is
# the decoder's own speed.
#
# Usage: scripts/bench-compressed.sh [N [ROUNDS]]   (default 20 and 5)
# BASE_REV, when set, also measures the batch of that git revision.
# BIG=0 leaves out the 1 GiB dump; GZ=0 the .gz inputs; KEEP=1 keeps them.
set -euo pipefail
n=${1:-20}
rounds=${2:-5}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then echo "inputs kept in $work"; else trap 'rm -rf "$work"' EXIT; fi

go build -o "$work/poolblame" ./cmd/poolblame
if [ -n "${BASE_REV:-}" ]; then
	mkdir -p "$work/base"
	git archive "$BASE_REV" | tar -x -C "$work/base"
	(cd "$work/base" && go build -o "$work/poolblame-base" ./cmd/poolblame)
fi
find "$(go env GOROOT)/src" -name '*.go' -print0 | xargs -0 cat 2>/dev/null | head -c $((28 << 20)) > "$work/text.bin" || true
printf '{"Arch": 3, "Type": 5, "StoredPages": 16384, "MemoryPages": 32768}\n' > "$work/spec.json"
go run ./dumpfile/dumptest/cmd/mkdump -spec "$work/spec.json" -o "$work/one.dmp"
dd if="$work/text.bin" of="$work/one.dmp" bs=1M seek=16 conv=notrunc status=none
mkdir -p "$work/gz" "$work/zst" "$work/big"
for i in $(seq 1 "$n"); do
	cp "$work/one.dmp" "$work/d$i.dmp"
	printf "dump %08d" "$i" | dd of="$work/d$i.dmp" bs=1 seek=$((0x1F00)) conv=notrunc status=none # distinct headers: batch skips repeated dumps
	[ "${GZ:-1}" = 0 ] || gzip -c "$work/d$i.dmp" > "$work/gz/d$i.dmp.gz"
	zstd -q -c "$work/d$i.dmp" > "$work/zst/d$i.dmp.zst"
	rm "$work/d$i.dmp"
done
kinds="zst"
[ "${GZ:-1}" = 0 ] || kinds="gz zst"
echo "$n dumps of 64 MiB: $(for k in $kinds; do printf '.%s %s  ' "$k" "$(du -sh "$work/$k" | cut -f1)"; done)"
if [ "${BIG:-1}" != 0 ]; then
	printf '{"Arch": 3, "Type": 5, "StoredPages": 262144, "MemoryPages": 524288}\n' > "$work/bigspec.json"
	go run ./dumpfile/dumptest/cmd/mkdump -spec "$work/bigspec.json" -o "$work/big.dmp"
	for off in $(seq 16 64 1000); do
		dd if="$work/text.bin" of="$work/big.dmp" bs=1M seek="$off" conv=notrunc status=none
	done
	zstd -q -c "$work/big.dmp" > "$work/big/big.dmp.zst"
	rm "$work/big.dmp"
	kinds="$kinds big"
	echo "one dump of 1 GiB: .zst $(du -sh "$work/big" | cut -f1)"
fi
for k in $kinds; do cat "$work/$k"/* > /dev/null; done

# run LABEL CMD...: one timed run, appended to $work/t-LABEL as "wall cpu".
run() {
	local label=$1
	shift
	rm -rf "$work/out"
	/usr/bin/time -o "$work/one-time" -f '%e %U %S' "$@" > /dev/null 2>&1 || true
	awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$work/one-time" >> "$work/t-$label"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { cut -d' ' -f"$2" "$work/t-$1" | median; } # LABEL FIELD (1 wall, 2 cpu)
ratio() { echo "$1 / $2" | bc -l; }
row() { # LABEL TITLE: against the baseline, and the one-process run when there is one
	local w c
	w=$(med "$1" 1)
	c=$(med "$1" 2)
	printf '  %-34s wall %7.3f s %6.2fx   cpu %7.3f s %6.2fx' "$2" "$w" "$(ratio "$w" "$(med base 1)")" "$c" "$(ratio "$c" "$(med base 2)")"
	if [ -s "$work/t-one" ]; then
		printf '   (one process: wall %5.2fx, cpu %5.2fx)' "$(ratio "$w" "$(med one 1)")" "$(ratio "$c" "$(med one 2)")"
	fi
	echo
}

for kind in $kinds; do
	rm -f "$work"/t-*
	rm -rf "$work/out"
	echo "$kind: $("$work/poolblame" batch -o "$work/out" "$work/$kind" 2> /dev/null | head -1)"
	case $kind in
	gz) tool="gzip -dc" ;;
	*) tool="zstd -q -dc" ;;
	esac
	for _ in $(seq 1 "$rounds"); do
		run base sh -c "for f in '$work/$kind'/*; do $tool \"\$f\"; done"
		[ "$kind" = big ] || run one sh -c "$tool '$work/$kind'/*"
		[ -z "${BASE_REV:-}" ] || run old "$work/poolblame-base" batch -j 1 -o "$work/out" "$work/$kind"
		run j1 "$work/poolblame" batch -j 1 -o "$work/out" "$work/$kind"
		run jd "$work/poolblame" batch -o "$work/out" "$work/$kind"
	done
	case $kind in
	big) echo "one 1 GiB dump as .zst (median of $rounds rounds):" ;;
	*) echo ".$kind (median of $rounds rounds):" ;;
	esac
	row base "$tool FILE > /dev/null, per file"
	[ ! -s "$work/t-one" ] || row one "$tool FILE... > /dev/null"
	[ -z "${BASE_REV:-}" ] || row old "batch -j 1 ($BASE_REV)"
	row j1 "batch -j 1"
	row jd "batch (default workers)"
done
rm -rf "$work/out"
/usr/bin/time -o "$work/rss" -f 'batch -j 1 over .zst: peak RSS %M KiB' "$work/poolblame" batch -j 1 -o "$work/out" "$work/zst" > /dev/null 2>&1 || true
cat "$work/rss"
