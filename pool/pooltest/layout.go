package pooltest

import (
	"encoding/binary"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
)

// The tracker entry layouts and hash functions are stated here again, on
// purpose, rather than taken from package pool: a test dump built with
// the reader's own tables would agree with any mistake in them.

// counter is one counter of a _POOL_TRACKER_TABLE entry.
type counter struct{ off, width int }

// entryLayout is one build family's entry: the key at 0, then the six
// counters.
type entryLayout struct {
	size                                                int
	npAllocs, npFrees, npBytes, pAllocs, pFrees, pBytes counter
}

// layouts by width and first build (per-build kernel type information,
// e.g. ntdiff/headers _POOL_TRACKER_TABLE.h: Win10 21292 x86 is Key 0x0,
// NonPagedBytes 0x4 (u32), NonPagedAllocs 0x8, NonPagedFrees 0x10,
// PagedBytes 0x18 (u32), PagedAllocs 0x20, PagedFrees 0x28, size 0x40).
var layouts = []struct {
	is64     bool
	minBuild uint32
	l        entryLayout
}{
	// Windows 2000 to 10 1703, x86: Key, NonPagedAllocs, NonPagedFrees,
	// NonPagedBytes, PagedAllocs, PagedFrees, PagedBytes, all u32.
	{false, 0, entryLayout{0x1C, counter{0x04, 4}, counter{0x08, 4}, counter{0x0C, 4}, counter{0x10, 4}, counter{0x14, 4}, counter{0x18, 4}}},
	// Windows 10 1709 to 19041, x86: bytes first in each pool, u64 counts.
	{false, 16299, entryLayout{0x30, counter{0x08, 8}, counter{0x10, 8}, counter{0x04, 4}, counter{0x20, 8}, counter{0x28, 8}, counter{0x18, 4}}},
	// 21292 and later, x86: the same counters, AvailableLimit and LimitInfo after.
	{false, 21292, entryLayout{0x40, counter{0x08, 8}, counter{0x10, 8}, counter{0x04, 4}, counter{0x20, 8}, counter{0x28, 8}, counter{0x18, 4}}},
	// Server 2003 to 10 1703, x64: u32 counts, u64 byte counts.
	{true, 0, entryLayout{0x28, counter{0x04, 4}, counter{0x08, 4}, counter{0x10, 8}, counter{0x18, 4}, counter{0x1C, 4}, counter{0x20, 8}}},
	// Windows 10 1709 to 19041, x64: bytes first in each pool, all u64.
	{true, 16299, entryLayout{0x38, counter{0x10, 8}, counter{0x18, 8}, counter{0x08, 8}, counter{0x28, 8}, counter{0x30, 8}, counter{0x20, 8}}},
	// Windows 11, x64: the same counters, AvailableLimit and LimitInfo after.
	{true, 22000, entryLayout{0x50, counter{0x10, 8}, counter{0x18, 8}, counter{0x08, 8}, counter{0x28, 8}, counter{0x30, 8}, counter{0x20, 8}}},
}

// arm32Layout is the entry of 32-bit ARM Windows (RT 8.x, 10 IoT Core).
// Its size, 0x1C, is what the ARM32 kernel sizes each entry as when it
// allocates the table (package pool states the same fact; the real ARM32
// dump at hand is a triage dump, which holds no table to check it on),
// where x86 moved to 0x30 with 1709. The field order is NOT
// known from type information: ntdiff/headers and the other public type
// dumps cover x86, x64 and ARM64 builds only. Seven 32-bit fields in 28
// bytes leave two orders the kernels have used: Key, NonPagedAllocs,
// NonPagedFrees, NonPagedBytes, PagedAllocs, PagedFrees, PagedBytes
// (x86 up to 1703, WRK's POOL_TRACKER_TABLE), or the bytes-first order
// of 1709 and later. The first is assumed here, as in package pool; a
// reader that checks it (counters, bounds) would notice the other.
var arm32Layout = entryLayout{0x1C, counter{0x04, 4}, counter{0x08, 4}, counter{0x0C, 4}, counter{0x10, 4}, counter{0x14, 4}, counter{0x18, 4}}

// layoutForArch is layoutFor, with ARM32's own row.
func layoutForArch(arch dumpfile.Arch, build uint32) (entryLayout, bool) {
	if arch == dumpfile.ArchARM32 {
		return arm32Layout, build >= 9200
	}
	return layoutFor(arch.Is64(), build)
}

// layoutFor is the layout of the last row of that width the build reaches.
func layoutFor(is64 bool, build uint32) (entryLayout, bool) {
	var best entryLayout
	found := false
	for _, r := range layouts {
		if r.is64 == is64 && build >= r.minBuild {
			best, found = r.l, true
		}
	}
	return best, found && build >= 2195
}

func (c counter) put(b []byte, v uint64) {
	if c.width == 4 {
		binary.LittleEndian.PutUint32(b[c.off:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(b[c.off:], v)
	}
}

func (c counter) cut(v uint64) uint64 {
	if c.width == 4 {
		return uint64(uint32(v))
	}
	return v
}

// encode writes u as the kernel stores it.
func (l entryLayout) encode(b []byte, u pool.Usage) {
	binary.LittleEndian.PutUint32(b, uint32(u.Tag))
	l.npAllocs.put(b, u.NonPagedAllocs)
	l.npFrees.put(b, u.NonPagedFrees)
	l.npBytes.put(b, u.NonPagedBytes)
	l.pAllocs.put(b, u.PagedAllocs)
	l.pFrees.put(b, u.PagedFrees)
	l.pBytes.put(b, u.PagedBytes)
}

// truncate is what a reader summing the entries finds: each counter
// modulo its width (per-CPU counters wrap).
func (l entryLayout) truncate(u pool.Usage) pool.Usage {
	u.NonPagedAllocs = l.npAllocs.cut(u.NonPagedAllocs)
	u.NonPagedFrees = l.npFrees.cut(u.NonPagedFrees)
	u.NonPagedBytes = l.npBytes.cut(u.NonPagedBytes)
	u.PagedAllocs = l.pAllocs.cut(u.PagedAllocs)
	u.PagedFrees = l.pFrees.cut(u.PagedFrees)
	u.PagedBytes = l.pBytes.cut(u.PagedBytes)
	return u
}

// wrkHash is POOLTAG_HASH of the Windows Research Kernel (base/ntos/ex/
// pool.c), written as the macro is:
//
//	((40543*((((((((PUCHAR)&Key)[0]<<2)^((PUCHAR)&Key)[1])<<2)^((PUCHAR)&Key)[2])<<2)^((PUCHAR)&Key)[3]))>>2)
func wrkHash(key uint32) uint32 {
	k := [4]byte{byte(key), byte(key >> 8), byte(key >> 16), byte(key >> 24)}
	folded := uint32(k[0])
	folded = folded<<2 ^ uint32(k[1])
	folded = folded<<2 ^ uint32(k[2])
	folded = folded<<2 ^ uint32(k[3])
	return (40543 * folded) >> 2
}

// mulHash is ReactOS's ExpComputeHashForTag, used from Vista on: the
// 64-bit product of the tag and 40543, its halves xored.
func mulHash(key uint32) uint32 {
	product := uint64(key) * 40543
	low, high := uint32(product), uint32(product>>32)
	return low ^ high
}

// hashFor is the WRK hash up to Server 2003 (build 3790), the
// multiplicative one from Vista (6000).
func hashFor(build uint32) func(uint32) uint32 {
	if build < 6000 {
		return wrkHash
	}
	return mulHash
}
