//go:build !linux && !windows

package batch

// freeDisk is unknown here: extraction proceeds and a full disk shows as
// a write error.
func freeDisk(dir string) (uint64, bool) { return 0, false }

// availableMemory is unknown here: the worker count is not reduced.
func availableMemory() (uint64, bool) { return 0, false }
