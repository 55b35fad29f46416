package dumpfile

import (
	"syscall"
	"unsafe"
)

// madvPopulateRead (Linux 5.14+) fills the page tables of a range in one
// call instead of one fault per page; older kernels refuse it harmlessly.
const madvPopulateRead = 22

// willRead prepares a mapped range for a sequential read.
func willRead(b []byte) {
	if len(b) > 0 {
		if syscall.Madvise(b, madvPopulateRead) != nil {
			_ = syscall.Madvise(b, syscall.MADV_WILLNEED) // advice only: reads work without it
		}
	}
}

// doneReading lets the kernel drop a mapped range from this process: a
// scan of a 100 GB dump then holds a window of it, not all of it. The
// pages stay in the page cache.
func doneReading(b []byte) {
	// madvise wants a page-aligned start: drop the whole pages inside b.
	if len(b) == 0 {
		return
	}
	pg := uintptr(syscall.Getpagesize())
	skip := int((pg - uintptr(unsafe.Pointer(&b[0]))%pg) % pg)
	if skip < len(b) {
		_ = syscall.Madvise(b[skip:], syscall.MADV_DONTNEED) // advice only
	}
}
