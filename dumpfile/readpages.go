package dumpfile

import (
	"fmt"
	"runtime/debug"
)

// readWindow is what ReadPages reads at a time: small enough that the
// buffer stays in the CPU's cache between the kernel's copy and the scan
// (cat reads 128 KiB at a time for the same reason).
const readWindow = 256 << 10

// ReadPages is Pages for a scan that reads every stored page once: on a
// file opened with Open it reads each window of the file into one reused
// buffer with read(2), as cat does, instead of faulting the mapping in
// page by page (the kernel then fills the holes of a sparse dump at memory
// speed); on bytes given to NewFile it is Pages. page is valid only
// during the call. A file that shrank since it was opened ends the scan
// with ErrFileShrank.
func (f *File) ReadPages(fn func(pfn uint64, page []byte) bool) (missing uint64, err error) {
	if f.seq == nil {
		return f.Pages(fn)
	}
	defer f.guard(debug.SetPanicOnFault(true), &err)
	if f.memErr != nil {
		return 0, f.memErr
	}
	buf := make([]byte, readWindow)
	shrank := false
	f.mem.each(func(pfn, count uint64, off int64) bool {
		whole := pagesBefore(off, f.size) // pages of the stretch inside the file
		if whole < count {
			missing += count - whole
		}
		for i := uint64(0); i < min(count, whole); {
			n := min(min(count, whole)-i, readWindow/PageSize)
			win := buf[:int(n)*PageSize]
			if got, _ := f.seq.ReadAt(win, off+int64(i)*PageSize); got < len(win) {
				shrank = true
				return false
			}
			for j := uint64(0); j < n; j++ {
				if !fn(pfn+i+j, win[j*PageSize:(j+1)*PageSize]) {
					return false
				}
			}
			i += n
		}
		return true
	})
	if shrank {
		f.faulted.Store(true)
		return missing, f.shrankErr()
	}
	return missing, nil
}

// ReadPage copies physical page pfn into b (at least PageSize bytes): by
// read(2) on a file opened with Open, like ReadPages, so that a second look
// at many scattered pages (the pages a scan found pool blocks on) does not
// leave them mapped into the process; from the mapping otherwise.
func (f *File) ReadPage(pfn uint64, b []byte) error {
	b = b[:PageSize]
	if f.seq == nil {
		_, err := f.ReadPhysical(pfn<<12, b)
		return err
	}
	off, err := f.FileOffset(pfn << 12)
	if err != nil {
		return err
	}
	if off > f.size-PageSize {
		return &AddressError{Addr: pfn << 12, Physical: true, Err: ErrTruncated}
	}
	if n, err := f.seq.ReadAt(b, off); n < PageSize {
		f.faulted.Store(true)
		if serr := f.shrankErr(); serr != nil {
			return serr
		}
		return fmt.Errorf("%s: page %#x: %w", f.name, pfn, err)
	}
	return nil
}
