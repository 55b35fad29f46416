package dumpfile

import (
	"encoding/binary"
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
type bitmapMem struct {
	words     []uint64 // the bitmap, little-endian words
	rank      []uint64 // rank[i] = set bits in words[:i]
	nbits     uint64
	count     uint64 // set bits
	firstPage int64
}

// newBitmapMem copies the bitmap (nbits bits from raw) into words and
// builds the rank table: 16 bytes of index per 64 pages described, so a
// 128 GiB dump costs 8 MiB.
func newBitmapMem(raw []byte, nbits uint64, firstPage int64) *bitmapMem {
	nw := (nbits + 63) / 64
	m := &bitmapMem{words: make([]uint64, nw), rank: make([]uint64, nw), nbits: nbits, firstPage: firstPage}
	for i := range m.words {
		var w uint64
		if i*8+8 <= len(raw) {
			w = binary.LittleEndian.Uint64(raw[i*8:])
		} else {
			for j := 0; i*8+j < len(raw); j++ {
				w |= uint64(raw[i*8+j]) << (8 * j)
			}
		}
		if rem := nbits - uint64(i)*64; rem < 64 {
			w &= 1<<rem - 1 // bits past the end describe nothing
		}
		m.words[i] = w
		m.rank[i] = m.count
		m.count += uint64(bits.OnesCount64(w))
	}
	return m
}

func (m *bitmapMem) lookup(pfn uint64) (int64, bool) {
	if pfn >= m.nbits {
		return 0, false
	}
	w := m.words[pfn>>6]
	bit := pfn & 63
	if w>>bit&1 == 0 {
		return 0, false
	}
	idx := m.rank[pfn>>6] + uint64(bits.OnesCount64(w&(1<<bit-1)))
	return m.firstPage + int64(idx)*PageSize, true
}

func (m *bitmapMem) stored() uint64    { return m.count }
func (m *bitmapMem) described() uint64 { return m.nbits }

func (m *bitmapMem) each(fn func(pfn, count uint64, off int64) bool) {
	var start, n uint64
	flush := func() bool {
		if n == 0 {
			return true
		}
		off, _ := m.lookup(start)
		ok := fn(start, n, off)
		n = 0
		return ok
	}
	for wi, w := range m.words {
		for w != 0 {
			pfn := uint64(wi)*64 + uint64(bits.TrailingZeros64(w))
			if n > 0 && start+n != pfn && !flush() {
				return
			}
			if n == 0 {
				start = pfn
			}
			n++
			w &= w - 1
		}
	}
	flush()
}

// noMem is the container of triage dumps: no physical pages at all.
type noMem struct{}

func (noMem) lookup(uint64) (int64, bool)                  { return 0, false }
func (noMem) stored() uint64                               { return 0 }
func (noMem) described() uint64                            { return 0 }
func (noMem) each(func(pfn, count uint64, off int64) bool) {}
