package dumptest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/poolblame/poolblame/dumpfile"
)

// leafKind is what a 4 KiB leaf entry says about its page.
type leafKind uint8

const (
	leafPage       leafKind = iota + 1 // valid, page stored
	leafTransition                     // transition, page stored
	leafPagedOut                       // not valid, in the page file
	leafAbsent                         // valid, page not stored
)

var leafNames = [...]string{leafPage: "mapped", leafTransition: "in transition", leafPagedOut: "paged out", leafAbsent: "absent from the dump"}

type leaf struct {
	kind leafKind
	pfn  uint64
}

// largeMap is one large page: size bytes at va backed by frames from pfn.
type largeMap struct{ va, size, pfn uint64 }

// module is one entry of the loaded-module list.
type module struct {
	name, path                    string
	base                          uint64
	size, timeDateStamp, checkSum uint32
	entry                         uint64            // VA of its LDR_DATA_TABLE_ENTRY
	exports                       map[string]uint32 // exported routine name -> RVA
}

// Builder assembles the memory of a crashed machine and writes it as a
// dump file. Make one with New.
type Builder struct {
	cfg  Config
	arch *archInfo
	rng  *rand.Rand

	mem     map[uint64]*page // stored physical pages; a nil value is a stored zero page
	phys    physAllocator
	leaves  map[uint64]leaf // by virtual page number
	larges  []largeMap
	rootPFN uint64
	rootOff uint64 // PAE: offset of the 32-byte PDPT inside its page
	dtb     uint64 // as written to the header, flags included

	kernBase, dataEnd, varNext uint64
	poolNext, poolMapped       uint64
	modNext                    uint64
	modules                    []module
	syms                       map[string]uint64
	heapKey                    uint64 // RtlpHpHeapGlobals.HeapKey, drawn when the first VS chunk is written
	lfhKey                     uint32 // RtlpHpHeapGlobals.LfhKey (low 32 bits), drawn at the first LFH subsegment
	processes                  int    // EPROCESSes on PsActiveProcessHead

	kdbgVA                uint64
	kdbgSize              int
	waitNever, waitAlways uint64
	plainPFN              uint64
	plainOff              int
}

// New returns a Builder holding a mapped kernel image, its module list,
// an empty process list and a KDBG block. It panics if c is not valid
// (see Config.Validate).
func New(c Config) *Builder {
	if err := c.Validate(); err != nil {
		panic(misuseError("dumptest: " + err.Error()))
	}
	c = c.withDefaults()
	info := archTable[c.Arch]
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x6475_6d70_7465_7374))
	b := &Builder{
		cfg:    c,
		arch:   info,
		rng:    rng,
		mem:    make(map[uint64]*page),
		leaves: make(map[uint64]leaf),
		syms:   make(map[string]uint64),
	}
	b.phys = newPhysAllocator(rng)
	if n := info.rootFrames; n > 1 {
		b.rootPFN = b.phys.frames(n, 0)
		for i := range n {
			b.mem[b.rootPFN+i] = nil // stored, zero until written
		}
	} else {
		b.rootPFN = b.newFrame()
	}
	if c.Arch == dumpfile.ArchX86PAE {
		// A PAE CR3 names a 32-byte aligned PDPT, rarely at a page start.
		b.rootOff = (1 + rng.Uint64N(127)) * 32
	}
	b.dtb = b.rootPFN<<12 | b.rootOff | c.DTBFlags
	b.poolNext, b.poolMapped = info.poolBase, info.poolBase
	b.modNext = info.modBase
	b.setupKernel()
	if c.PlainKDBGCopy {
		b.plainPFN = b.newFrame()
		b.plainOff = 8 * rng.IntN((PageSize-b.kdbgSize)/8)
	}
	return b
}

// newFrame returns a fresh stored physical page.
func (b *Builder) newFrame() uint64 {
	pfn := b.phys.small()
	b.mem[pfn] = nil
	return pfn
}

// misuse panics, as a test helper does when it is called wrongly.
func (b *Builder) misuse(format string, args ...any) {
	panic(misuseError("dumptest: " + fmt.Sprintf(format, args...)))
}

// checkVA panics unless [va, va+n) is a valid address range for the arch.
func (b *Builder) checkVA(va, n uint64) {
	end := va + n - 1
	if n == 0 {
		end = va
	}
	if end < va {
		b.misuse("address range %#x+%#x wraps around", va, n)
	}
	if b.arch.vaBits == 32 {
		if end > 0xFFFFFFFF {
			b.misuse("address %#x is not a 32-bit address", end)
		}
		return
	}
	for _, a := range []uint64{va, end} {
		top := a >> 47
		if top != 0 && top != 0x1FFFF {
			b.misuse("address %#x is not canonical", a)
		}
	}
	if va>>47 != end>>47 {
		b.misuse("address range %#x-%#x crosses the non-canonical hole", va, end)
	}
}

// readPhys and writePhys work on one page; data must not cross it.
func (b *Builder) readPhys(pfn, off uint64, dst []byte) {
	if p := b.mem[pfn]; p != nil {
		copy(dst, p[off:])
		return
	}
	clear(dst)
}

func (b *Builder) writePhys(pfn, off uint64, data []byte) {
	p := b.mem[pfn]
	if p == nil {
		if allZero(data) {
			b.mem[pfn] = nil // stored, still all zero: no need to hold it
			return
		}
		p = new(page)
		b.mem[pfn] = p
	}
	copy(p[off:], data)
}

func allZero(d []byte) bool {
	for _, c := range d {
		if c != 0 {
			return false
		}
	}
	return true
}

// entry reads and setEntry writes a page-table entry.
func (b *Builder) entry(pfn, off uint64) uint64 {
	var buf [8]byte
	b.readPhys(pfn, off, buf[:b.arch.entrySize])
	return binary.LittleEndian.Uint64(buf[:])
}

func (b *Builder) setEntry(pfn, off, v uint64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	b.writePhys(pfn, off, buf[:b.arch.entrySize])
}

// slot returns where the entry for va at the given depth lives, creating
// the tables above it. Callers have checked that no large page covers va,
// so every non-zero entry above depth is a table.
func (b *Builder) slot(va uint64, depth int) (pfn, off uint64) {
	return b.slotIn(b.rootPFN, b.rootOff, va, depth)
}

// slotIn is slot in the page tables rooted at rootPFN (the root table at
// rootOff inside it): another process's address space.
func (b *Builder) slotIn(rootPFN, rootOff, va uint64, depth int) (pfn, off uint64) {
	pfn, base := rootPFN, rootOff
	for d, lv := range b.arch.levels {
		idx := va >> lv.shift & (1<<lv.bits - 1)
		off = base + idx*uint64(b.arch.entrySize)
		// A root table of several frames (ARMv7's 16 KiB) continues in
		// the next frames.
		pfn, off = pfn+off/PageSize, off%PageSize
		if d == depth {
			return pfn, off
		}
		e := b.entry(pfn, off)
		if e == 0 {
			t := b.newFrame()
			e = b.arch.table(t<<12, d)
			b.setEntry(pfn, off, e)
		}
		pfn, base = b.arch.entryAddr(e)>>12, 0
	}
	panic("unreachable")
}

// largeAt returns the large page covering va, if any.
func (b *Builder) largeAt(va uint64) *largeMap {
	for i := range b.larges {
		l := &b.larges[i]
		if va >= l.va && va-l.va < l.size {
			return l
		}
	}
	return nil
}

// mapLeaf maps the page at va (page aligned) as kind. Mapping a page again
// with the same kind does nothing; with another kind it panics.
func (b *Builder) mapLeaf(va uint64, kind leafKind) {
	vpn := va >> 12
	if l, ok := b.leaves[vpn]; ok {
		if l.kind != kind {
			b.misuse("page %#x is already %s, cannot map it %s", va, leafNames[l.kind], leafNames[kind])
		}
		return
	}
	if b.largeAt(va) != nil {
		b.misuse("page %#x lies inside a large page", va)
	}
	if (kind == leafTransition || kind == leafPagedOut) && b.arch.transition == nil {
		b.misuse("page %#x: %v's software page-table entries (transition, paged out) are not modelled", va, b.cfg.Arch)
	}
	var pfn, e uint64
	switch kind {
	case leafPage:
		pfn = b.newFrame()
		e = b.arch.page(pfn << 12)
	case leafTransition:
		pfn = b.newFrame()
		e = b.arch.transition(pfn<<12, va)
	case leafAbsent:
		pfn = b.phys.small() // a real frame, never stored
		e = b.arch.page(pfn << 12)
	case leafPagedOut:
		e = b.arch.pagedOut(1 + b.rng.Uint64N(0xFFFF))
	}
	p, off := b.slot(va, len(b.arch.levels)-1)
	b.setEntry(p, off, e)
	b.leaves[vpn] = leaf{kind, pfn}
}

// mapFresh maps the page at va, which must not be mapped yet.
func (b *Builder) mapFresh(va uint64) {
	if _, ok := b.leaves[va>>12]; ok || b.largeAt(va) != nil {
		b.misuse("page %#x is already mapped", va)
	}
	b.mapLeaf(va, leafPage)
}

// pagesOf calls f for each page-aligned address covering [va, va+n), at
// least one.
func pagesOf(va, n uint64, f func(pva uint64)) {
	end := va + max(n, 1)
	for p := va &^ (PageSize - 1); p < end && p >= va&^(PageSize-1); p += PageSize {
		f(p)
	}
}

// Map maps the 4 KiB pages covering [va, va+len(data)) (at least the page
// holding va) to fresh stored physical pages and writes data at va.
// Pages already mapped by Map are reused.
func (b *Builder) Map(va uint64, data []byte) {
	b.checkVA(va, uint64(len(data)))
	pagesOf(va, uint64(len(data)), func(p uint64) { b.mapLeaf(p, leafPage) })
	b.Write(va, data)
}

// MapTransition maps the pages covering [va, va+len(data)) with leaf
// entries in transition ((pte & 0xC01) == 0x800, frame number in the usual
// bits; on x64 bit 45 too when bit 12 of the page's address is set). The
// pages are stored, and data is written at va.
func (b *Builder) MapTransition(va uint64, data []byte) {
	b.checkVA(va, uint64(len(data)))
	pagesOf(va, uint64(len(data)), func(p uint64) { b.mapLeaf(p, leafTransition) })
	b.Write(va, data)
}

// MapPagedOut gives the page holding va a leaf entry that is neither
// valid nor in transition, but not zero: a page-file entry.
func (b *Builder) MapPagedOut(va uint64) {
	b.checkVA(va, 1)
	b.mapLeaf(va&^(PageSize-1), leafPagedOut)
}

// MapAbsent gives the page holding va a valid leaf entry whose physical
// page is not stored in the dump.
func (b *Builder) MapAbsent(va uint64) {
	b.checkVA(va, 1)
	b.mapLeaf(va&^(PageSize-1), leafAbsent)
}

// MapLarge maps one large page of size bytes at va: 2 MiB (x64, ARM64
// and PAE page-directory entries), 1 GiB (x64 and ARM64 third-level
// entries) or 4 MiB (x86 page-directory entries). x64 large entries carry
// the PAT bit 12 on purpose. Its pages are stored only once written; the
// others are absent from the dump.
func (b *Builder) MapLarge(va, size uint64) {
	depth := -1
	for d, lv := range b.arch.levels {
		if lv.large != 0 && lv.large == size {
			depth = d
		}
	}
	if depth < 0 {
		b.misuse("%v has no large pages of %#x bytes", b.cfg.Arch, size)
	}
	if va&(size-1) != 0 {
		b.misuse("large page at %#x is not aligned to its size %#x", va, size)
	}
	b.checkVA(va, size)
	for _, l := range b.larges {
		if va < l.va+l.size && l.va < va+size {
			b.misuse("large page %#x+%#x overlaps the large page at %#x", va, size, l.va)
		}
	}
	for vpn := range b.leaves {
		if a := vpn << 12; a >= va && a-va < size {
			b.misuse("large page %#x+%#x overlaps the mapped page %#x", va, size, a)
		}
	}
	n := size / PageSize
	pfn := b.phys.frames(n, 1+b.rng.Uint64N(0x100))
	p, off := b.slot(va, depth)
	b.setEntry(p, off, b.arch.largePage(pfn<<12))
	b.larges = append(b.larges, largeMap{va, size, pfn})
}

// frame returns the physical frame that stores the page holding va, or
// why there is none.
func (b *Builder) frame(va uint64) (pfn uint64, why string) {
	if l, ok := b.leaves[va>>12]; ok {
		if l.kind == leafPage || l.kind == leafTransition {
			return l.pfn, ""
		}
		return 0, "the page is " + leafNames[l.kind]
	}
	if l := b.largeAt(va); l != nil {
		return l.pfn + (va-l.va)>>12, ""
	}
	return 0, "the page is not mapped"
}

// Write writes data at va into mapped pages (4 KiB or large); it may
// cross pages. It panics if a page is not mapped, paged out or absent.
func (b *Builder) Write(va uint64, data []byte) {
	for len(data) > 0 {
		pfn, why := b.frame(va)
		if why != "" {
			b.misuse("write at %#x: %s", va, why)
		}
		off := va & (PageSize - 1)
		n := min(uint64(len(data)), PageSize-off)
		b.writePhys(pfn, off, data[:n])
		va += n
		data = data[n:]
	}
}

// Read returns n bytes of memory at va as they will be written, before
// KDBG encoding and Damage. Unwritten parts of large pages read as zero.
func (b *Builder) Read(va uint64, n int) []byte {
	out := make([]byte, n)
	for dst := out; len(dst) > 0; {
		pfn, why := b.frame(va)
		if why != "" {
			b.misuse("read at %#x: %s", va, why)
		}
		off := va & (PageSize - 1)
		k := min(uint64(len(dst)), PageSize-off)
		b.readPhys(pfn, off, dst[:k])
		va += k
		dst = dst[k:]
	}
	return out
}

// PhysAddr returns the physical address va translates to. Absent pages
// have one (their frame is simply not stored); paged-out and unmapped
// pages do not.
func (b *Builder) PhysAddr(va uint64) (uint64, bool) {
	if l, ok := b.leaves[va>>12]; ok {
		if l.kind == leafPagedOut {
			return 0, false
		}
		return l.pfn<<12 | va&(PageSize-1), true
	}
	if l := b.largeAt(va); l != nil {
		return l.pfn<<12 + (va - l.va), true
	}
	return 0, false
}

// PutU16 writes a little-endian 16-bit integer at va.
func (b *Builder) PutU16(va uint64, v uint16) {
	b.Write(va, binary.LittleEndian.AppendUint16(nil, v))
}

// PutU32 writes a little-endian 32-bit integer at va.
func (b *Builder) PutU32(va uint64, v uint32) {
	b.Write(va, binary.LittleEndian.AppendUint32(nil, v))
}

// PutU64 writes a little-endian 64-bit integer at va.
func (b *Builder) PutU64(va uint64, v uint64) {
	b.Write(va, binary.LittleEndian.AppendUint64(nil, v))
}

// PutPtr writes a pointer: 4 bytes on x86, 8 on x64 and ARM64.
func (b *Builder) PutPtr(va, v uint64) {
	if b.arch.ptrSize == 4 {
		b.PutU32(va, uint32(v))
		return
	}
	b.PutU64(va, v)
}

// ReadPtr reads a pointer written at va.
func (b *Builder) ReadPtr(va uint64) uint64 {
	d := b.Read(va, b.arch.ptrSize)
	if len(d) == 4 {
		return uint64(binary.LittleEndian.Uint32(d))
	}
	return binary.LittleEndian.Uint64(d)
}

// Alloc returns n bytes of zeroed, mapped memory aligned to align (a
// power of two) from the kernel pool region.
func (b *Builder) Alloc(n, align int) uint64 {
	if n <= 0 || align <= 0 || align&(align-1) != 0 {
		b.misuse("Alloc(%d, %d): size must be positive and alignment a power of two", n, align)
	}
	va := alignUp(b.poolNext, uint64(align))
	end := va + uint64(n)
	b.checkVA(va, uint64(n))
	if end > b.arch.modBase && va < b.arch.modBase {
		b.misuse("Alloc(%d): pool region exhausted", n)
	}
	for b.poolMapped < end {
		b.mapFresh(b.poolMapped)
		b.poolMapped += PageSize
	}
	b.poolNext = end
	return va
}

// DTB returns the DirectoryTableBase written to the header, DTBFlags
// included. On PAE it addresses the 32-byte PDPT, which is not page
// aligned.
func (b *Builder) DTB() uint64 { return b.dtb }

// Config returns the configuration with defaults filled in.
func (b *Builder) Config() Config { return b.cfg }
