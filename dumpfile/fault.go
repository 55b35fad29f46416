package dumpfile

import (
	"errors"
	"fmt"
	"runtime/debug"
	"unsafe"
)

// ErrFileShrank means a page of the mapped file is gone because the file got
// shorter while it was open (another process truncated it, as an upload
// or a copy in progress does). Reading it would otherwise kill the
// process with SIGBUS.
var ErrFileShrank = errors.New("the file shrank while it was read (truncated by another process?)")

// guard is deferred by every exported method that touches the mapping,
// with the previous debug.SetPanicOnFault setting:
//
//	defer f.guard(debug.SetPanicOnFault(true), &err)
//
// A fault inside the mapping becomes ErrFileShrank naming the file; any
// other panic goes on (its stack still shows where it began).
func (f *File) guard(old bool, err *error) {
	debug.SetPanicOnFault(old)
	if !f.mapped {
		return
	}
	r := recover()
	if r == nil {
		return
	}
	if fe, ok := r.(interface{ Addr() uintptr }); ok && f.inMapping(fe.Addr()) {
		f.faulted.Store(true)
		*err = f.shrankErr()
		return
	}
	panic(r)
}

// shrankErr is the error once a fault was seen: callers that try
// another source after a failed read (the KDBG search) end with it, not
// with "not found".
func (f *File) shrankErr() error {
	if !f.faulted.Load() {
		return nil
	}
	return fmt.Errorf("%s: %w", f.name, ErrFileShrank)
}

func (f *File) inMapping(addr uintptr) bool {
	if len(f.data) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	return addr >= base && addr-base < uintptr(len(f.data))
}
