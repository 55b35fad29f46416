//go:build unix

package dumpfile

import (
	"os"
	"syscall"
)

// mapFile maps the whole file read-only. A dump is evidence: PROT_READ and
// MAP_SHARED of a file opened O_RDONLY can never write to it.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, &FormatError{Off: -1, Msg: "file too large to map on this platform"}
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
