package dumpfile

import (
	"encoding/binary"
	"fmt"
)

// Space is one more address space of the dump: the page tables of a
// process, named by its KPROCESS.DirectoryTableBase. Kernel addresses read
// the same through any of them; what only a process's tables map, such as
// the session space of Terminal Server sessions, needs one of that
// session's processes.
type Space struct {
	f   *File
	dtb uint64
}

// Space returns the address space whose root is dtb, a
// DirectoryTableBase as a KPROCESS holds it (flag and PCID bits are
// cleared as for the header's). It errs on an architecture whose tables
// are not walked and on a root the dump does not hold.
func (f *File) Space(dtb uint64) (*Space, error) {
	h := f.Header
	h.DirectoryTableBase = dtb
	root := h.DTB()
	if f.paging == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedPaging, f.arch)
	}
	if !f.HasPage(root >> 12) {
		return nil, fmt.Errorf("page table root %#x: %w", root, ErrPageAbsent)
	}
	return &Space{f: f, dtb: root}, nil
}

// DTB is the space's root table address.
func (s *Space) DTB() uint64 { return s.dtb }

// Translate returns the physical address va maps to in this space.
func (s *Space) Translate(va uint64) (uint64, error) { return s.f.translate(s.dtb, va) }

// ReadVirtual reads len(b) bytes at va in this space, as File.ReadVirtual.
func (s *Space) ReadVirtual(va uint64, b []byte) (int, error) {
	return s.f.readVirtual(s.dtb, va, b)
}

// ReadPointer reads a pointer at va in this space.
func (s *Space) ReadPointer(va uint64) (uint64, error) {
	var b [8]byte
	n := s.f.arch.PointerSize()
	if _, err := s.ReadVirtual(va, b[:n]); err != nil {
		return 0, err
	}
	if n == 4 {
		return uint64(binary.LittleEndian.Uint32(b[:])), nil
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// Mappings walks this space's page tables as File.Mappings does, but only
// the entries that map part of [lo, hi] (hi inclusive), so a walk of one
// region costs that region's tables.
func (s *Space) Mappings(lo, hi uint64, fn func(m Mapping) bool) (missingTables int, err error) {
	return s.f.mappings(s.dtb, lo, hi, fn)
}
