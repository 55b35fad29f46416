package poolscan

import (
	"math/bits"
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
	types  [256]typeFlags // coding.decode of every PoolType value
	// out is scratch, reused page after page so the scan allocates nothing.
	out []found
}

// typeFlags is what a header's PoolType says, as bits (typeCoding.decode).
type typeFlags uint8

const (
	typeValid typeFlags = 1 << iota
	typeUsed
	typePaged
	typeSession
)

// slotWords is the size of a bitmap of a page's header slots: one bit per
// slot, 512 slots of 8 bytes on x86 (256 of 16 bytes on x64).
const slotWords = dumpfile.PageSize / 8 / 64

// slotSet is a bitmap of a page's header slots.
type slotSet [slotWords]uint64

func (s *slotSet) add(i int)      { s[i>>6] |= 1 << (i & 63) }
func (s *slotSet) has(i int) bool { return s[i>>6]>>(i&63)&1 != 0 }

// each calls fn for every slot in the set, in ascending order.
func (s *slotSet) each(fn func(i int)) {
	for wi, w := range s {
		for ; w != 0; w &= w - 1 {
			fn(wi<<6 | bits.TrailingZeros64(w))
		}
	}
}

func newPageReader(is64 bool, build uint32) *pageReader {
	r := &pageReader{is64: is64, lay: headerLayouts[is64], coding: codingFor(build)}
	for t := range r.types {
		valid, used, paged, session := r.coding.decode(uint32(t))
		r.types[t] = flagIf(valid, typeValid) | flagIf(used, typeUsed) | flagIf(paged, typePaged) | flagIf(session, typeSession)
	}
	return r
}

func flagIf(set bool, f typeFlags) typeFlags {
	if set {
		return f
	}
	return 0
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
		t := r.types[h.typ]
		if h.blocks == 0 || h.prev != prev || off+n > dumpfile.PageSize || n > r.lay.maxSmall || n < r.lay.size || t&typeValid == 0 {
			return nil, len(r.out) >= 2
		}
		if t&typeUsed != 0 && !pooltag.Tag(h.tag).Printable() && h.tag != 0 {
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
// 128-byte lines of little-endian words (every supported machine is
// little-endian), indexed so that no load is bounds-checked; a line of
// zero header words (zeroed and free memory) costs one test; otherwise
// the first two tag bytes of each slot, four slots at a time, are looked
// up in the matcher's prefix bitmap without a branch, and only four slots
// with a hit get the header checks and the full match.
func (r *pageReader) anyWanted(page []byte, m *Matcher) bool {
	if len(page) != dumpfile.PageSize {
		return true // not a whole page: let the slot-by-slot reading decide
	}
	lines := (*[dumpfile.PageSize / 128][16]uint64)(unsafe.Pointer(unsafe.SliceData(page)))
	f := (*[prefixWords]uint64)(m.prefix)
	if r.is64 {
		// x64: a slot every 16 bytes, its header in the first word.
		for i := range lines {
			l := &lines[i]
			if l[0]|l[2]|l[4]|l[6]|l[8]|l[10]|l[12]|l[14] == 0 {
				continue
			}
			for _, g := range [2][4]uint64{{l[0], l[2], l[4], l[6]}, {l[8], l[10], l[12], l[14]}} {
				if (prefixBit(f, g[0])|prefixBit(f, g[1])|prefixBit(f, g[2])|prefixBit(f, g[3]))&1 != 0 && r.slotsWanted(m, g) {
					return true
				}
			}
		}
		return false
	}
	// x86: a slot every 8 bytes, one word each.
	for i := range lines {
		l := &lines[i]
		if l[0]|l[1]|l[2]|l[3]|l[4]|l[5]|l[6]|l[7]|l[8]|l[9]|l[10]|l[11]|l[12]|l[13]|l[14]|l[15] == 0 {
			continue
		}
		for j := 0; j < 16; j += 4 {
			g := [4]uint64(l[j : j+4])
			if (prefixBit(f, g[0])|prefixBit(f, g[1])|prefixBit(f, g[2])|prefixBit(f, g[3]))&1 != 0 && r.slotsWanted(m, g) {
				return true
			}
		}
	}
	return false
}

// prefixBit says in bit 0 whether the tag in a slot's first word (its
// high half) begins as a wanted tag may, by the prefix bitmap f.
func prefixBit(f *[prefixWords]uint64, w uint64) uint64 {
	p := w >> 32 & 0xFFFF
	return f[p>>6] >> (p & 63)
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
func (r *pageReader) headerShaped(w uint64) bool { return headerShaped(w, r.is64) }

// headerShaped is the test for one width, for loops that keep is64 in a
// register.
func headerShaped(w uint64, is64 bool) bool {
	if is64 {
		return w&0xFFFF == 0 && w>>16&0xFF >= 2 && w>>24&0xFF != 0
	}
	return w&0xFFFF == 0 && w>>16&0x1FF >= 2 && w>>25&0x7F != 0
}

// candidate reports whether a slot's first word w, headerShaped, looks
// like a segment-heap POOL_HEADER by itself wherever it is: PreviousSize
// and PoolIndex unused (0), a BlockSize that holds the header and more and
// stays below a page, a PoolType of a block in use, a printable tag.
// Whether the block then ends inside the page depends on the slot: segment
// tests that.
func (r *pageReader) candidate(w uint64) bool {
	h := headerOf(w, r.is64)
	return int(h.blocks)*r.lay.unit <= r.lay.maxSmall &&
		r.types[h.typ]&(typeValid|typeUsed) == typeValid|typeUsed && pooltag.Tag(h.tag).Printable()
}

// candidateAt reports whether slot i, whose first word is w, holds a
// candidate as segment takes them: headerShaped, a candidate, and a block
// that ends inside the page.
func (r *pageReader) candidateAt(w uint64, i int) bool {
	return r.headerShaped(w) && r.candidate(w) && (i+int(headerOf(w, r.is64).blocks))*r.lay.unit <= dumpfile.PageSize
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
//
// The page is read in place as little-endian words, a slot's header being
// its first word, and the candidates and their links are bitmaps of the
// page's slots, so that a page costs one test a slot and a few operations
// a candidate.
func (r *pageReader) segment(page []byte, m *Matcher) (blocks []found, unconfirmed []found) {
	r.out = r.out[:0]
	// First look: one 8-byte load per slot, and the full reading only on
	// pages where some header-shaped slot carries a wanted tag. Most pages
	// (zero, data, code) stop here.
	if len(page) != dumpfile.PageSize || !r.anyWanted(page, m) {
		return nil, nil
	}
	words := (*[dumpfile.PageSize / 8]uint64)(unsafe.Pointer(unsafe.SliceData(page)))
	is64, u := r.is64, r.lay.unit // in registers for the loops
	n, step := dumpfile.PageSize/u, u/8
	var cand, lfh, vs slotSet
	lastW, lastOK := uint64(0), false
	for i := 0; i < n; i++ {
		// Most slots fail the first test, made here without a call; the
		// blocks of an LFH subsegment repeat one header word, looked at
		// once.
		w := words[i*step]
		if !headerShaped(w, is64) {
			continue
		}
		if w != lastW {
			lastW, lastOK = w, r.candidate(w)
		}
		if lastOK && (i+int(headerOf(w, is64).blocks))*u <= dumpfile.PageSize {
			cand.add(i) // a candidate that ends inside the page
		}
	}
	// One pass over the candidates in order links each to the next block
	// of the same size (LFH) and to the next header past one chunk header
	// (VS); a block linked both ways is LFH. A candidate's links to those
	// before it are made by then, so it is kept or not on the spot.
	vsSlots := r.lay.vsHeader / u
	end := 0
	cand.each(func(i int) {
		h := headerOf(words[i*step], is64)
		k := int(h.blocks)
		if j := i + k; j < n && cand.has(j) && int(headerOf(words[j*step], is64).blocks) == k {
			lfh.add(i)
			lfh.add(j)
		}
		if j := i + k + vsSlots; j < n && cand.has(j) {
			vs.add(i)
			vs.add(j)
		}
		off := i * u
		switch {
		case !lfh.has(i) && !vs.has(i):
			if off >= end && m.Match(pooltag.Tag(h.tag)) {
				unconfirmed = append(unconfirmed, found{off: off, h: h, kind: KindVS})
			}
		case off >= end: // else inside a block already kept
			kind := KindVS
			if lfh.has(i) {
				kind = KindLFH
			}
			r.out = append(r.out, found{off: off, h: h, kind: kind})
			end = off + k*u
		}
	})
	return r.out, unconfirmed
}
