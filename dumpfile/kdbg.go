package dumpfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// KDBG is the kernel debugger data block (KDDEBUGGER_DATA64). Almost every
// field holds the ADDRESS of a kernel variable; the accessors say which
// hold values.
type KDBG struct {
	Addr    uint64 // virtual address of the block (0 when found by physical scan)
	PAddr   uint64 // physical address, when found by physical scan
	Size    uint32 // the block's own Size field
	Source  string // "header", "decoded", "physical scan" or "triage copy"
	Encoded bool   // the in-memory block was encoded (x64, Windows 8 and later)
	raw     []byte
	is64    bool
}

// KDBG field offsets (KDDEBUGGER_DATA64, wdbgexts.h; the same on x86,
// where pointers are sign-extended to 64 bits).
const (
	KdOwnerTag                     = 0x10
	KdSize                         = 0x14
	KdKernBase                     = 0x18
	KdPaeEnabled                   = 0x36
	KdPsLoadedModuleList           = 0x48
	KdPsActiveProcessHead          = 0x50
	KdKiBugcheckData               = 0x88
	KdMmPfnDatabase                = 0xC0
	KdMmLowestPhysicalPage         = 0xE8
	KdMmHighestPhysicalPage        = 0xF0
	KdMmNumberOfPhysicalPages      = 0xF8
	KdMmMaximumNonPagedPoolInBytes = 0x100
	KdMmNonPagedPoolStart          = 0x110
	KdMmNonPagedPoolEnd            = 0x118
	KdMmPagedPoolStart             = 0x120
	KdMmPagedPoolEnd               = 0x128
	KdMmSizeOfPagedPoolInBytes     = 0x140
	KdPoolTrackTable               = 0x1B8
	KdNonPagedPoolDescriptor       = 0x1C0
	KdMmSystemRangeStart           = 0x1D0
	KdNtBuildLab                   = 0x208
	KdKiProcessorBlock             = 0x218
	KdMmPhysicalMemoryBlock        = 0x270
	KdMmSessionBase                = 0x278
	KdMmSessionSize                = 0x280
	KdOffsetPrcbNumber             = 0x2BE
	KdPteBase                      = 0x360
)

// U64 returns the 64-bit field at off, and false when the block is too
// short to hold it.
func (k *KDBG) U64(off int) (uint64, bool) {
	if off < 0 || off+8 > len(k.raw) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(k.raw[off:]), true
}

// U16 returns the 16-bit field at off.
func (k *KDBG) U16(off int) (uint16, bool) {
	if off < 0 || off+2 > len(k.raw) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(k.raw[off:]), true
}

// Pointer returns the pointer field at off, masked to 32 bits on x86.
func (k *KDBG) Pointer(off int) (uint64, bool) {
	v, ok := k.U64(off)
	if !k.is64 {
		v &= 0xFFFFFFFF
	}
	return v, ok && v != 0
}

// Raw returns a copy of the block's bytes.
func (k *KDBG) Raw() []byte { return bytes.Clone(k.raw) }

// KernBase is the kernel's load address (a value, not an address of one).
func (k *KDBG) KernBase() uint64 { v, _ := k.Pointer(KdKernBase); return v }

// PsLoadedModuleList is the address of the module list head.
func (k *KDBG) PsLoadedModuleList() uint64 { v, _ := k.Pointer(KdPsLoadedModuleList); return v }

// PoolTrackTable is the address of the nt!PoolTrackTable variable, which
// holds the table's address.
func (k *KDBG) PoolTrackTable() uint64 { v, _ := k.Pointer(KdPoolTrackTable); return v }

// MmMaximumNonPagedPoolInBytes is the address of that variable.
func (k *KDBG) MmMaximumNonPagedPoolInBytes() uint64 {
	v, _ := k.Pointer(KdMmMaximumNonPagedPoolInBytes)
	return v
}

// MmSizeOfPagedPoolInBytes is the address of that variable.
func (k *KDBG) MmSizeOfPagedPoolInBytes() uint64 {
	v, _ := k.Pointer(KdMmSizeOfPagedPoolInBytes)
	return v
}

// NtBuildLab is the address of the build lab string.
func (k *KDBG) NtBuildLab() uint64 { v, _ := k.Pointer(KdNtBuildLab); return v }

// KiProcessorBlock is the address of the processor block array.
func (k *KDBG) KiProcessorBlock() uint64 { v, _ := k.Pointer(KdKiProcessorBlock); return v }

// PaeEnabled reports bit 0 of the PaeEnabled field.
func (k *KDBG) PaeEnabled() bool { v, _ := k.U16(KdPaeEnabled); return v&1 != 0 }

// ErrNoKDBG means no usable debugger data block was found.
var ErrNoKDBG = errors.New("no KDDEBUGGER_DATA64 (KDBG) block found")

// KDBG finds the debugger data block: plain at the header's
// KdDebuggerDataBlock, else decoded, else a plain copy found by scanning
// physical memory. The result is computed once.
func (f *File) KDBG() (*KDBG, error) {
	if !f.kdbgSet {
		f.kdbg, f.kdbgErr = f.findKDBG()
		if err := f.shrankErr(); err != nil {
			f.kdbg, f.kdbgErr = nil, err
		}
		f.kdbgSet = true
	}
	return f.kdbg, f.kdbgErr
}

const (
	kdbgMinSize = 0x200
	kdbgMaxSize = 0x1000
)

func (f *File) findKDBG() (*KDBG, error) {
	if f.Triage != nil {
		if f.Triage.kdbg != nil {
			return f.Triage.kdbg, nil
		}
		return nil, fmt.Errorf("%w in the triage block", ErrNoKDBG)
	}
	va := f.KdDebuggerDataBlock
	var why []string
	if va != 0 {
		k, err := f.kdbgAt(va)
		if err == nil {
			return k, nil
		}
		why = append(why, err.Error())
	} else {
		why = append(why, "the header's KdDebuggerDataBlock is not set")
	}
	if k := f.scanKDBG(); k != nil {
		return k, nil
	}
	why = append(why, "no plain copy in physical memory")
	return nil, fmt.Errorf("%w: %s", ErrNoKDBG, strings.Join(why, "; "))
}

// kdbgAt reads the block at va, plain or encoded.
func (f *File) kdbgAt(va uint64) (*KDBG, error) {
	head := make([]byte, 0x20)
	if _, err := f.ReadVirtual(va, head); err != nil {
		return nil, fmt.Errorf("KdDebuggerDataBlock %#x unreadable: %w", va, err)
	}
	if binary.LittleEndian.Uint32(head[KdOwnerTag:]) == sigKDBG {
		size := binary.LittleEndian.Uint32(head[KdSize:])
		if size < kdbgMinSize || size > kdbgMaxSize {
			return nil, &FormatError{Off: -1, Field: "KDBG Size", Val: size, Msg: fmt.Sprintf("out of range at %#x", va)}
		}
		raw := make([]byte, size)
		if n, err := f.ReadVirtual(va, raw); err != nil {
			// Keep what was read: the leading fields are the useful ones.
			if n < 0x100 {
				return nil, fmt.Errorf("KDBG at %#x: %w", va, err)
			}
			raw = raw[:n&^7]
		}
		return &KDBG{Addr: va, Size: size, Source: "header", raw: raw, is64: f.Is64}, nil
	}
	if f.arch != ArchAMD64 {
		return nil, fmt.Errorf("KdDebuggerDataBlock %#x does not hold a KDBG tag", va)
	}
	return f.decodeKDBG(va)
}

// decodeKDBG decodes a block encoded by KdCopyDataBlock (x64, Windows 8
// and later). Each u64 q is stored as the inverse of
//
//	decode(q) = bswap64(rol64(q^N, N&0xFF) ^ A) ^ W
//
// with N = KiWaitNever, W = KiWaitAlways and A = &KdpDataBlockEncoded. As
// rol and bswap distribute over xor, decode(q) = bswap64(rol64(q, r)) ^ K
// with r = N & 63 and K = bswap64(rol64(N, r) ^ A) ^ W: two unknowns, not
// three. The header gives plaintext for two fields (PsLoadedModuleList at
// +0x48, PsActiveProcessHead at +0x50), which fixes r and K without symbols;
// the OwnerTag then has to decode to 'KDBG'.
func (f *File) decodeKDBG(va uint64) (*KDBG, error) {
	enc := make([]byte, 0x58)
	if _, err := f.ReadVirtual(va, enc); err != nil {
		return nil, fmt.Errorf("encoded KDBG at %#x unreadable: %w", va, err)
	}
	word := func(off int) uint64 { return binary.LittleEndian.Uint64(enc[off:]) }
	p1, p2 := f.PsLoadedModuleList, f.PsActiveProcessHead
	if p1 == 0 {
		return nil, fmt.Errorf("KDBG at %#x is encoded and the header has no PsLoadedModuleList to decode it with", va)
	}
	c1, c2 := word(KdPsLoadedModuleList), word(KdPsActiveProcessHead)
	for r := 0; r < 64; r++ {
		k := p1 ^ bits.ReverseBytes64(bits.RotateLeft64(c1, r))
		if p2 != 0 && p2 != bits.ReverseBytes64(bits.RotateLeft64(c2, r))^k {
			continue
		}
		dec := func(q uint64) uint64 { return bits.ReverseBytes64(bits.RotateLeft64(q, r)) ^ k }
		tagSize := dec(word(KdOwnerTag))
		size := uint32(tagSize >> 32)
		if uint32(tagSize) != sigKDBG || size < kdbgMinSize || size > kdbgMaxSize {
			continue
		}
		raw := make([]byte, size)
		n, err := f.ReadVirtual(va, raw)
		if err != nil && n < 0x100 {
			return nil, fmt.Errorf("encoded KDBG at %#x: %w", va, err)
		}
		raw = raw[:n&^7]
		for o := 0; o+8 <= len(raw); o += 8 {
			binary.LittleEndian.PutUint64(raw[o:], dec(binary.LittleEndian.Uint64(raw[o:])))
		}
		return &KDBG{Addr: va, Size: size, Source: "decoded", Encoded: true, raw: raw, is64: true}, nil
	}
	return nil, fmt.Errorf("KDBG at %#x is encoded and no key agrees with the header's list heads", va)
}

// scanKDBG looks through physical memory for a plain block: 'KDBG' at
// +0x10 of an 8-aligned address, a sane Size, and a module list head equal
// to the header's when the header has one.
func (f *File) scanKDBG() *KDBG {
	if f.memErr != nil {
		return nil
	}
	var found *KDBG
	tag := []byte("KDBG")
	f.Pages(func(pfn uint64, page []byte) bool {
		for j := 0; ; {
			k := bytes.Index(page[j:], tag)
			if k < 0 {
				return true
			}
			at := j + k
			j = at + 1
			start := at - KdOwnerTag
			if start < 0 || start%8 != 0 || at+8 > len(page) {
				continue
			}
			size := binary.LittleEndian.Uint32(page[at+4:])
			if size < kdbgMinSize || size > kdbgMaxSize {
				continue
			}
			pa := pfn<<12 + uint64(start)
			raw := make([]byte, size)
			n, _ := f.ReadPhysical(pa, raw)
			if n < 0x100 {
				continue
			}
			k2 := &KDBG{PAddr: pa, Size: size, Source: "physical scan", raw: raw[:n&^7], is64: f.Is64}
			if f.PsLoadedModuleList != 0 && k2.PsLoadedModuleList() != f.PsLoadedModuleList&ptrMask(f.Is64) {
				continue
			}
			found = k2
			return false
		}
	})
	return found
}

func ptrMask(is64 bool) uint64 {
	if is64 {
		return ^uint64(0)
	}
	return 0xFFFFFFFF
}
