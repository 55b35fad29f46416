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
	kinds []Kind
	cand  []int // segment: the slots that are candidates on this page
}

func newPageReader(is64 bool, build uint32) *pageReader {
	lay := headerLayouts[is64]
	n := dumpfile.PageSize / lay.unit
	return &pageReader{is64: is64, lay: lay, coding: codingFor(build),
		valid: make([]bool, n), hdrs: make([]header, n), link: make([]bool, n), kinds: make([]Kind, n)}
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
// PoolType set) and carries a wanted tag. Every page of the dump goes
// through it, so it is written for speed: the page is read in place as
// little-endian words (every supported machine is little-endian), four
// slots at a time; four zero header words (zeroed and free memory) cost
// one test; otherwise the first two tag bytes of each slot are looked up
// in the matcher's prefix bitmap without a branch, and only a group with a
// hit gets the header checks and the full match.
func (r *pageReader) anyWanted(page []byte, m *Matcher) bool {
	if len(page) != dumpfile.PageSize {
		return true // not a whole page: let the slot-by-slot reading decide
	}
	words := (*[dumpfile.PageSize / 8]uint64)(unsafe.Pointer(unsafe.SliceData(page)))
	f := (*[prefixWords]uint64)(m.prefix)
	if r.is64 {
		// x64: a slot every 16 bytes, its header in the first word.
		for i := 0; i+6 < len(words); i += 8 {
			w0, w1, w2, w3 := words[i], words[i+2], words[i+4], words[i+6]
			if w0|w1|w2|w3 == 0 {
				continue
			}
			p0, p1, p2, p3 := w0>>32&0xFFFF, w1>>32&0xFFFF, w2>>32&0xFFFF, w3>>32&0xFFFF
			if (f[p0>>6]>>(p0&63)|f[p1>>6]>>(p1&63)|f[p2>>6]>>(p2&63)|f[p3>>6]>>(p3&63))&1 != 0 &&
				r.slotsWanted(m, [4]uint64{w0, w1, w2, w3}) {
				return true
			}
		}
		return false
	}
	// x86: a slot every 8 bytes, one word each.
	for i := 0; i+3 < len(words); i += 4 {
		w0, w1, w2, w3 := words[i], words[i+1], words[i+2], words[i+3]
		if w0|w1|w2|w3 == 0 {
			continue
		}
		p0, p1, p2, p3 := w0>>32&0xFFFF, w1>>32&0xFFFF, w2>>32&0xFFFF, w3>>32&0xFFFF
		if (f[p0>>6]>>(p0&63)|f[p1>>6]>>(p1&63)|f[p2>>6]>>(p2&63)|f[p3>>6]>>(p3&63))&1 != 0 &&
			r.slotsWanted(m, [4]uint64{w0, w1, w2, w3}) {
			return true
		}
	}
	return false
}

// slotsWanted is the rest of anyWanted's test, for four slots' first
// words (the POOL_HEADER in the low half, the tag in the high half on
// both widths) of which one may start a wanted tag.
func (r *pageReader) slotsWanted(m *Matcher, ws [4]uint64) bool {
	for _, w := range ws {
		if r.headerShaped(w) && m.Match(pooltag.Tag(w>>32)) {
			return true
		}
	}
	return false
}

// headerShaped is candidate's first test on a slot's first word.
func (r *pageReader) headerShaped(w uint64) bool {
	if r.is64 {
		return w&0xFFFF == 0 && w>>16&0xFF >= 2 && w>>24&0xFF != 0
	}
	return w&0xFFFF == 0 && w>>16&0x1FF >= 2 && w>>25&0x7F != 0
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
// m says which tags are of interest; pages with none are skipped after
// the first look. unconfirmed counts wanted headers that fit no
// neighbour.
func (r *pageReader) segment(page []byte, m *Matcher) (blocks []found, unconfirmed []found) {
	r.out = r.out[:0]
	u := r.lay.unit
	n := dumpfile.PageSize / u
	// First look: one 8-byte load per slot, and the full reading only on
	// pages where some header-shaped slot carries a wanted tag. Most pages
	// (zero, data, code) stop here.
	if len(page) != dumpfile.PageSize || !r.anyWanted(page, m) {
		return nil, nil
	}
	// valid is all false between calls: only the candidates' slots are
	// set, and reset at the end, so a page costs its candidates, not its
	// slots, after this first loop.
	words := (*[dumpfile.PageSize / 8]uint64)(unsafe.Pointer(unsafe.SliceData(page)))
	step := u / 8
	cand := r.cand[:0]
	for i := 0; i < n; i++ {
		// Most slots fail on their first word; the rest are decoded.
		if !r.headerShaped(words[i*step]) {
			continue
		}
		if h, ok := r.candidate(page, i*u); ok {
			r.valid[i], r.hdrs[i], r.link[i], r.kinds[i] = true, h, false, 0
			cand = append(cand, i)
		}
	}
	r.cand = cand
	for _, i := range cand {
		size := int(r.hdrs[i].blocks) * u
		if j := i + size/u; j < n && r.valid[j] && r.hdrs[j].blocks == r.hdrs[i].blocks {
			r.link[i], r.link[j] = true, true
			r.kinds[i], r.kinds[j] = KindLFH, KindLFH
		}
		if j := i + (size+r.lay.vsHeader)/u; j < n && r.valid[j] {
			r.link[i], r.link[j] = true, true
			if r.kinds[i] == 0 {
				r.kinds[i] = KindVS
			}
			if r.kinds[j] == 0 {
				r.kinds[j] = KindVS
			}
		}
	}
	end := 0
	for _, i := range cand {
		off := i * u
		if !r.link[i] {
			if m.Match(pooltag.Tag(r.hdrs[i].tag)) && off >= end {
				unconfirmed = append(unconfirmed, found{off: off, h: r.hdrs[i], kind: KindVS})
			}
			continue
		}
		if off < end {
			continue // inside a block already kept
		}
		r.out = append(r.out, found{off: off, h: r.hdrs[i], kind: r.kinds[i]})
		end = off + int(r.hdrs[i].blocks)*u
	}
	for _, i := range cand {
		r.valid[i] = false
	}
	return r.out, unconfirmed
}
