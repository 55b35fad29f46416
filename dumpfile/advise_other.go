//go:build !linux

package dumpfile

// Without madvise the kernel manages the mapping of a scan on its own.
func willRead([]byte)    {}
func doneReading([]byte) {}
