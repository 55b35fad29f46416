package dumpfile

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"
)

// Translate returns the physical address that kernel virtual address va
// maps to. Errors match ErrNotMapped (invalid, paged out, prototype) or
// ErrPageAbsent (a page table page is missing from the dump).
func (f *File) Translate(va uint64) (_ uint64, err error) {
	return f.translate(f.DTB(), va)
}

// translate walks the page tables rooted at dtb (flag bits cleared).
func (f *File) translate(dtb, va uint64) (_ uint64, err error) {
	defer f.guard(debug.SetPanicOnFault(true), &err)
	m := f.paging
	if f.memErr != nil {
		return 0, &AddressError{Addr: va, Err: f.memErr}
	}
	if f.arch == ArchARM32 {
		return f.translateARM32(va)
	}
	if m == nil {
		return 0, &AddressError{Addr: va, Err: fmt.Errorf("%w: %v", ErrUnsupportedPaging, f.arch)}
	}
	if f.arch == ArchAMD64 && isLA57Address(va) {
		return 0, &AddressError{Addr: va, Err: ErrLA57}
	}
	if !canonical(va, m.vaBits) {
		return 0, &AddressError{Addr: va, Err: fmt.Errorf("%w: not a canonical %d-bit address", ErrNotMapped, m.vaBits)}
	}
	table := dtb & m.rootMask
	last := len(m.levels) - 1
	for i, l := range m.levels {
		idx := va >> l.shift & (1<<l.bits - 1)
		e, err := f.readEntry(table+idx*uint64(m.entrySize), m.entrySize)
		if err != nil {
			return 0, &AddressError{Addr: va, Level: l.name, Err: err}
		}
		if e&pteValid == 0 {
			// A transition entry at the leaf still names a physical page,
			// which the dump may hold; anything else is not in memory.
			if i == last && e&pteTransMask == pteTransition {
				e = m.fixTransition(e)
				return e&m.addrMask | va&(PageSize-1), nil
			}
			return 0, &AddressError{Addr: va, Level: l.name, Entry: e, Err: ErrNotMapped}
		}
		if m.badEntry(e) {
			return 0, &AddressError{Addr: va, Level: l.name, Entry: e, Err: fmt.Errorf("%w: reserved bits set", ErrNotMapped)}
		}
		if m.isBlock(e, i, m) {
			return m.blockAddr(e, l.block) | va&(l.block-1), nil
		}
		if f.arch == ArchARM64 && e&2 == 0 { // at L0 and L3 bit 1 must be set
			return 0, &AddressError{Addr: va, Level: l.name, Entry: e, Err: fmt.Errorf("%w: reserved descriptor", ErrNotMapped)}
		}
		if i == last {
			return e&m.addrMask | va&(PageSize-1), nil
		}
		table = e & m.addrMask
	}
	panic("unreachable")
}

// canonical reports whether va's bits above vaBits-1 copy bit vaBits-1
// (for 32-bit modes: whether va fits in 32 bits).
func canonical(va uint64, vaBits uint) bool {
	if vaBits == 32 {
		return va>>32 == 0
	}
	top := va >> (vaBits - 1)
	return top == 0 || top == 1<<(64-vaBits+1)-1
}

// readEntry reads one page-table entry from physical memory.
func (f *File) readEntry(pa uint64, size int) (uint64, error) {
	p, err := f.physPage(pa >> 12)
	if err != nil {
		return 0, err
	}
	o := pa & (PageSize - 1)
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(p[o:])), nil
	}
	return binary.LittleEndian.Uint64(p[o:]), nil
}

// physPage returns the 4 KiB of page pfn.
func (f *File) physPage(pfn uint64) ([]byte, error) {
	if f.memErr != nil {
		return nil, f.memErr
	}
	off, ok := f.mem.lookup(pfn)
	if !ok {
		return nil, ErrPageAbsent
	}
	if off > f.size-PageSize {
		return nil, ErrTruncated
	}
	return f.readAt(off, PageSize)
}

// HasPage reports whether the dump holds physical page pfn in full.
func (f *File) HasPage(pfn uint64) bool {
	var err error
	func() {
		defer f.guard(debug.SetPanicOnFault(true), &err)
		p, perr := f.physPage(pfn)
		if err = perr; err == nil {
			_ = p[PageSize-1] // touch it: a page cut off by a shrinking file is not held
		}
	}()
	return err == nil
}

// FileOffset is where physical address pa is stored in the dump file, for
// tools that point at (or damage copies of) the bytes behind an address.
func (f *File) FileOffset(pa uint64) (int64, error) {
	if f.memErr != nil {
		return 0, f.memErr
	}
	off, ok := f.mem.lookup(pa >> 12)
	if !ok {
		return 0, &AddressError{Addr: pa, Physical: true, Err: ErrPageAbsent}
	}
	return off + int64(pa&(PageSize-1)), nil
}

// ReadPhysical reads len(b) bytes at physical address pa. It stops at the
// first page the dump does not hold and says which.
func (f *File) ReadPhysical(pa uint64, b []byte) (n int, err error) {
	defer f.guard(debug.SetPanicOnFault(true), &err)
	for n < len(b) {
		a := pa + uint64(n)
		p, err := f.physPage(a >> 12)
		if err != nil {
			return n, &AddressError{Addr: a, Physical: true, Err: err}
		}
		n += copy(b[n:], p[a&(PageSize-1):])
	}
	return n, nil
}

// ReadVirtual reads len(b) bytes of kernel virtual memory at va, across
// pages. It stops at the first page it cannot read; the error says why
// (errors.Is ErrNotMapped, ErrPageAbsent, ErrTruncated, ...).
func (f *File) ReadVirtual(va uint64, b []byte) (n int, err error) {
	return f.readVirtual(f.DTB(), va, b)
}

func (f *File) readVirtual(dtb, va uint64, b []byte) (n int, err error) {
	defer f.guard(debug.SetPanicOnFault(true), &err)
	for n < len(b) {
		a := va + uint64(n)
		pa, err := f.translate(dtb, a)
		if err != nil {
			return n, err
		}
		p, err := f.physPage(pa >> 12)
		if err != nil {
			return n, &AddressError{Addr: a, Err: err}
		}
		n += copy(b[n:], p[pa&(PageSize-1):])
	}
	return n, nil
}

// ReadU32 reads a little-endian uint32 at va.
func (f *File) ReadU32(va uint64) (uint32, error) {
	var b [4]byte
	if _, err := f.ReadVirtual(va, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// ReadU64 reads a little-endian uint64 at va.
func (f *File) ReadU64(va uint64) (uint64, error) {
	var b [8]byte
	if _, err := f.ReadVirtual(va, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// ReadPointer reads a kernel pointer at va: 4 bytes on x86, 8 elsewhere.
func (f *File) ReadPointer(va uint64) (uint64, error) {
	if f.arch.Is64() {
		return f.ReadU64(va)
	}
	v, err := f.ReadU32(va)
	return uint64(v), err
}

// scanWindow is how much of the mapping a sequential scan holds at once.
const scanWindow = 16 << 20

// Pages calls fn for every physical page the dump stores, in PFN order,
// until fn returns false. page aliases the mapping and is valid only
// during the call. Pages past the end of a truncated file are skipped and
// counted in missing. The scan holds a window of the file, not all of it.
func (f *File) Pages(fn func(pfn uint64, page []byte) bool) (missing uint64, err error) {
	defer f.guard(debug.SetPanicOnFault(true), &err)
	if f.memErr != nil {
		return 0, f.memErr
	}
	f.mem.each(func(pfn, count uint64, off int64) bool {
		whole := pagesBefore(off, f.size) // pages of the stretch inside the file
		if whole < count {
			missing += count - whole
		}
		for i := uint64(0); i < min(count, whole); {
			o := off + int64(i)*PageSize
			n := min(min(count, whole)-i, scanWindow/PageSize)
			win, err := f.readAt(o, int(n)*PageSize)
			if err != nil {
				missing += min(count, whole) - i
				return true
			}
			if f.mapped {
				willRead(win)
			}
			for j := uint64(0); j < n; j++ {
				if !fn(pfn+i+j, win[j*PageSize:(j+1)*PageSize]) {
					return false
				}
			}
			if f.mapped {
				doneReading(win)
			}
			i += n
		}
		return true
	})
	return missing, nil
}
