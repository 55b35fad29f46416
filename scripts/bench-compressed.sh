#!/usr/bin/env bash
# bench-compressed.sh: does a batch over compressed dumps cost more than
# decompressing them? Writes N dumps of 64 MiB (a bitmap dump from
# dumptest/cmd/mkdump with 28 MiB of Go source text in its unused pages, so
# that it compresses like real memory rather than like zeros), compresses
# them with gzip and with zstd, and measures in the same run, warm page
# cache, best of 3:
#   gzip -dc / zstd -dc of every file to /dev/null    (the baseline)
#   poolblame batch over the folder, one worker and the default
# and prints each as a ratio to the baseline.
#
# Usage: scripts/bench-compressed.sh [N]   (default 20)
# BASE_REV, when set, also measures the batch of that git revision.
set -euo pipefail
n=${1:-20}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/poolblame" ./cmd/poolblame
if [ -n "${BASE_REV:-}" ]; then
	mkdir -p "$work/base"
	git archive "$BASE_REV" | tar -x -C "$work/base"
	(cd "$work/base" && go build -o "$work/poolblame-base" ./cmd/poolblame)
fi
printf '{"Arch": 3, "Type": 5, "StoredPages": 16384, "MemoryPages": 32768}\n' > "$work/spec.json"
go run ./dumpfile/dumptest/cmd/mkdump -spec "$work/spec.json" -o "$work/one.dmp"
find "$(go env GOROOT)/src" -name '*.go' -print0 | xargs -0 cat 2>/dev/null | head -c $((28 << 20)) > "$work/text.bin" || true
dd if="$work/text.bin" of="$work/one.dmp" bs=1M seek=16 conv=notrunc status=none
mkdir -p "$work/gz" "$work/zst"
for i in $(seq 1 "$n"); do
	cp "$work/one.dmp" "$work/d$i.dmp"
	printf "dump %08d" "$i" | dd of="$work/d$i.dmp" bs=1 seek=$((0x1F00)) conv=notrunc status=none # distinct headers: batch skips repeated dumps
	gzip -c "$work/d$i.dmp" > "$work/gz/d$i.dmp.gz"
	zstd -q -c "$work/d$i.dmp" > "$work/zst/d$i.dmp.zst"
	rm "$work/d$i.dmp"
done
echo "$n dumps of 64 MiB: .gz $(du -sh "$work/gz" | cut -f1), .zst $(du -sh "$work/zst" | cut -f1)"
cat "$work"/gz/* "$work"/zst/* > /dev/null

secs() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
best() { local b=999999 t; for _ in 1 2 3; do t=$(secs "$@"); b=$(echo "if ($t < $b) $t else $b" | bc -l); done; echo "$b"; }
batch() { rm -rf "$work/out"; "$@"; }
row() { printf '  %-34s %7.3f s  %5.2fx\n' "$1" "$2" "$(echo "$2 / $3" | bc -l)"; }

for kind in gz zst; do
	case $kind in
	gz) base=$(best sh -c "gzip -dc '$work'/gz/* > /dev/null"); tool="gzip -dc" ;;
	zst) base=$(best sh -c "zstd -q -dc '$work'/zst/* > /dev/null"); tool="zstd -dc" ;;
	esac
	echo ".$kind:"
	row "$tool" "$base" "$base"
	if [ -n "${BASE_REV:-}" ]; then
		row "batch -j 1 ($BASE_REV)" "$(best batch "$work/poolblame-base" batch -j 1 -o "$work/out" "$work/$kind")" "$base"
	fi
	row "batch -j 1" "$(best batch "$work/poolblame" batch -j 1 -o "$work/out" "$work/$kind")" "$base"
	row "batch (default workers)" "$(best batch "$work/poolblame" batch -o "$work/out" "$work/$kind")" "$base"
done
rm -rf "$work/out"
/usr/bin/time -o "$work/rss" -f 'batch -j 1 over .zst: peak RSS %M KiB' "$work/poolblame" batch -j 1 -o "$work/out" "$work/zst" > /dev/null 2>&1 || true
cat "$work/rss"
