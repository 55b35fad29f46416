package dumptest

import (
	"encoding/binary"
	"fmt"
)

// Pool pages, written as the kernel lays them out. The layouts are stated
// here literally (see poollayout.go for the per-build tables and their
// sources); readers under test must not share them.

// PoolBlock is one pool allocation to plant.
type PoolBlock struct {
	Tag string // one to four characters, padded with spaces as the kernel pads 'Mm  '
	// Size is the block's bytes including its POOL_HEADER, rounded up to
	// the block unit (8 bytes on 32-bit, 16 on 64-bit kernels).
	Size    int
	Paged   bool
	Session bool
	// Protected sets bit 31 of the tag, as object allocations carry it up
	// to Windows 7. Builds from Windows 8 on have no such bit: misuse.
	Protected bool
	// Free writes the block as freed: classic pool clears PoolType; an
	// LFH block keeps its header (only the subsegment bitmap knows); a
	// VS chunk gets the free chunk header, whose tree node lies over the
	// POOL_HEADER (see vsFreeNode).
	Free bool
	// Merged (VS) writes the block as freed and coalesced into the free
	// chunk before it (a Free or Merged block): that chunk grows over it,
	// and its chunk header and POOL_HEADER stay behind as they were.
	Merged bool
	Data   []byte // written right after the POOL_HEADER, cut to the block
}

// PlacedBlock says where a planted block went.
type PlacedBlock struct {
	Tag                  string
	Kind                 string // "classic", "lfh", "vs" or "big"
	Header               uint64 // VA of the POOL_HEADER (big: of the allocation)
	Body                 uint64 // VA of the caller's data
	Size                 int    // bytes from Header to the block's end (big: NumberOfBytes)
	Paged, Session, Free bool
}

// SegmentKind chooses the segment-heap back end of a page.
type SegmentKind int

// The segment-heap back ends.
const (
	SegmentLFH SegmentKind = iota + 1 // low-fragmentation heap: equal blocks, back to back
	SegmentVS                         // variable size: encoded chunk header before each POOL_HEADER
)

// poolTag turns a display tag into the kernel's little-endian key.
func (b *Builder) poolTag(s string, protected bool) uint32 {
	if len(s) == 0 || len(s) > 4 {
		b.misuse("pool tag %q: want 1 to 4 characters", s)
	}
	var t [4]byte
	for i := range t {
		t[i] = ' '
		if i < len(s) {
			t[i] = s[i]
		}
	}
	v := binary.LittleEndian.Uint32(t[:])
	if protected {
		if b.cfg.Build >= 9200 {
			b.misuse("pool tag %q: the protected bit exists only up to Windows 7 (build %d)", s, b.cfg.Build)
		}
		v |= 1 << 31
	}
	return v
}

// poolHeader encodes one POOL_HEADER of size bytes (block units) with the
// given PreviousSize (bytes).
func (b *Builder) poolHeader(blk PoolBlock, size, prev int) []byte {
	ph := poolHeaderFor(b.arch.ptrSize)
	h := make([]byte, ph.size)
	typ := uint32(0)
	if !blk.Free || b.cfg.Build >= segmentHeapBuild {
		typ = headerPoolType(b.cfg.Build, blk.Paged, blk.Session)
	}
	bs, ps := uint32(size/ph.unit), uint32(prev/ph.unit)
	if bs > ph.maxBlocks || ps > ph.maxBlocks || typ > ph.maxType {
		b.misuse("pool block of %d bytes (previous %d, type %#x) does not fit a %d-bit POOL_HEADER", size, prev, typ, 8*b.arch.ptrSize)
	}
	if ph.size == 8 {
		// x86: PreviousSize:9 PoolIndex:7 | BlockSize:9 PoolType:7.
		binary.LittleEndian.PutUint16(h[0:], uint16(ps))
		binary.LittleEndian.PutUint16(h[2:], uint16(bs|typ<<9))
	} else {
		h[0], h[1], h[2], h[3] = byte(ps), 0, byte(bs), byte(typ)
	}
	binary.LittleEndian.PutUint32(h[4:], b.poolTag(blk.Tag, blk.Protected))
	return h
}

// roundBlock rounds a block size up to the unit and checks it holds a header.
func (b *Builder) roundBlock(blk PoolBlock) int {
	ph := poolHeaderFor(b.arch.ptrSize)
	n := (blk.Size + ph.unit - 1) / ph.unit * ph.unit
	if n < ph.size {
		b.misuse("pool block %q of %d bytes cannot hold its %d-byte POOL_HEADER", blk.Tag, blk.Size, ph.size)
	}
	return n
}

// ClassicPoolPage writes a classic pool page (Windows XP to 10 1803) at
// va: the blocks tile the page from offset 0, each header's PreviousSize
// is the size of the block before (0 for the first), and what the blocks
// leave over becomes one free block. Small allocations never cross a page
// in this allocator, so the chain ends exactly at the page's end. The page
// is mapped if it is not yet.
func (b *Builder) ClassicPoolPage(va uint64, blocks []PoolBlock) []PlacedBlock {
	if b.cfg.Build >= segmentHeapBuild {
		b.misuse("build %d keeps its pool in the segment heap, not in classic pages", b.cfg.Build)
	}
	if va&(PageSize-1) != 0 {
		b.misuse("pool page %#x is not page aligned", va)
	}
	ph := poolHeaderFor(b.arch.ptrSize)
	page := make([]byte, PageSize)
	var out []PlacedBlock
	off, prev := 0, 0
	put := func(blk PoolBlock, n int) {
		if off+n > PageSize {
			b.misuse("pool blocks overflow the page at %#x (%d + %d bytes)", va, off, n)
		}
		if n > ph.maxSmall {
			b.misuse("pool block %q of %d bytes is a big allocation (over %#x), not a page block", blk.Tag, n, ph.maxSmall)
		}
		copy(page[off:], b.poolHeader(blk, n, prev))
		copy(page[off+ph.size:off+n], blk.Data)
		out = append(out, PlacedBlock{Tag: blk.Tag, Kind: "classic", Header: va + uint64(off), Body: va + uint64(off+ph.size),
			Size: n, Paged: blk.Paged, Session: blk.Session, Free: blk.Free})
		off, prev = off+n, n
	}
	for _, blk := range blocks {
		put(blk, b.roundBlock(blk))
	}
	if rest := PageSize - off; rest > 0 {
		// The rest of the page is one free block; its tag is whatever the
		// last owner left, here zero bytes.
		free := PoolBlock{Tag: "\x00\x00\x00\x00", Free: true}
		if len(blocks) > 0 {
			free.Paged = blocks[len(blocks)-1].Paged
		}
		put(free, rest)
		out = out[:len(out)-1]
	}
	b.Map(va, page)
	return out
}

// SegmentHeapPage writes segment-heap chunks (Windows 10 1809 and later)
// into the page at va, from byte start on; the bytes before start and
// after the last chunk are filled with random data, as subsegment headers
// and other chunks would. LFH blocks all have the same size and follow
// each other with no gap: POOL_HEADER then data. VS chunks carry a
// _HEAP_VS_CHUNK_HEADER (16 bytes on x64, 8 on x86; its Sizes encoded with
// the chunk's address and a heap key the dump cannot give) before the
// POOL_HEADER, whose BlockSize counts the pool block without that header;
// the next chunk starts right after. Chunks here do not cross the page.
func (b *Builder) SegmentHeapPage(va uint64, kind SegmentKind, start int, blocks []PoolBlock) []PlacedBlock {
	if b.cfg.Build < segmentHeapBuild {
		b.misuse("build %d has classic pool pages, not the segment heap (build %d on)", b.cfg.Build, segmentHeapBuild)
	}
	if va&(PageSize-1) != 0 || start < 0 || start >= PageSize {
		b.misuse("segment-heap page %#x, start %d: want a page-aligned address and a start inside it", va, start)
	}
	ph := poolHeaderFor(b.arch.ptrSize)
	vsHdr := ph.size // _HEAP_VS_CHUNK_HEADER: 0x10 on x64, 8 on x86
	page := make([]byte, PageSize)
	for i := range page {
		page[i] = byte(b.rng.Uint32())
	}
	if b.heapKey == 0 {
		b.heapKey = b.rng.Uint64() | 1
	}
	var out []PlacedBlock
	off := (start + ph.unit - 1) / ph.unit * ph.unit
	prevChunk := 0
	// The free chunk a Merged block joins: where, its size, and the size
	// of the chunk before it.
	freeAt, freeSize, freePrev := -1, 0, 0
	for i, blk := range blocks {
		if blk.Merged && (kind != SegmentVS || freeAt < 0) {
			b.misuse("block %d of %q: only a VS chunk right after a free one can be merged into it", i, blk.Tag)
		}
		n := b.roundBlock(blk)
		if kind == SegmentLFH && i > 0 && n != out[0].Size {
			b.misuse("LFH blocks share one size: block %d is %d bytes, block 0 %d", i, n, out[0].Size)
		}
		if n > ph.maxSmall {
			b.misuse("pool block %q of %d bytes is a big allocation (over %#x)", blk.Tag, n, ph.maxSmall)
		}
		hdrAt := off
		if kind == SegmentVS {
			hdrAt = off + vsHdr
		}
		if hdrAt+n > PageSize {
			b.misuse("segment-heap chunks overflow the page at %#x (%d + %d bytes)", va, hdrAt, n)
		}
		chunk, before := vsHdr+n, prevChunk
		if kind == SegmentVS {
			// A merged chunk's header stays as it was when allocated.
			b.vsChunkHeader(page[off:off+vsHdr], va+uint64(off), chunk, prevChunk, !blk.Free || blk.Merged)
			prevChunk = chunk
		}
		// PreviousSize and PoolIndex are unused by the segment heap (0).
		copy(page[hdrAt:], b.poolHeader(blk, n, 0))
		clear(page[hdrAt+ph.size : hdrAt+n])
		copy(page[hdrAt+ph.size:hdrAt+n], blk.Data)
		switch {
		case kind == SegmentVS && blk.Merged:
			freeSize += chunk
			b.vsChunkHeader(page[freeAt:freeAt+vsHdr], va+uint64(freeAt), freeSize, freePrev, false)
			b.vsFreeNode(page[freeAt:], va+uint64(freeAt))
			prevChunk = freeSize
		case kind == SegmentVS && blk.Free:
			b.vsFreeNode(page[off:], va+uint64(off))
			freeAt, freeSize, freePrev = off, chunk, before
		default:
			freeAt = -1
		}
		k := "lfh"
		if kind == SegmentVS {
			k = "vs"
		}
		out = append(out, PlacedBlock{Tag: blk.Tag, Kind: k, Header: va + uint64(hdrAt), Body: va + uint64(hdrAt+ph.size),
			Size: n, Paged: blk.Paged, Session: blk.Session, Free: blk.Free || blk.Merged})
		off = hdrAt + n
	}
	b.Map(va, page)
	return out
}

// vsFreeNode writes the free-tree node of the free VS chunk at va (dst
// from the chunk's start) over the rest of its chunk header and its old
// POOL_HEADER: no left child, a right child and a parent elsewhere in the
// heap (kernel addresses, 16-byte aligned).
func (b *Builder) vsFreeNode(dst []byte, va uint64) {
	at := vsFreeNode[b.arch.ptrSize]
	b.putPtrs(dst[at:], 0, va+2*PageSize+0x40, va-PageSize+0x80)
}

// vsChunkHeader writes an encoded _HEAP_VS_CHUNK_HEADER (Yason, "Windows
// 10 Segment Heap Internals", Black Hat USA 2016; Bayet and Fariello,
// "Scoop the Windows 10 pool!", SSTIC 2020): Sizes XOR the chunk's
// address XOR RtlpHpHeapGlobals.HeapKey, then EncodedSegmentPageOffset.
// x64 Sizes (ntdiff/headers Win10_1809_RS5 x64 ntdll
// _HEAP_VS_CHUNK_HEADER_SIZE): MemoryCost:16, UnsafeSize:16 (16-byte
// units), UnsafePrevSize:16, Allocated:8. x86 (MemProcFS vmmwinpool.c
// _HEAP_VS_CHUNK_HEADER_SIZE32): MemoryCost:1, UnsafeSize:15,
// UnsafePrevSize:15 (8-byte units), Allocated:1. MemoryCost is left 0.
func (b *Builder) vsChunkHeader(dst []byte, va uint64, size, prev int, allocated bool) {
	alloc := uint64(0)
	if allocated {
		alloc = 1
	}
	if len(dst) == 16 {
		bits := uint64(size/16)<<16 | uint64(prev/16)<<32 | alloc<<48
		binary.LittleEndian.PutUint64(dst, bits^va^b.heapKey)
		binary.LittleEndian.PutUint32(dst[8:], uint32(byte(va>>12)^byte(va)^byte(b.heapKey)))
		binary.LittleEndian.PutUint32(dst[12:], 0)
		return
	}
	bits := uint32(size/8)&0x7FFF<<1 | uint32(prev/8)&0x7FFF<<16 | uint32(alloc)<<31
	binary.LittleEndian.PutUint32(dst, bits^uint32(va)^uint32(b.heapKey))
	binary.LittleEndian.PutUint32(dst[4:], uint32(byte(va>>12)^byte(b.heapKey)))
}

// BigPage is one entry of the big page table.
type BigPage struct {
	VA        uint64 // page aligned: the allocation itself (map it with Map or BigPoolAlloc)
	Tag       string
	Bytes     uint64 // NumberOfBytes; builds before Vista keep NumberOfPages, rounded up
	Paged     bool
	Session   bool
	Protected bool
	Free      bool // a freed entry: bit 0 of Va set
}

// BigPoolAlloc maps n bytes (whole pages) of fresh pool, writes data at
// its start and returns the entry that describes it.
func (b *Builder) BigPoolAlloc(tag string, n uint64, paged bool, data []byte) BigPage {
	if n == 0 {
		b.misuse("BigPoolAlloc(%q, 0)", tag)
	}
	va := b.Alloc(int(alignUp(n, PageSize)), PageSize)
	b.Write(va, data)
	return BigPage{VA: va, Tag: tag, Bytes: n, Paged: paged}
}

// BigPageTable writes nt!PoolBigPageTable: size entries (a power of two)
// in the build's layout, the given entries at the slots the kernel's
// hash of Va picks (linear probing), every other slot free (Va = 1). Two
// kernel variables are made, the table pointer and right after it
// PoolBigPageTableSize (a SIZE_T), as they sit in the 1809 kernel's data.
// It returns the table's address.
func (b *Builder) BigPageTable(size int, entries []BigPage) uint64 {
	if size < 16 || size&(size-1) != 0 || len(entries) > size {
		b.misuse("BigPageTable(%d, %d entries): want a power of two of at least 16 holding them", size, len(entries))
	}
	l := bigPageLayoutFor(b.arch.ptrSize, b.cfg.Build)
	table := b.Alloc(size*l.size, PageSize)
	used := make([]bool, size)
	ps := uint64(b.arch.ptrSize)
	for i := range size {
		b.PutPtr(table+uint64(i*l.size), 1)
	}
	for _, e := range entries {
		if e.VA&(PageSize-1) != 0 {
			b.misuse("big page entry %#x is not page aligned", e.VA)
		}
		// PoolBigPageTableHash: the page number, mixed, masked.
		slot := int((e.VA >> 12) * 0x9E5F & uint64(size-1))
		for used[slot] {
			slot = (slot + 1) & (size - 1)
		}
		used[slot] = true
		at := table + uint64(slot*l.size)
		va := e.VA
		if e.Free {
			va |= 1
		}
		b.PutPtr(at, va)
		b.PutU32(at+uint64(l.key), b.poolTag(e.Tag, e.Protected))
		pt := uint32(0)
		if e.Paged {
			pt = 1
		} else if b.cfg.Build >= 9200 {
			pt = 0x200 // NonPagedPoolNx
		}
		if e.Session {
			pt |= 0x20
		}
		switch {
		case l.pages >= 0:
			b.PutU32(at+uint64(l.pages), uint32((e.Bytes+PageSize-1)/PageSize))
		case l.bitfield:
			b.PutU32(at+uint64(l.poolType), pt<<8) // Pattern:8, PoolType:12, SlushSize:12
		default:
			b.PutU32(at+uint64(l.poolType), pt)
		}
		if l.bytes >= 0 {
			if ps == 8 {
				b.PutU64(at+uint64(l.bytes), e.Bytes)
			} else {
				b.PutU32(at+uint64(l.bytes), uint32(e.Bytes))
			}
		}
	}
	ptrVar := b.KernelVar(2 * int(ps))
	sizeVar := ptrVar + ps
	b.PutPtr(ptrVar, table)
	b.PutPtr(sizeVar, uint64(size))
	b.syms["PoolBigPageTable"] = ptrVar
	b.syms["PoolBigPageTableSize"] = sizeVar
	return table
}

// String describes a placed block for test failures.
func (p PlacedBlock) String() string {
	return fmt.Sprintf("%s %q at %#x, %d bytes (paged %v, free %v)", p.Kind, p.Tag, p.Header, p.Size, p.Paged, p.Free)
}
