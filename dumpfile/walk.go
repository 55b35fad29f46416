package dumpfile

import (
	"fmt"
	"runtime/debug"
)

// MapState is what a leaf page-table entry says about the page it maps.
type MapState uint8

// The states of a mapping.
const (
	MapPresent    MapState = iota + 1 // valid, and the dump holds the page
	MapTransition                     // in transition: the page still holds its data, and the dump holds it
	MapPagedOut                       // not valid: in the page file, a prototype, or demand zero
	MapAbsent                         // valid (or in transition), but the dump does not hold the page
)

var mapStateNames = [...]string{MapPresent: "present", MapTransition: "in transition", MapPagedOut: "paged out", MapAbsent: "absent from the dump"}

func (s MapState) String() string {
	if int(s) < len(mapStateNames) && mapStateNames[s] != "" {
		return mapStateNames[s]
	}
	return fmt.Sprintf("MapState(%d)", uint8(s))
}

// Mapping is one leaf of the page tables: Size bytes at VA backed by
// physical memory at PA. Size is 4 KiB except for paged-out entries above
// the last level, which stand for all they would map; PA is 0 for
// paged-out leaves.
type Mapping struct {
	VA, PA, Size uint64
	State        MapState
}

// Mappings walks the page tables of the dump's DirectoryTableBase (the
// system address space) and calls fn for every leaf that maps something,
// in VA order, until fn returns false. Large pages are reported as their
// 4 KiB pages. Zero entries are skipped; a
// non-zero entry that is not valid is reported as paged out (or as in
// transition at the last level). Page-table pages the dump does not hold
// are counted in missingTables, not walked. Entries that point back to
// the root table (the self-map) are skipped, so every table is visited a
// bounded number of times and the walk costs the page tables' size, not
// the address space's.
func (f *File) Mappings(fn func(m Mapping) bool) (missingTables int, err error) {
	return f.mappings(f.DTB(), 0, ^uint64(0), fn)
}

// mappings walks the tables rooted at dtb, visiting only entries whose
// range meets [lo, hi] (canonical addresses, hi inclusive).
func (f *File) mappings(dtb, lo, hi uint64, fn func(m Mapping) bool) (missingTables int, err error) {
	defer f.guard(debug.SetPanicOnFault(true), &err)
	m := f.paging
	if f.memErr != nil {
		return 0, f.memErr
	}
	if m == nil {
		return 0, fmt.Errorf("%w: %v", ErrUnsupportedPaging, f.arch)
	}
	root := dtb & m.rootMask
	w := &tableWalk{f: f, m: m, lo: lo, hi: hi, rootPFN: root >> 12, last: len(m.levels) - 1, fn: fn}
	w.walk(root, 0, 0, 1<<m.levels[0].bits)
	return w.missingTables, nil
}

// tableWalk is one walk of a set of page tables.
type tableWalk struct {
	f             *File
	m             *pagingMode
	lo, hi        uint64
	rootPFN       uint64
	last          int
	fn            func(Mapping) bool
	stop          bool
	missingTables int
}

// walk visits n entries of the table at physical address table.
func (w *tableWalk) walk(table uint64, depth int, vaBase uint64, n int) {
	m := w.m
	l := m.levels[depth]
	page, perr := w.f.physPage(table >> 12)
	if perr != nil {
		w.missingTables++
		return
	}
	base := table & (PageSize - 1)
	for i := 0; i < n && !w.stop; i++ {
		off := base + uint64(i*m.entrySize)
		var e uint64
		if m.entrySize == 4 {
			e = uint64(leU32(page[off:]))
		} else {
			e = leU64(page[off:])
		}
		if e == 0 {
			continue
		}
		va := m.canonicalVA(vaBase | uint64(i)<<l.shift)
		if span := uint64(1)<<l.shift - 1; va > w.hi || va+span < w.lo {
			continue
		}
		if next, ok := w.entry(e, va, depth); ok {
			w.walk(next, depth+1, va, 1<<m.levels[depth+1].bits)
		}
	}
}

// entry reports the leaves a non-zero entry maps, or returns the next
// table to walk.
func (w *tableWalk) entry(e, va uint64, depth int) (next uint64, descend bool) {
	m, f := w.m, w.f
	l := m.levels[depth]
	state := func(pa uint64, st MapState) MapState {
		if !f.HasPage(pa >> 12) {
			return MapAbsent
		}
		return st
	}
	if e&pteValid == 0 {
		if depth == w.last && e&pteTransMask == pteTransition {
			pa := m.fixTransition(e) & m.addrMask
			w.stop = !w.fn(Mapping{VA: va, PA: pa, Size: PageSize, State: state(pa, MapTransition)})
			return 0, false
		}
		w.stop = !w.fn(Mapping{VA: va, Size: uint64(1) << l.shift, State: MapPagedOut})
		return 0, false
	}
	if m.badEntry(e) {
		return 0, false
	}
	if m.isBlock(e, depth, m) {
		// A large page is reported page by page: the dump may hold
		// some of its 4 KiB pages and not others.
		pa := m.blockAddr(e, l.block)
		for o := uint64(0); o < l.block && !w.stop; o += PageSize {
			w.stop = !w.fn(Mapping{VA: va + o, PA: pa + o, Size: PageSize, State: state(pa+o, MapPresent)})
		}
		return 0, false
	}
	if f.arch == ArchARM64 && e&2 == 0 {
		return 0, false
	}
	next = e & m.addrMask
	if depth == w.last {
		w.stop = !w.fn(Mapping{VA: va, PA: next, Size: PageSize, State: state(next, MapPresent)})
		return 0, false
	}
	// The self-map: walking it would visit every table again.
	return next, next>>12 != w.rootPFN
}

// canonicalVA sign-extends a 48-bit address; 32-bit modes keep it.
func (m *pagingMode) canonicalVA(va uint64) uint64 {
	if m.vaBits == 32 || va>>(m.vaBits-1)&1 == 0 {
		return va
	}
	return va | ^uint64(0)<<m.vaBits
}

func leU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func leU64(b []byte) uint64 { return uint64(leU32(b)) | uint64(leU32(b[4:]))<<32 }
