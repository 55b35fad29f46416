package dumptest

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
)

// Offsets of KDDEBUGGER_DATA64 fields, for SetKDBG. Most fields hold the
// address of a kernel variable, not its value.
const (
	KDBGOwnerTag                     = 0x10
	KDBGSize                         = 0x14
	KDBGKernBase                     = 0x18
	KDBGPaeEnabled                   = 0x36
	KDBGPsLoadedModuleList           = 0x48
	KDBGPsActiveProcessHead          = 0x50
	KDBGKiBugcheckData               = 0x88
	KDBGMmPfnDatabase                = 0xC0
	KDBGMmLowestPhysicalPage         = 0xE8
	KDBGMmHighestPhysicalPage        = 0xF0
	KDBGMmNumberOfPhysicalPages      = 0xF8
	KDBGMmMaximumNonPagedPoolInBytes = 0x100
	KDBGMmNonPagedPoolStart          = 0x110
	KDBGMmNonPagedPoolEnd            = 0x118
	KDBGMmPagedPoolStart             = 0x120
	KDBGMmPagedPoolEnd               = 0x128
	KDBGMmSizeOfPagedPoolInBytes     = 0x140
	KDBGPoolTrackTable               = 0x1B8
	KDBGNonPagedPoolDescriptor       = 0x1C0
	KDBGMmSystemRangeStart           = 0x1D0
	KDBGNtBuildLab                   = 0x208
	KDBGKiProcessorBlock             = 0x218
	KDBGMmPhysicalMemoryBlock        = 0x270
	KDBGMmSessionBase                = 0x278
	KDBGMmSessionSize                = 0x280
	KDBGPteBase                      = 0x360
)

// kdbgFields names the offsets above, for specs.
var kdbgFields = map[string]int{
	"KernBase": KDBGKernBase, "PsLoadedModuleList": KDBGPsLoadedModuleList,
	"PsActiveProcessHead": KDBGPsActiveProcessHead, "KiBugcheckData": KDBGKiBugcheckData,
	"MmPfnDatabase": KDBGMmPfnDatabase, "MmLowestPhysicalPage": KDBGMmLowestPhysicalPage,
	"MmHighestPhysicalPage": KDBGMmHighestPhysicalPage, "MmNumberOfPhysicalPages": KDBGMmNumberOfPhysicalPages,
	"MmMaximumNonPagedPoolInBytes": KDBGMmMaximumNonPagedPoolInBytes,
	"MmNonPagedPoolStart":          KDBGMmNonPagedPoolStart, "MmNonPagedPoolEnd": KDBGMmNonPagedPoolEnd,
	"MmPagedPoolStart": KDBGMmPagedPoolStart, "MmPagedPoolEnd": KDBGMmPagedPoolEnd,
	"MmSizeOfPagedPoolInBytes": KDBGMmSizeOfPagedPoolInBytes, "PoolTrackTable": KDBGPoolTrackTable,
	"NonPagedPoolDescriptor": KDBGNonPagedPoolDescriptor, "MmSystemRangeStart": KDBGMmSystemRangeStart,
	"NtBuildLab": KDBGNtBuildLab, "KiProcessorBlock": KDBGKiProcessorBlock,
	"MmPhysicalMemoryBlock": KDBGMmPhysicalMemoryBlock, "MmSessionBase": KDBGMmSessionBase,
	"MmSessionSize": KDBGMmSessionSize, "PteBase": KDBGPteBase,
}

// KDBGOffset returns the offset of a KDBG field given by name (as in the
// KDBG* constants, without the prefix) or as a number ("0x1B8").
func KDBGOffset(field string) (int, bool) {
	if off, ok := kdbgFields[strings.TrimPrefix(field, "KDBG")]; ok {
		return off, true
	}
	v, err := strconv.ParseUint(field, 0, 16)
	return int(v), err == nil
}

// kdbgSizes gives the block's Size by first build: XP, Server 2003,
// Vista/7, 8 to 10 before 19041, then 19041 and Windows 11.
var kdbgSizes = []struct {
	build uint32
	size  int
}{{0, 0x290}, {3790, 0x318}, {6000, 0x340}, {9200, 0x360}, {19041, 0x380}}

// KDBGSizeFor returns the KDBG Size the builder uses for a build.
func KDBGSizeFor(build uint32) int {
	size := 0
	for _, s := range kdbgSizes {
		if build >= s.build {
			size = s.size
		}
	}
	return size
}

// setupKDBG writes a plain KDDEBUGGER_DATA64 in kernel .data, linked to
// KdpDebuggerDataListHead.
func (b *Builder) setupKDBG() {
	b.kdbgSize = KDBGSizeFor(b.cfg.Build)
	b.kdbgVA = b.KernelVar(b.kdbgSize)
	b.syms["KdDebuggerDataBlock"] = b.kdbgVA
	head := b.syms["KdpDebuggerDataListHead"]
	b.PutPtr(head, b.kdbgVA)
	b.PutPtr(head+uint64(b.arch.ptrSize), b.kdbgVA)
	b.SetKDBG(0, head)
	b.SetKDBG(8, head)
	b.PutU32(b.kdbgVA+KDBGOwnerTag, 0x4742444B) // 'KDBG'
	b.PutU32(b.kdbgVA+KDBGSize, uint32(b.kdbgSize))
	b.SetKDBG(KDBGKernBase, b.kernBase)
	if b.cfg.Arch == dumpfile.ArchX86PAE {
		b.PutU16(b.kdbgVA+KDBGPaeEnabled, 1)
	}
	b.SetKDBG(KDBGPsLoadedModuleList, b.syms["PsLoadedModuleList"])
	b.SetKDBG(KDBGPsActiveProcessHead, b.syms["PsActiveProcessHead"])
	b.SetKDBG(KDBGMmPfnDatabase, b.syms["MmPfnDatabase"])
}

// KDBGAddress returns the address of the KDBG block (the header's
// KdDebuggerDataBlock, before any LA57 rewriting).
func (b *Builder) KDBGAddress() uint64 { return b.kdbgVA }

// SetKDBG sets the 64-bit KDBG field at off. Values are plain: encoding
// happens when the file is written. On x86, a value in
// [0x80000000, 0xFFFFFFFF] is sign-extended, as x86 kernels store
// pointers in the block.
func (b *Builder) SetKDBG(off int, v uint64) {
	if off < 0 || off+8 > b.kdbgSize {
		b.misuse("SetKDBG(%#x): outside the %#x-byte block", off, b.kdbgSize)
	}
	if v >= 0x80000000 {
		v = b.signExtend(v)
	}
	b.PutU64(b.kdbgVA+uint64(off), v)
}

// KDBGKeys returns the encoding keys: KiWaitNever, KiWaitAlways and the
// address of KdpDataBlockEncoded. All zero without EncodeKDBG.
func (b *Builder) KDBGKeys() (waitNever, waitAlways, blockAddr uint64) {
	return b.waitNever, b.waitAlways, b.syms["KdpDataBlockEncoded"]
}

// encodeKDBG encodes a plain block in place, one u64 at a time, with the
// inverse of the Windows 8+ decoding
// decode(q) = bswap64(rol64(q ^ N, N & 0xFF) ^ A) ^ W.
func encodeKDBG(block []byte, n, w, a uint64) {
	for i := 0; i+8 <= len(block); i += 8 {
		q := binary.LittleEndian.Uint64(block[i:])
		q = bits.ReverseBytes64(q^w) ^ a
		q = bits.RotateLeft64(q, -int(n&0xFF)) ^ n
		binary.LittleEndian.PutUint64(block[i:], q)
	}
}
