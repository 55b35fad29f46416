package dumptest

import (
	"fmt"
	"strings"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
)

// Config describes the machine and the dump file to build.
type Config struct {
	Arch     dumpfile.Arch     // ArchX86, ArchX86PAE, ArchAMD64, ArchARM64, ArchARM32
	Build    uint32            // header MinorVersion (MajorVersion is 0xF); 0: 7601 (x86), 19041 (x64), 22000 (ARM64)
	CPUs     uint32            // 0: 1
	Type     dumpfile.DumpType // 1, 2, 4, 5, 6, 8, 9, 10; 0: 5 (64-bit) or 1 (32-bit)
	Complete bool              // types 5/6: sub-header signature FDMP instead of SDMP

	// UnalignedFirstPage puts the first stored page right after the
	// bitmap (types 2, 5, 6), as real dumps do (0xA038 in one of them),
	// instead of at the next page boundary.
	UnalignedFirstPage bool

	BugCheck       uint32
	BugCheckParams [4]uint64 // truncated to 32 bits in 32-bit headers
	SystemTime     time.Time // zero: FILETIME 0
	Uptime         time.Duration
	Comment        string // at most 127 bytes; empty leaves the PAGE pattern
	ProductType    uint32 // 1 workstation, 3 server; 0: 1
	Attributes     uint32

	// MemoryPages is the number of physical pages the dump describes
	// (bitmap bits); it is raised when stored pages lie above it.
	// 0: 0x20000 (512 MiB).
	MemoryPages uint64
	// StoredPages pads the dump with zero pages up to this many stored
	// pages. The padding is never held in memory and WriteFile writes it
	// as file holes, so multi-gigabyte dumps are cheap.
	StoredPages uint64

	KernelDataSize int // size of the kernel's .data section; 0: 64 KiB

	EncodeKDBG    bool   // x64: KDBG in memory is encoded (Windows 8+ scheme)
	PlainKDBGCopy bool   // with EncodeKDBG: a plain copy on another stored physical page
	LA57          bool   // x64: header pointers are 57-bit canonical (5-level paging)
	DTBFlags      uint64 // low bits OR-ed into the header DTB (PCID); below 0x1000 (PAE: 0x20)
	Seed          int64  // source of every random choice

	Damage Damage
}

// Damage makes the file wrong in one precise way, to test how a reader
// copes. Damage is applied when the file is written; the Builder itself
// stays intact.
type Damage struct {
	Truncate            int64 // cut the file to this many bytes (0: no cut)
	ModuleListLoop      bool  // the last module's Flink points back to the second entry, not the head
	ModuleBadPointer    bool  // one module's Flink points to an unmapped address
	RunPastEnd          bool  // type 1: one extra run whose pages lie past the end of the file
	BitmapCountMismatch bool  // types 5/6: TotalPresentPages is one more than the set bits
}

const (
	defaultMemoryPages    = 0x20000
	defaultKernelDataSize = 64 << 10
	maxKernelDataSize     = 8 << 20
)

// withDefaults returns c with every zero field that has a default filled in.
func (c Config) withDefaults() Config {
	if c.Build == 0 {
		switch c.Arch {
		case dumpfile.ArchAMD64:
			c.Build = 19041
		case dumpfile.ArchARM64:
			c.Build = 22000
		case dumpfile.ArchARM32:
			c.Build = 17134 // Windows 10 IoT Core 1803, as the real Raspberry Pi 3 dump
		default:
			c.Build = 7601
		}
	}
	if c.CPUs == 0 {
		c.CPUs = 1
	}
	if c.Type == 0 {
		if c.Arch.Is64() {
			c.Type = dumpfile.TypeBitmapFull
		} else {
			c.Type = dumpfile.TypeFull
		}
	}
	if c.ProductType == 0 {
		c.ProductType = 1
	}
	if c.MemoryPages == 0 {
		c.MemoryPages = defaultMemoryPages
	}
	if c.KernelDataSize == 0 {
		c.KernelDataSize = defaultKernelDataSize
	}
	return c
}

// Validate reports the first thing in c (after defaults) that cannot
// describe a dump file.
func (c Config) Validate() error {
	c = c.withDefaults()
	if _, ok := archTable[c.Arch]; !ok {
		return fmt.Errorf("unsupported Arch %v", c.Arch)
	}
	is64 := c.Arch.Is64()
	switch c.Type {
	case dumpfile.TypeFull, dumpfile.TypeSummary, dumpfile.TypeTriage,
		dumpfile.TypeBitmapFull, dumpfile.TypeBitmapKernel:
	case dumpfile.TypeRDMPKernel, dumpfile.TypeRDMPActive, dumpfile.TypeRDMPFull:
		if !is64 {
			return fmt.Errorf("dump type %d (%v) exists only in 64-bit dumps", c.Type, c.Type)
		}
	default:
		return fmt.Errorf("unsupported dump type %d", uint32(c.Type))
	}
	bitmap := c.Type == dumpfile.TypeBitmapFull || c.Type == dumpfile.TypeBitmapKernel
	if c.Complete && !bitmap {
		return fmt.Errorf("dump type %d: Complete (FDMP) applies to types 5 and 6 only", c.Type)
	}
	if c.UnalignedFirstPage && !bitmap && c.Type != dumpfile.TypeSummary {
		return fmt.Errorf("UnalignedFirstPage applies to dump types 2, 5 and 6, not %d", c.Type)
	}
	if c.EncodeKDBG && c.Arch != dumpfile.ArchAMD64 {
		return fmt.Errorf("EncodeKDBG applies to x64 only, not %v", c.Arch)
	}
	if c.PlainKDBGCopy && !c.EncodeKDBG {
		return fmt.Errorf("PlainKDBGCopy needs EncodeKDBG")
	}
	if c.PlainKDBGCopy && c.Type == dumpfile.TypeTriage {
		return fmt.Errorf("PlainKDBGCopy needs physical pages; a triage dump has none")
	}
	if c.LA57 && c.Arch != dumpfile.ArchAMD64 {
		return fmt.Errorf("LA57 applies to x64 only, not %v", c.Arch)
	}
	limit := uint64(0x1000)
	switch c.Arch {
	case dumpfile.ArchX86PAE:
		limit = 0x20 // CR3 bits 31:5 address the PDPT
	case dumpfile.ArchARM32:
		limit = 0x80 // TTBR0 bits 6:0 are walk attributes; 13:7 are zero with TTBCR.N = 0
	}
	if c.DTBFlags >= limit {
		return fmt.Errorf("DTBFlags %#x: must be below %#x for %v", c.DTBFlags, limit, c.Arch)
	}
	if len(c.Comment) > 127 || strings.IndexByte(c.Comment, 0) >= 0 {
		return fmt.Errorf("a Comment of %d bytes: at most 127 bytes, without NUL", len(c.Comment))
	}
	if c.KernelDataSize < PageSize || c.KernelDataSize > maxKernelDataSize {
		return fmt.Errorf("KernelDataSize %#x: must be between %#x and %#x", c.KernelDataSize, PageSize, maxKernelDataSize)
	}
	if c.Arch == dumpfile.ArchARM32 && c.Build < 9200 {
		return fmt.Errorf("build %d: the first ARM32 Windows is 8 (9200)", c.Build)
	}
	if !is64 && c.MemoryPages > 1<<32 {
		return fmt.Errorf("MemoryPages %#x: too many for a 32-bit dump", c.MemoryPages)
	}
	d := c.Damage
	if d.Truncate < 0 {
		return fmt.Errorf("Damage.Truncate %d: negative", d.Truncate)
	}
	if d.RunPastEnd && c.Type != dumpfile.TypeFull {
		return fmt.Errorf("Damage.RunPastEnd applies to dump type 1, not %d", c.Type)
	}
	if d.BitmapCountMismatch && !bitmap {
		return fmt.Errorf("Damage.BitmapCountMismatch applies to dump types 5 and 6, not %d", c.Type)
	}
	if (d.ModuleListLoop || d.ModuleBadPointer) && c.Type == dumpfile.TypeTriage {
		return fmt.Errorf("module list damage needs memory; a triage dump keeps only a driver table")
	}
	return nil
}

// PageSize is the size of every page the builder maps and stores.
const PageSize = dumpfile.PageSize
