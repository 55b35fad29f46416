package poolscan

import (
	"unsafe"

	"github.com/poolblame/poolblame/dumpfile"

	"github.com/poolblame/poolblame/pooltag"
)

// found is one block recognised on a page.
type found struct {
	off  int // offset of its POOL_HEADER in the page
	h    header
	kind Kind
}

// pageReader recognises the pool blocks of one 4 KiB page.
type pageReader struct {
	is64   bool
	lay    headerLayout
	coding typeCoding
	// scratch, reused page after page so the scan allocates nothing.
	out   []found
	valid []bool
	hdrs  []header
	link  []bool
}

func newPageReader(is64 bool, build uint32) *pageReader {
	lay := headerLayouts[is64]
	n := dumpfile.PageSize / lay.unit
	return &pageReader{is64: is64, lay: lay, coding: codingFor(build),
		valid: make([]bool, n), hdrs: make([]header, n), link: make([]bool, n)}
}

// classic walks a classic pool page: headers from offset 0, each
// PreviousSize equal to the BlockSize before it, the first one 0, every
// BlockSize non-zero and within the small-block limit, every PoolType a
// valid encoding, and the chain ending exactly at the page's end. Any
// break and the page is not a pool page (broken reports a chain that ran
// at least two blocks before breaking). Free blocks are returned too.
func (r *pageReader) classic(page []byte) (blocks []found, broken bool) {
	r.out = r.out[:0]
	off, prev := 0, uint32(0)
	for off < dumpfile.PageSize {
		h := decodeHeader(page[off:], r.is64)
		n := int(h.blocks) * r.lay.unit
		valid, used, _, _ := r.coding.decode(h.typ)
		if h.blocks == 0 || h.prev != prev || off+n > dumpfile.PageSize || n > r.lay.maxSmall || n < r.lay.size || !valid {
			return nil, len(r.out) >= 2
		}
		if used && !pooltag.Tag(h.tag).Printable() && h.tag != 0 {
			return nil, len(r.out) >= 2
		}
		r.out = append(r.out, found{off: off, h: h, kind: KindClassic})
		off += n
		prev = h.blocks
	}
	return r.out, false
}

// anyWanted reports whether some slot of the page is shaped like a
// segment-heap header (PreviousSize and PoolIndex 0, BlockSize 2 or more,
// PoolType set) and carries a wanted tag.
func (r *pageReader) anyWanted(page []byte, want func(uint32) bool) bool {
	// The page as little-endian words (every supported machine is
	// little-endian): one load per slot, no bounds check per slot.
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(page))), len(page)/8)
	if r.is64 {
		for i := 0; i < len(words); i += 2 {
			w := words[i]
			if w&0xFFFF != 0 || w>>16&0xFF < 2 || w>>24&0xFF == 0 {
				continue
			}
			if want(uint32(w >> 32)) {
				return true
			}
		}
		return false
	}
	for _, w := range words {
		if w&0xFFFF != 0 || w>>16&0x1FF < 2 || w>>25&0x7F == 0 {
			continue
		}
		if want(uint32(w >> 32)) {
			return true
		}
	}
	return false
}

// candidate reports whether the bytes at off look like a segment-heap
// POOL_HEADER by themselves: PreviousSize and PoolIndex unused (0), a
// BlockSize that holds the header and more and stays in the page, a
// PoolType of a block in use, a printable tag.
func (r *pageReader) candidate(page []byte, off int) (header, bool) {
	if !r.is64 {
		if page[off] != 0 || page[off+1] != 0 || page[off+2]|page[off+3]&1 == 0 {
			return header{}, false
		}
	} else if page[off] != 0 || page[off+1] != 0 || page[off+2] < 2 || page[off+3] == 0 {
		return header{}, false
	}
	h := decodeHeader(page[off:], r.is64)
	n := int(h.blocks) * r.lay.unit
	if h.blocks < 2 || off+n > dumpfile.PageSize || n > r.lay.maxSmall {
		return header{}, false
	}
	if valid, used, _, _ := r.coding.decode(h.typ); !valid || !used || !pooltag.Tag(h.tag).Printable() {
		return header{}, false
	}
	return h, true
}

// segment recognises segment-heap blocks on a page. Chunk headers are
// encoded, so the page cannot be walked; instead every aligned position
// whose bytes look like a POOL_HEADER is a candidate, and a candidate is
// kept only if it fits a neighbour: an LFH block is followed (or
// preceded) by a block of the same BlockSize right after it; a VS block
// by another POOL_HEADER one chunk header further. Kept blocks may not
// overlap: a header inside an earlier kept block is data, not a block.
// want says whether a tag is of interest; pages with none are skipped
// after the first look. unconfirmed counts wanted headers that fit no
// neighbour.
func (r *pageReader) segment(page []byte, want func(uint32) bool) (blocks []found, unconfirmed []found) {
	r.out = r.out[:0]
	u := r.lay.unit
	n := dumpfile.PageSize / u
	// First look: one 8-byte load per slot, and the full reading only on
	// pages where some header-shaped slot carries a wanted tag. Most pages
	// (zero, data, code) stop here.
	if !r.anyWanted(page, want) {
		return nil, nil
	}
	for i := 0; i < n; i++ {
		off := i * u
		if off+r.lay.size > dumpfile.PageSize {
			r.valid[i] = false
			continue
		}
		h, ok := r.candidate(page, off)
		r.valid[i], r.hdrs[i], r.link[i] = ok, h, false
	}
	kinds := make([]Kind, n) // rare path: only pages with a wanted tag get here
	for i := 0; i < n; i++ {
		if !r.valid[i] {
			continue
		}
		size := int(r.hdrs[i].blocks) * u
		if j := i + size/u; j < n && r.valid[j] && r.hdrs[j].blocks == r.hdrs[i].blocks {
			r.link[i], r.link[j] = true, true
			kinds[i], kinds[j] = KindLFH, KindLFH
		}
		if j := i + (size+r.lay.vsHeader)/u; j < n && r.valid[j] {
			r.link[i], r.link[j] = true, true
			if kinds[i] == 0 {
				kinds[i] = KindVS
			}
			if kinds[j] == 0 {
				kinds[j] = KindVS
			}
		}
	}
	end := 0
	for i := 0; i < n; i++ {
		if !r.valid[i] {
			continue
		}
		off := i * u
		if !r.link[i] {
			if want(r.hdrs[i].tag) && off >= end {
				unconfirmed = append(unconfirmed, found{off: off, h: r.hdrs[i], kind: KindVS})
			}
			continue
		}
		if off < end {
			continue // inside a block already kept
		}
		r.out = append(r.out, found{off: off, h: r.hdrs[i], kind: kinds[i]})
		end = off + int(r.hdrs[i].blocks)*u
	}
	return r.out, unconfirmed
}
