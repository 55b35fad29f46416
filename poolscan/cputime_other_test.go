//go:build !linux

package poolscan

// threadNs is 0 where the thread's CPU time is not read: no metric.
func threadNs() int64 { return 0 }
