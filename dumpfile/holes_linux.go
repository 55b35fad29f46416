package dumpfile

import (
	"errors"
	"os"
	"syscall"
)

const seekData = 3 // SEEK_DATA (Linux 3.1+)

// nextDataFunc returns where the next data at or after off begins in a
// file with holes, so a scan of a sparse bitmap skips what reads as zero
// without reading it. Filesystems without SEEK_DATA report the whole file
// as data, and the scan reads it.
func nextDataFunc(fh *os.File) func(off int64) int64 {
	fd := int(fh.Fd())
	return func(off int64) int64 {
		d, err := syscall.Seek(fd, off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			return -1 // no data after off: a hole to the end
		}
		if err != nil || d < off {
			return off
		}
		return d
	}
}
