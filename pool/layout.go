package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// counter is where one counter sits in a tracker entry, and how wide it is.
type counter struct{ off, width int }

func (c counter) read(b []byte) uint64 {
	if c.width == 4 {
		return uint64(binary.LittleEndian.Uint32(b[c.off:]))
	}
	return binary.LittleEndian.Uint64(b[c.off:])
}

// Layout is one build family's _POOL_TRACKER_TABLE entry.
type Layout struct {
	Name      string
	EntrySize int
	npAllocs  counter
	npFrees   counter
	npBytes   counter
	pAllocs   counter
	pFrees    counter
	pBytes    counter
}

// Decode reads one entry: its key at offset 0 and the six counters.
func (l *Layout) Decode(b []byte) Usage {
	return Usage{
		Tag:            pooltag.Tag(binary.LittleEndian.Uint32(b)),
		NonPagedAllocs: l.npAllocs.read(b),
		NonPagedFrees:  l.npFrees.read(b),
		NonPagedBytes:  l.npBytes.read(b),
		PagedAllocs:    l.pAllocs.read(b),
		PagedFrees:     l.pFrees.read(b),
		PagedBytes:     l.pBytes.read(b),
	}
}

// Truncate cuts each counter to its width in this layout. Per-CPU
// counters wrap (a CPU that frees more than it allocated holds a
// "negative" byte count), so sums are only right modulo the width.
func (l *Layout) Truncate(u Usage) Usage {
	cut := func(c counter, v uint64) uint64 {
		if c.width == 4 {
			return uint64(uint32(v))
		}
		return v
	}
	u.NonPagedAllocs = cut(l.npAllocs, u.NonPagedAllocs)
	u.NonPagedFrees = cut(l.npFrees, u.NonPagedFrees)
	u.NonPagedBytes = cut(l.npBytes, u.NonPagedBytes)
	u.PagedAllocs = cut(l.pAllocs, u.PagedAllocs)
	u.PagedFrees = cut(l.pFrees, u.PagedFrees)
	u.PagedBytes = cut(l.pBytes, u.PagedBytes)
	return u
}

func c4(off int) counter { return counter{off, 4} }
func c8(off int) counter { return counter{off, 8} }

// The entry layouts (per-build kernel type information: AndreyBazhan/SymStore,
// ntdiff/headers; volatility 2 vtypes). Windows 11 and build 21292 append
// AvailableLimit and LimitInfo after the same counters.
var (
	layout1C = &Layout{"x86 2000-10 1703 (0x1C)", 0x1C, c4(4), c4(8), c4(0xC), c4(0x10), c4(0x14), c4(0x18)}
	layout28 = &Layout{"x64 2003-10 1703 (0x28)", 0x28, c4(4), c4(8), c8(0x10), c4(0x18), c4(0x1C), c8(0x20)}
	layout38 = &Layout{"x64 10 1709-19041 (0x38)", 0x38, c8(0x10), c8(0x18), c8(0x08), c8(0x28), c8(0x30), c8(0x20)}
	layout30 = &Layout{"x86 10 1709-19041 (0x30)", 0x30, c8(8), c8(0x10), c4(4), c8(0x20), c8(0x28), c4(0x18)}
	layout50 = &Layout{"x64 11 22000+ (0x50)", 0x50, c8(0x10), c8(0x18), c8(0x08), c8(0x28), c8(0x30), c8(0x20)}
	layout40 = &Layout{"x86 21292+ (0x40)", 0x40, c8(8), c8(0x10), c4(4), c8(0x20), c8(0x28), c4(0x18)}
	// 32-bit ARM (Windows RT 8.x, Windows 10 IoT Core) keeps the 28-byte
	// entry on every build: its kernel sizes the table as entries of 0x1C
	// bytes where x86 moved to 0x30 with 1709.
	layoutARM32 = &Layout{"arm32 8-10 (0x1C)", 0x1C, c4(4), c4(8), c4(0xC), c4(0x10), c4(0x14), c4(0x18)}
)

// layoutRow chooses a layout for builds from minBuild up to the next row.
type layoutRow struct {
	is64     bool
	minBuild uint32
	layout   *Layout
}

// layoutTable is ordered by width, then build.
var layoutTable = []layoutRow{
	{false, 0, layout1C},
	{false, 16299, layout30},
	{false, 21292, layout40},
	{true, 0, layout28},
	{true, 16299, layout38},
	{true, 22000, layout50},
}

// LayoutFor returns the tracker entry layout for a build on a 32-bit
// (x86) or 64-bit (x64, ARM64) kernel.
func LayoutFor(is64 bool, build uint32) (*Layout, error) {
	var best *Layout
	for _, r := range layoutTable {
		if r.is64 == is64 && build >= r.minBuild {
			best = r.layout
		}
	}
	if best == nil || build < 2195 {
		return nil, fmt.Errorf("no pool tracker layout known for build %d", build)
	}
	return best, nil
}

// LayoutForArch is LayoutFor for a machine whose architecture is known:
// ARM32 has its own row (layoutARM32); the others go by width and build.
func LayoutForArch(arch dumpfile.Arch, build uint32) (*Layout, error) {
	if arch == dumpfile.ArchARM32 {
		if build < 9200 { // Windows RT 8.0 was the first ARM32 Windows
			return nil, fmt.Errorf("no pool tracker layout known for ARM32 build %d", build)
		}
		return layoutARM32, nil
	}
	return LayoutFor(arch.Is64(), build)
}

// alternatives lists the other layouts of the same width, tried when the
// build's own does not fit the table (Server 2022, 20348, is uncertain).
func alternatives(is64 bool, first *Layout) []*Layout {
	out := []*Layout{first}
	for _, r := range layoutTable {
		if r.is64 == is64 && r.layout != first {
			out = append(out, r.layout)
		}
	}
	return out
}

// HashFunc maps a tag to its slot before masking.
type HashFunc func(key uint32) uint32

// HashWRK is POOLTAG_HASH of the Windows Research Kernel (Server 2003 SP1,
// pool.c): bytes folded two bits apart, times 40543, shifted right by 2.
func HashWRK(key uint32) uint32 {
	b := [4]uint32{key & 0xFF, key >> 8 & 0xFF, key >> 16 & 0xFF, key >> 24}
	return 40543 * ((((b[0]<<2)^b[1])<<2^b[2])<<2 ^ b[3]) >> 2
}

// HashMul is the later form (ReactOS ExpComputeHashForTag): the 64-bit
// product with 40543, low half xor high half.
func HashMul(key uint32) uint32 {
	r := uint64(key) * 40543
	return uint32(r) ^ uint32(r>>32)
}

// HashFor returns the hash a build uses: the WRK form up to Server 2003,
// the multiplicative form after. Readers try both (see validate).
func HashFor(build uint32) HashFunc {
	if build < 6000 {
		return HashWRK
	}
	return HashMul
}
