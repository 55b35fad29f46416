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

// Offsets of the block's own header (DBGKD_DEBUG_DATA_HEADER64), which the
// search reads before it knows it holds a block; the fields are in
// kdbgLayout.
const (
	kdOwnerTag = 0x10
	kdSize     = 0x14
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
	if binary.LittleEndian.Uint32(head[kdOwnerTag:]) == sigKDBG {
		size := binary.LittleEndian.Uint32(head[kdSize:])
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
	c1, c2 := word(KdPsLoadedModuleList.Offset()), word(KdPsActiveProcessHead.Offset())
	for r := 0; r < 64; r++ {
		k := p1 ^ bits.ReverseBytes64(bits.RotateLeft64(c1, r))
		if p2 != 0 && p2 != bits.ReverseBytes64(bits.RotateLeft64(c2, r))^k {
			continue
		}
		dec := func(q uint64) uint64 { return bits.ReverseBytes64(bits.RotateLeft64(q, r)) ^ k }
		tagSize := dec(word(kdOwnerTag))
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
// to the header's when the header has one. Like every scan of the whole
// dump it reads through ReadPages.
func (f *File) scanKDBG() *KDBG {
	if f.memErr != nil {
		return nil
	}
	var found *KDBG
	tag := []byte("KDBG")
	// A walk cut short leaves found nil; KDBG names a file that shrank
	// under it, and no block found is ErrNoKDBG.
	_, _ = f.ReadPages(func(pfn uint64, page []byte) bool {
		for j := 0; ; {
			k := bytes.Index(page[j:], tag)
			if k < 0 {
				return true
			}
			at := j + k
			j = at + 1
			start := at - kdOwnerTag
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
