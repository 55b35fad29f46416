//go:build !unix && !windows

package dumpfile

import "os"

// mapFile on platforms without mmap support returns no mapping; reads then
// go through the file's ReadAt.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	return nil, func() error { return nil }, nil
}
