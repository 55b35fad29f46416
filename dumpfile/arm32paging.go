package dumpfile

import "fmt"

// ARMv7 short-descriptor translation (ARM Architecture Reference Manual
// ARMv7-A/R, B3.5): a 16 KiB first-level table of 4096 word descriptors
// indexed by VA[31:20], and second-level tables of 256 words (1 KiB,
// 1 KiB aligned) indexed by VA[19:12]. The root is the dump's
// DirectoryTableBase taken as TTBR0 with TTBCR.N = 0: one table for the
// whole 4 GiB, as the header gives one root.
//
// Only what the hardware maps is read: sections (1 MiB), supersections
// (16 MiB), large (64 KiB) and small (4 KiB) pages. Windows' software
// states of an invalid entry (transition, paged out) are not decoded:
// such addresses are "not mapped".

// First-level descriptor types (bits 1:0) and the supersection bit.
const (
	armL1Fault      = 0
	armL1Table      = 1
	armL1Section    = 2
	armSupersection = 1 << 18
)

// shortDescriptor translates va from the first-level table at root,
// reading descriptors with read. level names the table an error is in.
func shortDescriptor(root, va uint64, read func(pa uint64) (uint32, error)) (pa uint64, level string, desc uint32, err error) {
	if va>>32 != 0 {
		return 0, "", 0, fmt.Errorf("%w: not a 32-bit address", ErrNotMapped)
	}
	l1, err := read(root&^0x3FFF | va>>20<<2)
	if err != nil {
		return 0, "L1", 0, err
	}
	switch l1 & 3 {
	case armL1Section:
		if l1&armSupersection != 0 {
			// PA[31:24] from bits 31:24, PA[35:32] from 23:20, PA[39:36] from 8:5.
			base := uint64(l1&0xFF000000) | uint64(l1>>20&0xF)<<32 | uint64(l1>>5&0xF)<<36
			return base | va&0x00FFFFFF, "L1", l1, nil
		}
		return uint64(l1&0xFFF00000) | va&0x000FFFFF, "L1", l1, nil
	case armL1Table:
		l2, err := read(uint64(l1&0xFFFFFC00) | (va>>12&0xFF)<<2)
		if err != nil {
			return 0, "L2", 0, err
		}
		switch {
		case l2&2 != 0: // small page; bit 0 is XN
			return uint64(l2&0xFFFFF000) | va&0xFFF, "L2", l2, nil
		case l2&3 == 1: // large page
			return uint64(l2&0xFFFF0000) | va&0xFFFF, "L2", l2, nil
		}
		return 0, "L2", l2, ErrNotMapped
	case armL1Fault:
		return 0, "L1", l1, ErrNotMapped
	}
	// 0b11 is reserved without the Large Physical Address Extension.
	return 0, "L1", l1, fmt.Errorf("%w: reserved first-level descriptor", ErrNotMapped)
}

// translateARM32 is Translate for ARM32 dumps.
func (f *File) translateARM32(va uint64) (uint64, error) {
	read := func(pa uint64) (uint32, error) {
		e, err := f.readEntry(pa, 4)
		return uint32(e), err
	}
	pa, level, desc, err := shortDescriptor(f.DTB(), va, read)
	if err != nil {
		return 0, &AddressError{Addr: va, Level: level, Entry: uint64(desc), Err: err}
	}
	return pa, nil
}
