package dumpfile

import "fmt"

// Arch is the processor architecture of the machine that wrote the dump,
// together with its paging mode where the machine type alone does not tell.
type Arch int

// The architectures; ArchUnknown is a machine type the tool does not read.
const (
	ArchUnknown Arch = iota
	ArchX86          // 32-bit x86, 2-level paging (10/10/12)
	ArchX86PAE       // 32-bit x86 with PAE, 3-level paging (2/9/9/12)
	ArchAMD64        // x64, 4-level paging
	ArchARM64        // ARM64, 4 KiB granule, 4 levels
	// ArchARM32 is 32-bit ARM (ARMNT: ARMv7, Thumb-2), as Windows RT 8.x and
	// Windows 10 IoT Core run it. Addresses are translated through its
	// ARMv7 short-descriptor tables (two levels); the whole-table walk
	// (Mappings) fails with ErrUnsupportedPaging.
	ArchARM32
)

var archNames = [...]string{"unknown", "x86", "x86 (PAE)", "x64", "arm64", "arm32"}

func (a Arch) String() string {
	if int(a) < len(archNames) {
		return archNames[a]
	}
	return fmt.Sprintf("Arch(%d)", int(a))
}

// Is64 reports whether pointers are 8 bytes wide.
func (a Arch) Is64() bool { return a == ArchAMD64 || a == ArchARM64 }

// PointerSize is 4 on x86 and 8 on x64 and ARM64.
func (a Arch) PointerSize() int {
	if a.Is64() {
		return 8
	}
	return 4
}

// Machine image types as stored in the header (IMAGE_FILE_MACHINE_*).
const (
	MachineI386  = 0x014C
	MachineAMD64 = 0x8664
	MachineARM64 = 0xAA64
	MachineARMNT = 0x01C4 // ARM Thumb-2 (Windows RT, Windows 10 IoT Core)
)

// DumpType is the header's DumpType field (mindumpdef.h).
type DumpType uint32

// The dump types, by their DumpType value.
const (
	TypeFull         DumpType = 1  // run-based physical memory
	TypeSummary      DumpType = 2  // old summary kernel dump (XP to 7)
	TypeTriage       DumpType = 4  // minidump: no physical pages
	TypeBitmapFull   DumpType = 5  // bitmap (kernel SDMP or complete FDMP)
	TypeBitmapKernel DumpType = 6  // bitmap, live kernel dump
	TypeAutomatic    DumpType = 7  // not seen in files
	TypeRDMPKernel   DumpType = 8  // .dump /k (RDMP ranges)
	TypeRDMPActive   DumpType = 9  // .dump /ka (RDMP ranges)
	TypeRDMPFull     DumpType = 10 // .dump /f (RDMP full)
)

var dumpTypeNames = map[DumpType]string{
	TypeFull:         "full (run-based)",
	TypeSummary:      "summary kernel",
	TypeTriage:       "triage (minidump)",
	TypeBitmapFull:   "bitmap",
	TypeBitmapKernel: "bitmap (live kernel)",
	TypeAutomatic:    "automatic",
	TypeRDMPKernel:   "RDMP kernel",
	TypeRDMPActive:   "RDMP kernel+active",
	TypeRDMPFull:     "RDMP full",
}

func (t DumpType) String() string {
	if s, ok := dumpTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("DumpType(%d)", uint32(t))
}

// PageSize is the 4 KiB page every supported dump stores.
const PageSize = 0x1000
