package dumpfile

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sort"
)

// physMem maps page frame numbers to file offsets. Implementations keep
// only small indexes: sorted runs, or a bitmap with one cumulative count
// per 64-bit word.
type physMem interface {
	// lookup returns the file offset of page pfn, or false when the dump
	// does not hold it.
	lookup(pfn uint64) (int64, bool)
	// stored is the number of pages the container says it holds.
	stored() uint64
	// described is the number of pages the container describes (bitmap
	// bits, or the pages of the physical memory descriptor).
	described() uint64
	// each calls fn for every stretch of consecutive stored pages, in PFN
	// order, until fn returns false.
	each(fn func(pfn, count uint64, off int64) bool)
}

// Run is a stretch of physical pages stored contiguously in the file.
type Run struct {
	BasePage  uint64 // first PFN
	PageCount uint64
	FileOff   int64 // file offset of the first page
}

// runMem is the run-based container (DumpType 1, and RDMP ranges).
type runMem struct {
	runs  []Run // sorted by BasePage, non-overlapping
	total uint64
	desc  uint64
}

func newRunMem(runs []Run, described uint64) *runMem {
	sort.Slice(runs, func(i, j int) bool { return runs[i].BasePage < runs[j].BasePage })
	m := &runMem{runs: runs, desc: described}
	for _, r := range runs {
		m.total += r.PageCount
	}
	if m.desc == 0 {
		m.desc = m.total
	}
	return m
}

func (m *runMem) lookup(pfn uint64) (int64, bool) {
	// First run starting after pfn, then step back one: O(log runs).
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].BasePage > pfn }) - 1
	if i < 0 {
		return 0, false
	}
	r := &m.runs[i]
	if pfn-r.BasePage >= r.PageCount {
		return 0, false
	}
	return r.FileOff + int64(pfn-r.BasePage)*PageSize, true
}

func (m *runMem) stored() uint64    { return m.total }
func (m *runMem) described() uint64 { return m.desc }

func (m *runMem) each(fn func(pfn, count uint64, off int64) bool) {
	for _, r := range m.runs {
		if !fn(r.BasePage, r.PageCount, r.FileOff) {
			return
		}
	}
}

// overlap reports the first two runs that cover the same page, if any.
func (m *runMem) overlap() (a, b Run, ok bool) {
	for i := 1; i < len(m.runs); i++ {
		p := m.runs[i-1]
		if p.BasePage+p.PageCount > m.runs[i].BasePage {
			return p, m.runs[i], true
		}
	}
	return Run{}, Run{}, false
}

// bitmapMem is the bitmap container (DumpType 5 and 6, and the old
// summary dump, DumpType 2): bit b of byte i is PFN 8i+b, and the pages
// whose bit is set are stored densely in PFN order from firstPage.
//
// Small bitmaps (up to denseMaxBits, 1 TiB of physical memory) keep every
// word and a rank per word: O(1) lookups for 16 bytes per 64 pages. Larger
// ones keep only their non-zero words, so the index follows the pages the
// file really stores, not the size a header claims: a damaged or crafted
// bitmap size over a sparse file then costs a scan, not its size in memory.
type bitmapMem struct {
	words     []uint64 // dense: the bitmap, little-endian words
	rank      []uint64 // dense: rank[i] = set bits in words[:i]
	sparse    []setWord
	nbits     uint64
	count     uint64 // set bits
	firstPage int64
}

// setWord is one non-zero word of a sparse bitmap index.
type setWord struct {
	idx  uint64 // word number (PFN / 64)
	bits uint64
	rank uint64 // set bits in the words before it
}

// denseMaxBits is the largest bitmap indexed densely: 32 MiB of index.
const denseMaxBits = 1 << 28

// bitmapBuilder adds a bitmap's bytes in order, chunk by chunk, so that
// no more than a window of it is held while it is read.
type bitmapBuilder struct {
	m    *bitmapMem
	word uint64 // next word number
	part []byte // bytes of a word split across chunks
}

func newBitmapBuilder(nbits uint64, firstPage int64) *bitmapBuilder {
	m := &bitmapMem{nbits: nbits, firstPage: firstPage}
	if nbits <= denseMaxBits {
		nw := (nbits + 63) / 64
		m.words, m.rank = make([]uint64, nw), make([]uint64, nw)
	}
	return &bitmapBuilder{m: m}
}

// add takes the next bytes of the bitmap.
func (b *bitmapBuilder) add(chunk []byte) {
	if len(b.part) > 0 {
		k := min(8-len(b.part), len(chunk))
		b.part = append(b.part, chunk[:k]...)
		chunk = chunk[k:]
		if len(b.part) < 8 {
			return
		}
		b.put(binary.LittleEndian.Uint64(b.part))
		b.part = b.part[:0]
	}
	for len(chunk) >= 8 {
		b.put(binary.LittleEndian.Uint64(chunk))
		chunk = chunk[8:]
	}
	b.part = append(b.part, chunk...)
}

// skipZeros takes n zero bytes without being handed them.
func (b *bitmapBuilder) skipZeros(n int64) {
	var zeros [8]byte
	for len(b.part) > 0 && n > 0 {
		b.add(zeros[:1])
		n--
	}
	words := uint64(n / 8)
	if b.m.words != nil {
		for range words {
			b.put(0)
		}
	} else {
		b.word += words
	}
	b.add(zeros[:n%8])
}

// done flushes a last partial word and returns the index.
func (b *bitmapBuilder) done() *bitmapMem {
	if len(b.part) > 0 {
		var w uint64
		for j, c := range b.part {
			w |= uint64(c) << (8 * j)
		}
		b.put(w)
		b.part = nil
	}
	return b.m
}

func (b *bitmapBuilder) put(w uint64) {
	m := b.m
	i := b.word
	b.word++
	if i*64 >= m.nbits {
		return
	}
	if rem := m.nbits - i*64; rem < 64 {
		w &= 1<<rem - 1 // bits past the end describe nothing
	}
	if m.words != nil {
		m.words[i] = w
		m.rank[i] = m.count
	} else if w != 0 {
		m.sparse = append(m.sparse, setWord{idx: i, bits: w, rank: m.count})
	}
	m.count += uint64(bits.OnesCount64(w))
}

// word returns word i and the set bits before it.
func (m *bitmapMem) word(i uint64) (w, rank uint64) {
	if m.words != nil {
		return m.words[i], m.rank[i]
	}
	j := sort.Search(len(m.sparse), func(j int) bool { return m.sparse[j].idx >= i })
	if j == len(m.sparse) || m.sparse[j].idx != i {
		return 0, 0
	}
	return m.sparse[j].bits, m.sparse[j].rank
}

func (m *bitmapMem) lookup(pfn uint64) (int64, bool) {
	if pfn >= m.nbits {
		return 0, false
	}
	w, rank := m.word(pfn >> 6)
	bit := pfn & 63
	if w>>bit&1 == 0 {
		return 0, false
	}
	idx := rank + uint64(bits.OnesCount64(w&(1<<bit-1)))
	if idx > uint64(math.MaxInt64-m.firstPage)/PageSize {
		return math.MaxInt64, true // past any file (a FirstPage near 2^63): read as truncated
	}
	return m.firstPage + int64(idx)*PageSize, true
}

func (m *bitmapMem) stored() uint64    { return m.count }
func (m *bitmapMem) described() uint64 { return m.nbits }

// eachWord calls fn for every non-zero word in order.
func (m *bitmapMem) eachWord(fn func(i, w uint64) bool) {
	if m.words == nil {
		for _, s := range m.sparse {
			if !fn(s.idx, s.bits) {
				return
			}
		}
		return
	}
	for i, w := range m.words {
		if w != 0 && !fn(uint64(i), w) {
			return
		}
	}
}

func (m *bitmapMem) each(fn func(pfn, count uint64, off int64) bool) {
	var start, n uint64
	stop := false
	flush := func() bool {
		if n == 0 {
			return true
		}
		off, _ := m.lookup(start)
		ok := fn(start, n, off)
		n = 0
		return ok
	}
	m.eachWord(func(wi, w uint64) bool {
		for w != 0 {
			pfn := wi*64 + uint64(bits.TrailingZeros64(w))
			if n > 0 && start+n != pfn && !flush() {
				stop = true
				return false
			}
			if n == 0 {
				start = pfn
			}
			n++
			w &= w - 1
		}
		return true
	})
	if !stop {
		flush()
	}
}

// noMem is the container of triage dumps: no physical pages at all.
type noMem struct{}

func (noMem) lookup(uint64) (int64, bool)                  { return 0, false }
func (noMem) stored() uint64                               { return 0 }
func (noMem) described() uint64                            { return 0 }
func (noMem) each(func(pfn, count uint64, off int64) bool) {}
