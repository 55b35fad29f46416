package dumpfile

import "syscall"

// madvPopulateRead (Linux 5.14+) fills the page tables of a range in one
// call instead of one fault per page; older kernels refuse it harmlessly.
const madvPopulateRead = 22

// willRead prepares a mapped range for a sequential read.
func willRead(b []byte) {
	if len(b) > 0 {
		if syscall.Madvise(b, madvPopulateRead) != nil {
			syscall.Madvise(b, syscall.MADV_WILLNEED)
		}
	}
}

// doneReading lets the kernel drop a mapped range from this process: a
// scan of a 100 GB dump then holds a window of it, not all of it. The
// pages stay in the page cache.
func doneReading(b []byte) {
	if len(b) > 0 {
		syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
