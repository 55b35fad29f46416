#!/usr/bin/env bash
# Compares `poolblame batch` (one worker per core) with report.Build run on
# each dump in turn, and with N single report runs (Build, then a JSON
# report file), over 16 generated dumps (batch BenchmarkBatch). It
# prints the time per dump of each and the speed-up of the batch.
#
#   scripts/bench-batch.sh [BENCHTIME]     (default 5x)
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./batch -run '^$' -bench '^BenchmarkBatch$' -benchtime "${1:-5x}" -count=1 |
  tee /dev/stderr |
  awk '/ns\/dump/ {
         k = "batch"; if ($1 ~ /sequential-build/) k = "build"; else if ($1 ~ /sequential-runs/) k = "runs"
         for (i = 1; i < NF; i++) if ($(i+1) == "ns/dump") v[k] = $i
       }
       END {
         if (!v["batch"]) exit 1
         printf "batch: %.1f ms/dump\n", v["batch"]/1e6
         if (v["build"]) printf "sequential report.Build: %.1f ms/dump, speed-up of the batch %.2fx\n", v["build"]/1e6, v["build"]/v["batch"]
         if (v["runs"]) printf "sequential single runs (Build + JSON report): %.1f ms/dump, speed-up of the batch %.2fx\n", v["runs"]/1e6, v["runs"]/v["batch"]
       }'
