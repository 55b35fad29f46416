package poolscan

import (
	"encoding/binary"
)

// Layout facts the scanner reads by, one table per structure. Sources:
// Windows Research Kernel (pool.h, pool.c), ReactOS expool.c, symbol-derived
// type dumps (Vergilius Project, ntdiff/headers), volatility 2 and rekall
// pool header overlays, MemProcFS vmmwinpool.c, and for the segment heap
// Yason (Black Hat USA 2016) and Bayet and Fariello (SSTIC 2020).

// segmentHeapBuild is Windows 10 1809: from it on, small pool blocks live
// in the segment heap. Public write-ups often say 1903 (19H1), but the
// real 1809 x64 kernel pages in the project's real data hold no page tiled
// by a header chain and hundreds of VS and LFH chunks (File, ObNm, Ntf0,
// ALPC, ...), as MemProcFS (heap-based pool parsing from 1809) and
// PoolViewer (1809 and later) also have it.
const segmentHeapBuild = 17763

// headerLayout is _POOL_HEADER for one width.
type headerLayout struct {
	size     int // 8 on x86, 16 on x64
	unit     int // bytes per BlockSize unit
	maxSmall int // largest block below the big-allocation threshold, header included
	vsHeader int // _HEAP_VS_CHUNK_HEADER before a VS block's POOL_HEADER
}

var headerLayouts = map[bool]headerLayout{
	false: {size: 8, unit: 8, maxSmall: 0xFF8, vsHeader: 8},
	true:  {size: 16, unit: 16, maxSmall: 0xFF0, vsHeader: 16},
}

// header is one decoded POOL_HEADER. PoolIndex is not kept: nothing reads
// it, and four fields let the compiler keep a header in registers.
type header struct {
	prev, blocks, typ uint32
	tag               uint32
}

// decodeHeader decodes the POOL_HEADER at the start of b (8 bytes or more).
func decodeHeader(b []byte, is64 bool) header {
	return headerOf(binary.LittleEndian.Uint64(b), is64)
}

// headerOf decodes a POOL_HEADER read as one little-endian word. x64:
// PreviousSize, PoolIndex, BlockSize and PoolType a byte each, then the
// tag; x86: PreviousSize 9 bits, PoolIndex 7, BlockSize 9, PoolType 7,
// then the tag.
func headerOf(w uint64, is64 bool) header {
	if is64 {
		return header{prev: uint32(w & 0xFF), blocks: uint32(w >> 16 & 0xFF), typ: uint32(w >> 24 & 0xFF), tag: uint32(w >> 32)}
	}
	return header{prev: uint32(w & 0x1FF), blocks: uint32(w >> 16 & 0x1FF), typ: uint32(w >> 25 & 0x7F), tag: uint32(w >> 32)}
}

// poolTypeBits are the POOL_TYPE bits a header can carry: the base type
// (0-7), POOL_QUOTA_MASK 8, SESSION_POOL_MASK 0x20, POOL_VERIFIER_MASK 0x40.
const poolTypeBits = 0x6F

// typeCoding says how a build stores PoolType in the header: up to Server
// 2003 as type+1 (nonpaged odd); from Vista on as type|2 (POOL_IN_USE_MASK;
// nonpaged even, paged odd). Zero is a free block in both.
type typeCoding struct{ plusOne bool }

func codingFor(build uint32) typeCoding { return typeCoding{plusOne: build < 6000} }

// decode returns whether the header's type is a plausible value and what
// it says. Free blocks (0) are valid.
func (c typeCoding) decode(typ uint32) (valid, used, paged, session bool) {
	if typ == 0 {
		return true, false, false, false
	}
	v := typ
	if c.plusOne {
		v = typ - 1
	} else if typ&2 == 0 {
		return false, false, false, false
	}
	if v&^poolTypeBits != 0 {
		return false, false, false, false
	}
	return true, true, v&1 == 1, v&0x20 != 0
}

// bigLayout is _POOL_TRACKER_BIG_PAGES; Va is at 0 in every build.
type bigLayout struct {
	name     string
	size     int
	key      int
	pages    int // NumberOfPages (before Vista), -1 when absent
	poolType int // PoolType, -1 when absent
	bitfield bool
	bytes    int // NumberOfBytes, -1 when absent
}

type bigRow struct {
	is64     bool
	minBuild uint32
	layout   bigLayout
}

var bigRows = []bigRow{
	{false, 0, bigLayout{"x86 XP (0xC)", 0xC, 4, 8, -1, false, -1}},
	{false, 3790, bigLayout{"x86 2003 (0x10)", 0x10, 4, 8, -1, false, -1}},
	{false, 6000, bigLayout{"x86 Vista-8.1 (0x10)", 0x10, 4, -1, 8, false, 0xC}},
	{false, 10240, bigLayout{"x86 10 (0x10)", 0x10, 4, -1, 8, true, 0xC}},
	{true, 0, bigLayout{"x64 2003 (0x18)", 0x18, 8, 0xC, -1, false, -1}},
	{true, 6000, bigLayout{"x64 Vista-8.1 (0x18)", 0x18, 8, -1, 0xC, false, 0x10}},
	{true, 10240, bigLayout{"x64 10 (0x18)", 0x18, 8, -1, 0xC, true, 0x10}},
	{true, 20348, bigLayout{"x64 11 / 2022 (0x20)", 0x20, 8, -1, 0xC, true, 0x10}},
}

// bigLayouts returns the build's layout first, then the others of the same width.
func bigLayouts(is64 bool, build uint32) []bigLayout {
	var first *bigLayout
	for i := range bigRows {
		if bigRows[i].is64 == is64 && build >= bigRows[i].minBuild {
			first = &bigRows[i].layout
		}
	}
	var out []bigLayout
	if first != nil {
		out = append(out, *first)
	}
	for _, r := range bigRows {
		if r.is64 == is64 && (first == nil || r.layout.name != first.name) {
			out = append(out, r.layout)
		}
	}
	return out
}

// bigEntry is one decoded big page entry.
type bigEntry struct {
	va      uint64
	key     uint32
	bytes   uint64
	paged   bool
	session bool
	typed   bool // the layout records the pool type (not before Vista)
	free    bool
}

func (l bigLayout) decode(b []byte, is64 bool) bigEntry {
	var e bigEntry
	if is64 {
		e.va = binary.LittleEndian.Uint64(b)
	} else {
		e.va = uint64(binary.LittleEndian.Uint32(b))
	}
	e.free = e.va&1 == 1
	e.key = binary.LittleEndian.Uint32(b[l.key:])
	if l.pages >= 0 {
		e.bytes = uint64(binary.LittleEndian.Uint32(b[l.pages:])) * 0x1000
	}
	if l.bytes >= 0 {
		if is64 {
			e.bytes = binary.LittleEndian.Uint64(b[l.bytes:])
		} else {
			e.bytes = uint64(binary.LittleEndian.Uint32(b[l.bytes:]))
		}
	}
	if l.poolType >= 0 {
		pt := binary.LittleEndian.Uint32(b[l.poolType:])
		if l.bitfield {
			pt = pt >> 8 & 0xFFF
		}
		e.paged, e.session, e.typed = pt&1 == 1, pt&0x20 != 0, true
	}
	return e
}
