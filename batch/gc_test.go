package batch

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneGC: a run sets the collector's percent and memory limit and
// puts both back; GOGC and GOMEMLIMIT in the environment win.
func TestTuneGC(t *testing.T) {
	if got, want := memoryLimit(2, 0), int64(heapBase+2*heapPerWorker); got != want {
		t.Errorf("memoryLimit(2, 0) = %d, want %d", got, want)
	}
	if got, want := memoryLimit(0, 1<<30), int64(heapBase+heapPerWorker+1<<30); got != want {
		t.Errorf("memoryLimit(0, 1 GiB) = %d, want %d: one worker at least, and the decompression budget", got, want)
	}
	for _, env := range []string{"", "GOGC", "GOMEMLIMIT"} {
		t.Run("env "+env, func(t *testing.T) {
			for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
				t.Setenv(v, "") // restored after the test
				os.Unsetenv(v)
			}
			if env != "" {
				t.Setenv(env, "100")
			}
			oldPercent := debug.SetGCPercent(150)
			oldLimit := debug.SetMemoryLimit(1 << 40)
			defer debug.SetGCPercent(oldPercent)
			defer debug.SetMemoryLimit(oldLimit)

			restore := tuneGC(123 << 20)
			percent := readGCPercent()
			limit := debug.SetMemoryLimit(-1) // read
			wantPercent, wantLimit := gcPercent, int64(123<<20)
			if env == "GOGC" {
				wantPercent = 150
			}
			if env == "GOMEMLIMIT" {
				wantLimit = 1 << 40
			}
			if percent != wantPercent || limit != wantLimit {
				t.Errorf("during the run: GOGC %d, limit %d; want %d, %d", percent, limit, wantPercent, wantLimit)
			}
			restore()
			percent = readGCPercent()
			if limit := debug.SetMemoryLimit(-1); percent != 150 || limit != 1<<40 {
				t.Errorf("after the run: GOGC %d, limit %d; want them back at 150, %d", percent, limit, int64(1<<40))
			}
		})
	}
}

// readGCPercent returns the collector's percent, leaving it as it is.
func readGCPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}
