package poolscan

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// The segment heap's low-fragmentation heap keeps its blocks in
// subsegments: whole pages that start with a _HEAP_LFH_SUBSEGMENT header,
// then BlockBitmap (2 bits a block: bit 0 busy, bit 1 unused bytes; a
// freed block is 00 and keeps its POOL_HEADER), then the commit state (a
// byte a commit unit), then BlockCount blocks of BlockSize bytes from
// FirstBlockOffset on. BlockSize and FirstBlockOffset (BlockOffsets) are
// stored encoded:
//
//	BlockOffsets = (BlockSize | FirstBlockOffset<<16) ^ LfhKey ^ (uint32(subsegment VA) >> 12)
//
// with LfhKey the low 32 bits of nt!RtlpHpHeapGlobals.LfhKey (MemProcFS
// vmmwinpool.c, VmmWinPool_AllPool1903_5_LFH_DoWork, for builds before
// 26100; Yason, "Windows 10 Segment Heap Internals", Black Hat USA 2016).
// The dump does not give the key without symbols, but the pages do: the
// POOL_HEADERs of a subsegment's blocks give BlockSize and the first
// block's offset, so each subsegment names the key, and the subsegments
// must agree. On the real 1809 x64 pages of the project's real data (two
// captures of two boots) every subsegment whose blocks name a key names
// the one the others name (32 of 32 in one, 45 of 45 in the other), and the bitmap of every
// header covers BlockCount + WitheldBlockCount blocks (lfhLayout.header).

// lfhLayout is _HEAP_LFH_SUBSEGMENT for one width, builds 17763 to 26099.
// Sources: ntdiff/headers and Vergilius (ntdll and ntoskrnl x64: ListEntry
// 0, Owner 0x10, CommitLock 0x18, FreeCount 0x20, BlockCount 0x22,
// FreeHint 0x24, Location 0x26, WitheldBlockCount 0x27, BlockOffsets
// 0x28, CommitUnitShift 0x2c, CommitUnitCount 0x2d, CommitStateOffset
// 0x2e, BlockBitmap ULONGLONG[] 0x30; x86: 0x10, 0x12, 0x16, 0x18, 0x1c,
// 0x1d, 0x1e, BlockBitmap ULONG[] 0x20). Later layouts (a State union,
// BucketRef, BlockBitmap at 0x40) and the 26100 encoding
// (uint32(VA>>12)) are not read.
type lfhLayout struct {
	ptr                            int // pointer size: ListEntry's links
	freeCount, blockCount, locate  int
	witheld                        int // WitheldBlockCount
	offsets                        int // BlockOffsets, encoded
	unitShift, unitCount, stateOff int // CommitUnitShift, CommitUnitCount, CommitStateOffset
	bitmap, word                   int // BlockBitmap and its word size
}

var lfhLayouts = map[bool]lfhLayout{
	true:  {ptr: 8, freeCount: 0x20, blockCount: 0x22, locate: 0x26, witheld: 0x27, offsets: 0x28, unitShift: 0x2c, unitCount: 0x2d, stateOff: 0x2e, bitmap: 0x30, word: 8},
	false: {ptr: 4, freeCount: 0x10, blockCount: 0x12, locate: 0x16, witheld: 0x17, offsets: 0x18, unitShift: 0x1c, unitCount: 0x1d, stateOff: 0x1e, bitmap: 0x20, word: 4},
}

// lfhEncodingEnd is the first build whose LFH encoding differs
// (MemProcFS: the VA is shifted before it is cut to 32 bits from 26100).
const lfhEncodingEnd = 26100

// LFHStats says what the LFH subsegment headers gave.
type LFHStats struct {
	Headers int // LFH subsegment headers recognised on mapped pages
	Voters  int // of them, those whose POOL_HEADERs named candidate keys
	Agree   int // voters whose candidates hold Key
	// Key is the low 32 bits of nt!RtlpHpHeapGlobals.LfhKey, solved from
	// the subsegments; valid when Keyed.
	Key   uint32
	Keyed bool
	// Decoded subsegments' bitmaps are read; Damaged ones disagree with
	// Key or do not decode with it, and their blocks stay undecided
	// (DamagedAt lists the first few by VA).
	Decoded, Damaged int
	DamagedAt        []uint64
	Busy, Free       int64  // blocks of wanted tags the bitmaps decided
	Why              string // why the bitmaps were not read, when not Keyed
}

// lfhHeader is the plain part of a subsegment header.
type lfhHeader struct {
	free, count  int
	enc          uint32
	shift, units int
	state        int // CommitStateOffset
}

// size is the subsegment's bytes: its commit units.
func (h lfhHeader) size() int { return h.units << h.shift }

// metaEnd is where the header, bitmap and commit state end.
func (h lfhHeader) metaEnd() int { return h.state + h.units }

func (l lfhLayout) bitmapBytes(blocks int) int {
	bits := 8 * l.word
	return (2*blocks + bits - 1) / bits * l.word
}

// header reads a subsegment header at the start of page, and checks what
// needs no key: both links kernel addresses, FreeCount at most BlockCount,
// Location a list (0 available, 1 full, 2 being freed), commit units of a
// page, a bitmap between BlockBitmap and CommitStateOffset of the whole
// words that hold BlockCount + WitheldBlockCount blocks (as every header
// of the real 1809 pages has it), the commit state inside the subsegment.
func (l lfhLayout) header(page []byte) (lfhHeader, bool) {
	le := binary.LittleEndian
	if l.ptr == 8 {
		if le.Uint64(page)>>47 != 0x1FFFF || le.Uint64(page[8:])>>47 != 0x1FFFF {
			return lfhHeader{}, false
		}
	} else if le.Uint32(page) < 0x80000000 || le.Uint32(page[4:]) < 0x80000000 {
		return lfhHeader{}, false
	}
	h := lfhHeader{free: int(le.Uint16(page[l.freeCount:])), count: int(le.Uint16(page[l.blockCount:])),
		enc: le.Uint32(page[l.offsets:]), shift: int(page[l.unitShift]), units: int(page[l.unitCount]),
		state: int(le.Uint16(page[l.stateOff:]))}
	if h.count == 0 || h.free > h.count || page[l.locate] > 2 || h.shift != 12 || h.units == 0 {
		return lfhHeader{}, false
	}
	if h.state != l.bitmap+l.bitmapBytes(h.count+int(page[l.witheld])) || h.metaEnd() > h.size() {
		return lfhHeader{}, false
	}
	return h, true
}

// fits checks decoded offsets against the header: whole block units of
// a small block, the first block past the metadata, the blocks inside
// the subsegment.
func (l lfhLayout) fits(h lfhHeader, size, first int, lay headerLayout) bool {
	return size >= 2*lay.unit && size%lay.unit == 0 && size <= lay.maxSmall && first >= h.metaEnd() &&
		first%lay.unit == 0 && first+h.count*size <= h.size()
}

// lfhSub is a decoded subsegment whose bitmap is read.
type lfhSub struct {
	va          uint64
	first, size uint32
	count       uint32
}

func (s lfhSub) end() uint64 { return s.va + uint64(s.first) + uint64(s.count)*uint64(s.size) }

// lfhScan finds subsegment headers during the pass and reads their
// bitmaps after it.
type lfhScan struct {
	lay  lfhLayout
	link uint64 // the bits a kernel address sets in a page's first word (Flink)
	cand pfnSet // physical pages that start like a subsegment header
	n    int
}

func newLFHScan(is64 bool, build uint32) *lfhScan {
	if build >= lfhEncodingEnd {
		return nil
	}
	l := &lfhScan{lay: lfhLayouts[is64], link: 0x8000_0000}
	if is64 {
		l.link = 0xFFFF_8000_0000_0000
	}
	return l
}

// look is the pass's hook, called for every page: it notes the pages
// that start with a subsegment header. Its first test, inlined in the
// pass, is one load: most pages do not start with a kernel address.
func (l *lfhScan) look(pfn uint64, page []byte) {
	if len(page) < 8 || binary.LittleEndian.Uint64(page)&l.link != l.link {
		return
	}
	l.lookHeader(pfn, page)
}

func (l *lfhScan) lookHeader(pfn uint64, page []byte) {
	if len(page) != dumpfile.PageSize {
		return
	}
	if _, ok := l.lay.header(page); ok {
		l.cand.add(pfn)
		l.n++
	}
}

// lfhRef is one subsegment header found, before the key is known.
type lfhRef struct {
	va   uint64
	h    lfhHeader
	keys []uint32 // candidate keys its POOL_HEADERs name
}

// maxDamagedListed bounds LFHStats.DamagedAt.
const maxDamagedListed = 8

// readLFH solves the key from the subsegment headers the pass found,
// decodes every subsegment with it and takes the blocks their bitmaps
// say are free out of the counts in use.
func (s *scanner) readLFH() {
	r, l := s.r, s.lfh
	st := &r.LFH
	if l == nil {
		st.Why = fmt.Sprintf("build %d lays out and encodes its LFH subsegments differently (from build %d on)", r.build, lfhEncodingEnd)
		return
	}
	if l.n == 0 {
		st.Why = "no LFH subsegment header in the dump's pages"
		return
	}
	refs := s.lfhRefs()
	st.Headers = len(refs)
	if len(refs) == 0 {
		st.Why = "no LFH subsegment header on a page the system maps"
		return
	}
	votes := map[uint32]int{}
	for _, ref := range refs {
		if len(ref.keys) > 0 {
			st.Voters++
		}
		for _, k := range ref.keys {
			votes[k]++
		}
	}
	var key uint32
	for k, n := range votes {
		if n > st.Agree || n == st.Agree && k < key {
			key, st.Agree = k, n
		}
	}
	switch {
	case st.Voters < 2:
		st.Why = fmt.Sprintf("%d LFH subsegment headers, %d with blocks that name the key: too few to solve it", st.Headers, st.Voters)
		return
	case st.Agree < 2 || st.Agree < 2*(st.Voters-st.Agree):
		st.Why = fmt.Sprintf("the %d LFH subsegments that name a key do not agree on one (at most %d share one)", st.Voters, st.Agree)
		return
	}
	st.Key, st.Keyed = key, true
	for _, ref := range refs {
		sub, ok := s.decodeLFH(ref, key)
		if !ok {
			st.Damaged++
			if len(st.DamagedAt) < maxDamagedListed {
				st.DamagedAt = append(st.DamagedAt, ref.va)
			}
			continue
		}
		st.Decoded++
		s.applyLFH(sub)
	}
	sort.Slice(r.lfhSubs, func(i, j int) bool { return r.lfhSubs[i].va < r.lfhSubs[j].va })
}

// lfhRefs finds the virtual addresses of the header pages with one walk
// of the system page tables (the encoding needs them), and the keys each
// header's blocks name.
func (s *scanner) lfhRefs() []lfhRef {
	var refs []lfhRef
	var seen pfnSet
	buf := make([]byte, dumpfile.PageSize)
	_, _ = s.f.Mappings(func(m dumpfile.Mapping) bool {
		pfn := m.PA >> 12
		if m.State != dumpfile.MapPresent && m.State != dumpfile.MapTransition || !s.lfh.cand.has(pfn) || seen.has(pfn) {
			return true
		}
		seen.add(pfn)
		if s.f.ReadPage(pfn, buf) != nil {
			return true
		}
		h, ok := s.lfh.lay.header(buf)
		if !ok {
			return true
		}
		va := m.VA &^ (dumpfile.PageSize - 1)
		refs = append(refs, lfhRef{va: va, h: h, keys: s.lfhKeys(buf, va, h)})
		return true
	})
	return refs
}

// lfhKeys returns the keys a header page's POOL_HEADERs name: the first
// two neighbouring headers of one BlockSize past the metadata give the
// block size, and the first block is at one of the offsets a whole
// number of blocks before them that is still past the metadata.
func (s *scanner) lfhKeys(page []byte, va uint64, h lfhHeader) []uint32 {
	u := s.pr.lay.unit
	shift := uint32(va) >> 12
	for off := (h.metaEnd() + u - 1) / u * u; off+u <= dumpfile.PageSize; off += u {
		a, ok := s.slotHeader(page, off)
		if !ok {
			continue
		}
		size := int(a.blocks) * u
		if off+size+u > dumpfile.PageSize {
			continue
		}
		if b, ok := s.slotHeader(page, off+size); !ok || b.blocks != a.blocks {
			continue
		}
		var keys []uint32
		for first := off; first >= h.metaEnd(); first -= size {
			keys = append(keys, h.enc^uint32(size|first<<16)^shift)
		}
		return keys
	}
	return nil
}

// slotHeader returns the POOL_HEADER at offset off of page when it is a
// segment-heap candidate by itself (pageReader.candidateAt).
func (s *scanner) slotHeader(page []byte, off int) (header, bool) {
	w := binary.LittleEndian.Uint64(page[off:]) // the header's first word on both widths
	if !s.pr.candidateAt(w, off/s.pr.lay.unit) {
		return header{}, false
	}
	return headerOf(w, s.pr.is64), true
}

// decodeLFH decodes one subsegment with key; a voter whose candidates
// lack the key, or offsets that do not fit the header, are damage.
func (s *scanner) decodeLFH(ref lfhRef, key uint32) (lfhSub, bool) {
	if len(ref.keys) > 0 {
		ok := false
		for _, k := range ref.keys {
			ok = ok || k == key
		}
		if !ok {
			return lfhSub{}, false
		}
	}
	d := ref.h.enc ^ key ^ uint32(ref.va)>>12
	size, first := int(d&0xFFFF), int(d>>16)
	if !s.lfh.lay.fits(ref.h, size, first, s.pr.lay) {
		return lfhSub{}, false
	}
	return lfhSub{va: ref.va, first: uint32(first), size: uint32(size), count: uint32(ref.h.count)}, true
}

// applyLFH reads the pages of one decoded subsegment that held wanted
// blocks and decides each block on the subsegment's grid by its bitmap.
func (s *scanner) applyLFH(sub lfhSub) {
	r := s.r
	var bm lfhBitmap
	kept := false
	buf := make([]byte, dumpfile.PageSize)
	for va := sub.va; va < sub.end(); va += dumpfile.PageSize {
		pa, err := s.f.Translate(va)
		if err != nil {
			continue
		}
		pfn := pa >> 12
		if !r.hits.has(pfn) || s.lfhDone.has(pfn) || s.state(pfn) == StateUnmapped {
			continue
		}
		s.lfhDone.add(pfn)
		if s.f.ReadPage(pfn, buf) != nil {
			continue
		}
		blocks, _ := s.pr.segment(buf, r.match)
		st := s.state(pfn)
		for _, fb := range blocks {
			if !r.match.Match(pooltag.Tag(fb.h.tag)) {
				continue
			}
			free, ok := bm.state(s.f, s.lfh.lay, sub, va+uint64(fb.off), int(fb.h.blocks)*s.pr.lay.unit)
			if !ok {
				continue
			}
			kept = true
			r.decide(s.pr.block(pfn, fb, st), free)
		}
	}
	if kept {
		r.lfhSubs = append(r.lfhSubs, sub)
	}
}

// lfhBitmap reads a subsegment's bitmap once and answers for its blocks.
type lfhBitmap struct {
	va   uint64
	bits []byte
	bad  bool
}

// state says whether the block whose POOL_HEADER is at va, of size
// bytes, is free by sub's bitmap; ok is false when the block is not on
// the subsegment's grid or the bitmap cannot be read.
func (b *lfhBitmap) state(f *dumpfile.File, lay lfhLayout, sub lfhSub, va uint64, size int) (free, ok bool) {
	start := sub.va + uint64(sub.first)
	if va < start || va >= sub.end() || uint32(size) != sub.size || (va-start)%uint64(sub.size) != 0 {
		return false, false
	}
	if b.va != sub.va {
		b.va, b.bad = sub.va, false
		b.bits = make([]byte, lay.bitmapBytes(int(sub.count)))
		if n, err := f.ReadVirtual(sub.va+uint64(lay.bitmap), b.bits); err != nil || n != len(b.bits) {
			b.bad = true
		}
	}
	if b.bad {
		return false, false
	}
	i := (va - start) / uint64(sub.size)
	switch b.bits[i/4] >> (2 * (i % 4)) & 3 {
	case 0:
		return true, true
	case 1, 3: // busy (3: with unused bytes recorded)
		return false, true
	}
	return false, false // unused bytes on a free block: not a state the heap writes
}

// decide records what a bitmap says of a block the pass counted in use.
func (r *Result) decide(b Block, free bool) {
	k := r.kept[b.Tag]
	if k == nil {
		return
	}
	c := k.c
	if !b.Session {
		c.Unread--
	}
	if !free {
		r.LFH.Busy++
		return
	}
	r.LFH.Free++
	c.Free++
	c.Bytes -= b.Size
	switch {
	case b.Session:
		c.Session--
	case b.Paged:
		c.Paged--
	default:
		c.NonPaged--
	}
	k.remove(b)
}

// lfhFree says, for Walk, whether the block at va of size bytes is free
// by the bitmaps read.
func (r *Result) lfhFree(f *dumpfile.File, bm *lfhBitmap, va uint64, size int) bool {
	subs := r.lfhSubs
	i := sort.Search(len(subs), func(i int) bool { return subs[i].end() > va })
	if i == len(subs) || va < subs[i].va {
		return false
	}
	free, ok := bm.state(f, lfhLayouts[r.is64], subs[i], va, size)
	return ok && free
}

// notes are the scan's words on what the LFH bitmaps gave.
func (st LFHStats) notes() []string {
	if !st.Keyed {
		return []string{"segment heap: LFH subsegment bitmaps not read (" + st.Why + "): freed LFH blocks keep their headers, so the scan can count more blocks than are outstanding"}
	}
	out := []string{fmt.Sprintf("segment heap: LFH key %#08x solved from the blocks of %d of %d subsegment headers; the bitmaps of %d subsegments say %d blocks of the tags asked for are in use and %d free",
		st.Key, st.Agree, st.Headers, st.Decoded, st.Busy, st.Free)}
	if st.Damaged > 0 {
		at := ""
		for i, va := range st.DamagedAt {
			if i > 0 {
				at += ", "
			}
			at += fmt.Sprintf("%#x", va)
		}
		if st.Damaged > len(st.DamagedAt) {
			at += ", ..."
		}
		out = append(out, fmt.Sprintf("%d LFH subsegment headers do not decode with the key the others share (damaged, or not subsegments), at %s: their blocks are counted as found, undecided", st.Damaged, at))
	}
	return out
}
