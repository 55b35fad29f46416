//go:build windows

package dumpfile

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// mapFile maps the whole file read-only, as on Unix: a 64 GB dump is then
// read in place instead of through ReadAt into fresh buffers. A dump is
// evidence: a PAGE_READONLY mapping viewed with FILE_MAP_READ, of a file
// opened for reading only, can never write to it (a write through the view
// faults). While the view exists Windows refuses to truncate the file.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	noop := func() error { return nil }
	if size == 0 {
		return nil, noop, nil
	}
	if int64(int(size)) != size || uint64(size) > uint64(^uintptr(0)) {
		// A 32-bit process cannot view the whole file: read it instead.
		return nil, noop, nil
	}
	h, err := windows.CreateFileMapping(windows.Handle(f.Fd()), nil, windows.PAGE_READONLY,
		uint32(uint64(size)>>32), uint32(size), nil)
	if err != nil {
		return nil, nil, os.NewSyscallError("CreateFileMapping", err)
	}
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ, 0, 0, uintptr(size))
	// The view keeps the mapping object alive; its handle is not needed.
	windows.CloseHandle(h)
	if err != nil {
		if err == windows.ERROR_NOT_ENOUGH_MEMORY {
			return nil, noop, nil // no address space for the view: read instead
		}
		return nil, nil, os.NewSyscallError("MapViewOfFile", err)
	}
	b := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), addr)), int(size))
	return b, func() error { return windows.UnmapViewOfFile(addr) }, nil
}
