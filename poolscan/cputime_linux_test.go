package poolscan

import (
	"syscall"
	"unsafe"
)

// threadNs is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadNs() int64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return ts.Nano()
}
