package batch

import (
	"os"
	"runtime/debug"
)

// The collector during a run. Workers allocate in short bursts
// (instruction decoding, reports) and keep little, so collecting less
// often than Go's default lets them run side by side (a third faster on
// 2 cores): gcPercent. What that costs is bounded by a soft memory limit
// rather than left to grow with what the run keeps (the records of
// thousands of dumps): below the limit the collector runs as rarely as
// gcPercent allows, near it as often as it must. The limit is a heap
// allowance for the run, plus the budget compressed dumps may be
// decompressed into when the run has any (those buffers are heap too).
const (
	gcPercent = 400
	// heapBase and heapPerWorker make the heap allowance: the driver
	// catalog, the records kept for the summary and the summary itself,
	// and per worker the dump being analysed and its reports.
	heapBase      = 48 << 20
	heapPerWorker = 16 << 20
)

// memoryLimit is the soft limit of a run with workers workers that may
// decompress into decompressBudget bytes of memory (0: none).
func memoryLimit(workers int, decompressBudget int64) int64 {
	return heapBase + int64(max(1, workers))*heapPerWorker + max(0, decompressBudget)
}

// tuneGC sets the collector for a run and returns what restores it.
// GOGC and GOMEMLIMIT, when set, still decide.
func tuneGC(limit int64) (restore func()) {
	var undo []func()
	if _, set := os.LookupEnv("GOGC"); !set {
		old := debug.SetGCPercent(gcPercent)
		undo = append(undo, func() { debug.SetGCPercent(old) })
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		old := debug.SetMemoryLimit(limit)
		undo = append(undo, func() { debug.SetMemoryLimit(old) })
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}
