package dumptest

import "github.com/poolblame/poolblame/dumpfile"

// level is one level of a page-table walk, root first.
type level struct {
	shift uint   // lowest virtual-address bit of this level's index
	bits  uint   // width of the index
	large uint64 // size of a large page mapped by a leaf at this level; 0: none
}

// archInfo holds everything that differs between architectures: paging,
// entry encodings, default addresses and the dump layouts.
type archInfo struct {
	machine    uint32
	ptrSize    int
	kernelName string

	entrySize int
	levels    []level
	vaBits    uint // 32, or 48 for canonical 64-bit addresses
	// rootFrames is how many contiguous frames, aligned to their number,
	// the root table takes (ARMv7: 4, a 16 KiB first-level table); 0 or 1:
	// one frame.
	rootFrames uint64

	// Entry encodings. pa is page aligned; va is the mapped address.
	table      func(pa uint64, depth int) uint64
	page       func(pa uint64) uint64
	largePage  func(pa uint64) uint64
	transition func(pa, va uint64) uint64
	pagedOut   func(r uint64) uint64 // r: a non-zero page-file offset
	entryAddr  func(e uint64) uint64 // physical address a table entry points to

	kernBase, poolBase, modBase, pfnDatabase uint64
	badPointer                               uint64 // where Damage.ModuleBadPointer starts looking for an unmapped address

	hdr    *headerLayout
	triage *triageLayout
	ldr    *ldrLayout
}

// x64 and PAE entry bits. Valid leaves carry the software Write bit 11
// and NX, as Windows' do; 0x80 in non-valid entries is a protection code.
const (
	x64Table      = 0x63                  // P RW A D
	x64Page       = 0x863 | 1<<63         // P RW A D, Write (11), NX
	x64Large      = 0x8E3 | 1<<12 | 1<<63 // ... PS (7), PAT (12) on purpose
	softTrans     = 0x880                 // transition (11), protection 4
	softPagedOut  = 0x80                  // protection 4; page-file offset above
	x64AddrMask   = 0x000FFFFFFFFFF000
	x86AddrMask   = 0xFFFFF000
	arm64AddrMask = 0x0003FFFFFFFFF000
	arm64Table    = 0x403         // valid, table, AF
	arm64Page     = 0x703 | 1<<54 // valid, page, SH inner, AF, UXN
	arm64Block    = 0x701 | 1<<54 // valid, block (bit 1 clear), SH, AF, UXN
)

// ARMv7 short descriptors, stated from the ARM Architecture Reference
// Manual ARMv7-A/R (DDI 0406C), B3.5.1 "Short-descriptor translation
// table format descriptors", without LPAE:
//
//	first level, 4096 words indexed by VA[31:20] (a 16 KiB table, 16 KiB
//	aligned: TTBR0 bits 31:14 with TTBCR.N = 0):
//	  bits 1:0 = 0b00  fault
//	  bits 1:0 = 0b01  page table: bits 31:10 its base (1 KiB aligned),
//	                   bits 8:5 domain, bit 3 NS, bit 2 PXN
//	  bits 1:0 = 0b10  section (bit 18 = 0): bits 31:20 base of 1 MiB,
//	                   bit 2 B, 3 C, 4 XN, 8:5 domain, 11:10 AP[1:0],
//	                   14:12 TEX, 15 AP[2], 16 S, 17 nG, 19 NS
//	second level, 256 words indexed by VA[19:12] (1 KiB):
//	  bits 1:0 = 0b00  fault
//	  bits 1:0 = 0b01  large page (64 KiB), bits 31:16 its base
//	  bit 1 = 1        small page: bits 31:12 base, bit 0 XN, 2 B, 3 C,
//	                   5:4 AP[1:0], 8:6 TEX, 9 AP[2], 10 S, 11 nG
//
// Kernel pages here are privileged read/write (AP[2:0] = 0b001),
// normal write-back memory (TEX 0b001, C, B), shareable, global, domain
// 0. The builder gives each second-level table a frame of its own and
// uses its first 1 KiB; Windows packs four tables in a page, which the
// hardware does not require. Windows' software formats of invalid
// entries (transition, paged out) are not stated in any source at hand,
// so they are not written (transition and pagedOut are nil).
const (
	armL1PageTable = 0x1                                       // 0b01, domain 0
	armSmallPage   = 0x2 | 1<<2 | 1<<3 | 1<<4 | 1<<6 | 1<<10   // small page, B C, AP[1:0] = 01, TEX = 001, S
	armSection     = 0x2 | 1<<2 | 1<<3 | 1<<10 | 1<<12 | 1<<16 // section, B C, AP[1:0] = 01, TEX = 001, S
)

var archTable = map[dumpfile.Arch]*archInfo{
	dumpfile.ArchARM32: {
		machine: dumpfile.MachineARMNT, ptrSize: 4, kernelName: "ntoskrnl.exe",
		entrySize: 4, vaBits: 32,
		// The first level maps 1 MiB sections; its 4096 entries span four
		// frames (rootFrames).
		levels:     []level{{20, 12, 1 << 20}, {12, 8, 0}},
		rootFrames: 4,
		table:      func(pa uint64, _ int) uint64 { return pa&0xFFFFFC00 | armL1PageTable },
		page:       func(pa uint64) uint64 { return pa&0xFFFFF000 | armSmallPage },
		largePage:  func(pa uint64) uint64 { return pa&0xFFF00000 | armSection },
		entryAddr:  func(e uint64) uint64 { return e & 0xFFFFFC00 },
		kernBase:   0x80800000, poolBase: 0x89000000, modBase: 0xB8000000,
		pfnDatabase: 0x84000000, badPointer: 0xBFF00000,
		hdr: &header32, triage: &triage32, ldr: &ldr32,
	},
	dumpfile.ArchX86: {
		machine: dumpfile.MachineI386, ptrSize: 4, kernelName: "ntoskrnl.exe",
		entrySize: 4, vaBits: 32,
		levels: []level{{22, 10, 4 << 20}, {12, 10, 0}},
		table:  func(pa uint64, _ int) uint64 { return pa | x64Table },
		page:   func(pa uint64) uint64 { return pa | 0x863 },
		// PSE-36: physical address bits 32-35 go to entry bits 13-16.
		largePage:  func(pa uint64) uint64 { return pa&0xFFC00000 | (pa>>32&0xF)<<13 | 0x8E3 },
		transition: func(pa, _ uint64) uint64 { return pa | softTrans },
		pagedOut:   func(r uint64) uint64 { return (r&0xFFFFF)<<12 | softPagedOut },
		entryAddr:  func(e uint64) uint64 { return e & x86AddrMask },
		kernBase:   0x80800000, poolBase: 0x89000000, modBase: 0xB8000000,
		pfnDatabase: 0x84000000, badPointer: 0xBFF00000,
		hdr: &header32, triage: &triage32, ldr: &ldr32,
	},
	dumpfile.ArchX86PAE: {
		machine: dumpfile.MachineI386, ptrSize: 4, kernelName: "ntkrnlpa.exe",
		entrySize: 8, vaBits: 32,
		levels: []level{{30, 2, 0}, {21, 9, 2 << 20}, {12, 9, 0}},
		table: func(pa uint64, depth int) uint64 {
			if depth == 0 {
				return pa | 1 // PDPTEs: only P; RW, US and A are reserved there
			}
			return pa | x64Table
		},
		page:       func(pa uint64) uint64 { return pa | x64Page },
		largePage:  func(pa uint64) uint64 { return pa | 0x8E3 | 1<<63 },
		transition: func(pa, _ uint64) uint64 { return pa | softTrans },
		pagedOut:   func(r uint64) uint64 { return (r&0xFFFFFFFF)<<32 | softPagedOut },
		entryAddr:  func(e uint64) uint64 { return e & x64AddrMask },
		kernBase:   0x80800000, poolBase: 0x89000000, modBase: 0xB8000000,
		pfnDatabase: 0x84000000, badPointer: 0xBFF00000,
		hdr: &header32, triage: &triage32, ldr: &ldr32,
	},
	dumpfile.ArchAMD64: {
		machine: dumpfile.MachineAMD64, ptrSize: 8, kernelName: "ntoskrnl.exe",
		entrySize: 8, vaBits: 48,
		levels:    []level{{39, 9, 0}, {30, 9, 1 << 30}, {21, 9, 2 << 20}, {12, 9, 0}},
		table:     func(pa uint64, _ int) uint64 { return pa | x64Table },
		page:      func(pa uint64) uint64 { return pa | x64Page },
		largePage: func(pa uint64) uint64 { return pa | x64Large },
		// Real transition PTEs can carry bit 45; readers must clear it.
		transition: func(pa, va uint64) uint64 {
			if va&(1<<12) != 0 {
				pa |= 1 << 45
			}
			return pa | softTrans
		},
		pagedOut:  func(r uint64) uint64 { return (r&0xFFFFFFFF)<<32 | softPagedOut },
		entryAddr: func(e uint64) uint64 { return e & x64AddrMask },
		kernBase:  0xFFFFF80000400000, poolBase: 0xFFFFC00000000000, modBase: 0xFFFFF80001000000,
		pfnDatabase: 0xFFFFFA8000000000, badPointer: 0xFFFFF8000F000000,
		hdr: &header64, triage: &triage64, ldr: &ldr64,
	},
	dumpfile.ArchARM64: {
		machine: dumpfile.MachineARM64, ptrSize: 8, kernelName: "ntoskrnl.exe",
		entrySize: 8, vaBits: 48,
		levels:     []level{{39, 9, 0}, {30, 9, 1 << 30}, {21, 9, 2 << 20}, {12, 9, 0}},
		table:      func(pa uint64, _ int) uint64 { return pa | arm64Table },
		page:       func(pa uint64) uint64 { return pa | arm64Page },
		largePage:  func(pa uint64) uint64 { return pa | arm64Block },
		transition: func(pa, _ uint64) uint64 { return pa | softTrans },
		pagedOut:   func(r uint64) uint64 { return (r&0xFFFFFFFF)<<32 | softPagedOut },
		entryAddr:  func(e uint64) uint64 { return e & arm64AddrMask },
		kernBase:   0xFFFFF80000400000, poolBase: 0xFFFFC00000000000, modBase: 0xFFFFF80001000000,
		pfnDatabase: 0xFFFFDE0000000000, badPointer: 0xFFFFF8000F000000,
		hdr: &header64, triage: &triage64, ldr: &ldr64,
	},
}

// headerLayout is DUMP_HEADER32 or DUMP_HEADER64 (mindumpdef.h): field
// offsets, -1 where the field does not exist.
type headerLayout struct {
	size      int
	validDump string
	ptr       int // width of DTB, PfnDataBase, list heads, KDBG, bugcheck parameters

	dtb, pfnDatabase, psLoadedModuleList, psActiveProcessHead int
	machine, cpus, bugCheck, bugParams, paeEnabled, kdbg      int
	physBlock, runsAt, runSize                                int // runs at physBlock+runsAt
	context, contextLen, exception, exceptionLen              int
	comment, attributes, dumpType, productType                int
	requiredDumpSpace, systemUpTime, systemTime               int
}

// physBlockLen is the size of the PhysicalMemoryBlockBuffer union.
const physBlockLen = 700

// maxRuns is how many runs fit in the 700-byte run descriptor.
func (h *headerLayout) maxRuns() int { return (physBlockLen - h.runsAt) / h.runSize }

var header32 = headerLayout{
	size: 0x1000, validDump: "DUMP", ptr: 4,
	dtb: 0x10, pfnDatabase: 0x14, psLoadedModuleList: 0x18, psActiveProcessHead: 0x1C,
	machine: 0x20, cpus: 0x24, bugCheck: 0x28, bugParams: 0x2C, paeEnabled: 0x5C, kdbg: 0x60,
	physBlock: 0x64, runsAt: 8, runSize: 8,
	context: 0x320, contextLen: 1200, exception: 0x7D0, exceptionLen: 0x50,
	comment: 0x820, attributes: 0x8A0, dumpType: 0xF88, productType: 0xF94,
	requiredDumpSpace: 0xFA0, systemUpTime: 0xFB8, systemTime: 0xFC0,
}

var header64 = headerLayout{
	size: 0x2000, validDump: "DU64", ptr: 8,
	dtb: 0x10, pfnDatabase: 0x18, psLoadedModuleList: 0x20, psActiveProcessHead: 0x28,
	machine: 0x30, cpus: 0x34, bugCheck: 0x38, bugParams: 0x40, paeEnabled: -1, kdbg: 0x80,
	physBlock: 0x88, runsAt: 0x10, runSize: 16,
	context: 0x348, contextLen: 3000, exception: 0xF00, exceptionLen: 0x98,
	comment: 0xFB0, attributes: 0x1050, dumpType: 0xF98, productType: 0x1040,
	requiredDumpSpace: 0xFA0, systemUpTime: 0x1030, systemTime: 0xFA8,
}

// triageLayout is TRIAGE_DUMP32/64 and DUMP_DRIVER_ENTRY32/64.
//
// TRIAGE_DUMP64 (at file offset 0x2000) is a row of ULONGs:
// ServicePackBuild 0x00, SizeOfDump 0x04, ValidOffset 0x08, ContextOffset
// 0x0C, ExceptionOffset 0x10, MmOffset 0x14, UnloadedDriversOffset 0x18,
// PrcbOffset 0x1C, ProcessOffset 0x20, ThreadOffset 0x24, CallStackOffset
// 0x28, SizeOfCallStack 0x2C, DriverListOffset 0x30, DriverCount 0x34,
// StringPoolOffset 0x38, StringPoolSize 0x3C, BrokenDriverOffset 0x40,
// TriageOptions 0x44, then ULONG64 TopOfStack 0x48, a 16-byte
// ArchitectureSpecific union 0x50, ULONG64 DataPageAddress 0x60,
// DataPageOffset 0x68, DataPageSize 0x6C, DebuggerDataOffset 0x70,
// DebuggerDataSize 0x74, DataBlocksOffset 0x78, DataBlocksCount 0x7C.
// Every *Offset is a file offset. 'TRGD' sits at ValidOffset =
// SizeOfDump - 4.
//
// DUMP_DRIVER_ENTRY64 is 0x90 bytes: ULONG DriverNameOffset 0x00, 4 bytes
// padding, then the 0x88-byte KLDR_DATA_TABLE_ENTRY: DllBase 0x38,
// EntryPoint 0x40, SizeOfImage 0x48, FullDllName 0x50, BaseDllName 0x60,
// CheckSum 0x80, TimeDateStamp 0x88. DriverNameOffset is the file offset
// of a DUMP_STRING {ULONG Length in characters; WCHAR Buffer[Length];
// WCHAR 0}, each string 8-byte aligned; Windows stores the full path.
//
// Checked against the real triage_x64.dmp (build 19041): DriverListOffset
// 0x10828, DriverCount 151, StringPoolOffset 0x15D18 = 0x10828 + 151*0x90;
// entry 0 names "\SystemRoot\system32\ntoskrnl.exe" (Length 33, next
// string at 0x15D60 = 0x15D18 + 4 + 34*2 rounded up to 8) with DllBase
// 0xFFFFF8047BA00000 = KDBG KernBase and SizeOfImage 0x1046000;
// DebuggerDataOffset 0x104A8 holds the block whose 'KDBG' tag is at
// 0x104B8 (block + 0x10), DebuggerDataSize 0x380 = the block's Size;
// 'TRGD' at ValidOffset 0x13A288 = SizeOfDump - 4. triage_arm64.dmp (build
// 22000) agrees: same offsets, stride 0x90, KDBG at 0xDAB0.
//
// The 32-bit layouts follow the same headers (TRIAGE_DUMP32 all ULONGs,
// DUMP_DRIVER_ENTRY32 = {ULONG DriverNameOffset; 0x48-byte KLDR entry});
// no real 32-bit triage dump was available to check them.
type triageLayout struct {
	at                                              int // file offset of the block
	size                                            int
	contextOffset, exceptionOffset, triageOptions   int
	driverListOffset, driverCount                   int
	stringPoolOffset, stringPoolSize                int
	debuggerDataOffset, debuggerDataSize            int
	entrySize, entryDllBase, entrySizeOfImage       int
	entryCheckSum, entryTimeDateStamp, entryNameOff int
}

var triage64 = triageLayout{
	at: 0x2000, size: 0x80,
	contextOffset: 0x0C, exceptionOffset: 0x10, triageOptions: 0x44,
	driverListOffset: 0x30, driverCount: 0x34, stringPoolOffset: 0x38, stringPoolSize: 0x3C,
	debuggerDataOffset: 0x70, debuggerDataSize: 0x74,
	entrySize: 0x90, entryDllBase: 0x38, entrySizeOfImage: 0x48,
	entryCheckSum: 0x80, entryTimeDateStamp: 0x88, entryNameOff: 0,
}

var triage32 = triageLayout{
	at: 0x1000, size: 0x68,
	contextOffset: 0x0C, exceptionOffset: 0x10, triageOptions: 0x44,
	driverListOffset: 0x30, driverCount: 0x34, stringPoolOffset: 0x38, stringPoolSize: 0x3C,
	debuggerDataOffset: 0x58, debuggerDataSize: 0x5C,
	entrySize: 0x4C, entryDllBase: 0x1C, entrySizeOfImage: 0x24,
	entryCheckSum: 0x44, entryTimeDateStamp: 0x48, entryNameOff: 0,
}

// ldrLayout is the part of (K)LDR_DATA_TABLE_ENTRY the builder fills.
// CheckSum and TimeDateStamp sit where the triage driver table's copy of
// the entry has them.
type ldrLayout struct {
	size                                   int
	dllBase, entryPoint, sizeOfImage       int
	fullDllName, baseDllName, stringBuffer int // UNICODE_STRING; Buffer at +stringBuffer
	flags, checkSum, timeDateStamp         int
}

var ldr64 = ldrLayout{
	size: 0xA0, dllBase: 0x30, entryPoint: 0x38, sizeOfImage: 0x40,
	fullDllName: 0x48, baseDllName: 0x58, stringBuffer: 8,
	flags: 0x68, checkSum: 0x78, timeDateStamp: 0x80,
}

var ldr32 = ldrLayout{
	size: 0x50, dllBase: 0x18, entryPoint: 0x1C, sizeOfImage: 0x20,
	fullDllName: 0x24, baseDllName: 0x2C, stringBuffer: 4,
	flags: 0x34, checkSum: 0x40, timeDateStamp: 0x44,
}
