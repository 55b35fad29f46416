package dumptest

import "encoding/binary"

// LFHSubsegment is one segment-heap LFH subsegment (Windows 10 1809 to
// 11 23H2) to write with Builder.LFHSubsegment: a _HEAP_LFH_SUBSEGMENT
// header with its block bitmap and commit state, then equal blocks, each a
// POOL_HEADER and data, back to back (layout in poollayout.go).
type LFHSubsegment struct {
	VA    uint64 // page aligned; the pages are mapped if they are not yet
	Pages int    // commit units of a page (CommitUnitCount), 1 to 255
	// BlockSize is every block's bytes, POOL_HEADER included: a multiple
	// of the block unit (8 bytes on 32-bit, 16 on 64-bit kernels).
	BlockSize int
	// First is FirstBlockOffset; 0 puts the first block right after the
	// metadata, rounded up to the block unit.
	First int
	// Blocks fill the slots from the first on. One with Free set is
	// written as the heap frees it: its bitmap pair 00, its POOL_HEADER
	// and data left in place. Slots past the last block were never
	// allocated: zero, bitmap 00.
	Blocks []PoolBlock
	// WrongKey encodes BlockOffsets with a key other than the heap's, as
	// a damaged header reads; NoHeader leaves random bytes where the
	// header, bitmap and commit state would be.
	WrongKey, NoHeader bool
}

// LFHKey returns the low 32 bits of nt!RtlpHpHeapGlobals.LfhKey that
// LFHSubsegment encodes with, drawn at the first call (never zero).
func (b *Builder) LFHKey() uint32 {
	if b.lfhKey == 0 {
		b.lfhKey = b.rng.Uint32() | 1
	}
	return b.lfhKey
}

// LFHSubsegment writes s and returns where its blocks went, in slot order
// (blocks that cross a page boundary included).
func (b *Builder) LFHSubsegment(s LFHSubsegment) []PlacedBlock {
	if b.cfg.Build < segmentHeapBuild {
		b.misuse("build %d has classic pool pages, not the segment heap (build %d on)", b.cfg.Build, segmentHeapBuild)
	}
	ph := poolHeaderFor(b.arch.ptrSize)
	lay := lfhSubsegments[b.arch.ptrSize]
	size := s.Pages * PageSize
	if s.VA&(PageSize-1) != 0 || s.Pages < 1 || s.Pages > 255 || s.BlockSize < 2*ph.unit || s.BlockSize%ph.unit != 0 || s.BlockSize > ph.maxSmall {
		b.misuse("LFH subsegment at %#x: %d pages of %d-byte blocks: want a page-aligned address, 1 to 255 pages and small blocks of whole units", s.VA, s.Pages, s.BlockSize)
	}
	// The bitmap covers BlockCount blocks (no block is withheld here) in
	// whole words, and the commit state follows it; BlockCount is what
	// fits after both, so try counts down from what the bytes would hold.
	word := 8 * lay.bitmapWord
	var bitmapBytes, stateOff, metaEnd, first, count int
	for n := size / s.BlockSize; ; {
		bitmapBytes = (2*n + word - 1) / word * lay.bitmapWord
		stateOff = lay.bitmap + bitmapBytes
		metaEnd = stateOff + s.Pages
		first = s.First
		if first == 0 {
			first = (metaEnd + ph.unit - 1) / ph.unit * ph.unit
		}
		if first < metaEnd || first%ph.unit != 0 || first >= size {
			b.misuse("LFH subsegment at %#x: first block at %#x, inside the metadata (to %#x), not on a block unit or past the end", s.VA, first, metaEnd)
		}
		if count = (size - first) / s.BlockSize; count >= n {
			count = n
			break
		}
		n = count
	}
	if len(s.Blocks) > count || count > 0xFFFF {
		b.misuse("LFH subsegment at %#x holds %d blocks of %d bytes, not %d", s.VA, count, s.BlockSize, len(s.Blocks))
	}
	mem := make([]byte, size)
	var out []PlacedBlock
	busy := 0
	bitmap := mem[lay.bitmap:stateOff]
	for i := range bitmap {
		bitmap[i] = 0xFF // pairs past BlockCount read 11
	}
	for i := range count {
		bitmap[i/4] &^= 3 << (2 * (i % 4))
	}
	for i, blk := range s.Blocks {
		if n := b.roundBlock(blk); n != s.BlockSize {
			b.misuse("LFH block %d of %q is %d bytes; the subsegment's are %d", i, blk.Tag, n, s.BlockSize)
		}
		at := first + i*s.BlockSize
		copy(mem[at:], b.poolHeader(blk, s.BlockSize, 0))
		copy(mem[at+ph.size:at+s.BlockSize], blk.Data)
		if !blk.Free {
			bitmap[i/4] |= 1 << (2 * (i % 4))
			busy++
		}
		out = append(out, PlacedBlock{Tag: blk.Tag, Kind: "lfh", Header: s.VA + uint64(at), Body: s.VA + uint64(at+ph.size),
			Size: s.BlockSize, Paged: blk.Paged, Session: blk.Session, Free: blk.Free})
	}
	if s.NoHeader {
		for i := range first {
			mem[i] = byte(b.rng.Uint32())
		}
	} else {
		// ListEntry: on its bucket's list, whose head is elsewhere in the
		// heap; Owner: the bucket.
		owner := b.Alloc(0x40, 0x10)
		b.putPtrs(mem, owner, owner, owner)
		le := binary.LittleEndian
		le.PutUint16(mem[lay.freeCount:], uint16(count-busy))
		le.PutUint16(mem[lay.blockCount:], uint16(count))
		if busy == count {
			mem[lay.location] = 1 // on the full list
		}
		key := b.LFHKey()
		if s.WrongKey {
			key ^= 0x8000 << 16 // FirstBlockOffset past any block
		}
		le.PutUint32(mem[lay.blockOffsets:], uint32(s.BlockSize|first<<16)^key^uint32(s.VA)>>12)
		mem[lay.unitShift], mem[lay.unitCount] = 12, byte(s.Pages)
		le.PutUint16(mem[lay.commitStateOffset:], uint16(stateOff))
		for i := range s.Pages {
			mem[stateOff+i] = 1 // committed
		}
	}
	for p := range s.Pages {
		b.Map(s.VA+uint64(p*PageSize), mem[p*PageSize:(p+1)*PageSize])
	}
	return out
}

// putPtrs writes pointers one after the other from the start of dst.
func (b *Builder) putPtrs(dst []byte, ptrs ...uint64) {
	for i, p := range ptrs {
		if b.arch.ptrSize == 8 {
			binary.LittleEndian.PutUint64(dst[8*i:], p)
		} else {
			binary.LittleEndian.PutUint32(dst[4*i:], uint32(p))
		}
	}
}
