package dumptest_test

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// addrs are addresses in the generator's default layout that tests map.
type addrs struct {
	page, cross, large, trans, transOdd, pagedOut, absent uint64
	largeSize                                             uint64
}

func testAddrs(arch dumpfile.Arch) addrs {
	switch arch {
	case dumpfile.ArchX86:
		return addrs{0x9A000000, 0x9A001FFC, 0x9C000000, 0x9A010000, 0x9A011000, 0x9A020000, 0x9A030000, 4 << 20}
	case dumpfile.ArchX86PAE:
		return addrs{0x9A000000, 0x9A001FFC, 0x9C000000, 0x9A010000, 0x9A011000, 0x9A020000, 0x9A030000, 2 << 20}
	}
	return addrs{0xFFFFE00000000000, 0xFFFFE00000001FFC, 0xFFFFE80000000000, 0xFFFFE00000010000,
		0xFFFFE00000011000, 0xFFFFE00000020000, 0xFFFFE00000030000, 2 << 20}
}

// TestTranslation walks the page tables by hand from the file bytes for
// each architecture and each kind of leaf.
func TestTranslation(t *testing.T) {
	for _, arch := range allArchs {
		t.Run(arch.String(), func(t *testing.T) {
			a := testAddrs(arch)
			b := dumptest.New(dumptest.Config{Arch: arch, Seed: 11})
			b.Map(a.page, []byte("first page"))
			b.Map(a.cross, []byte("crossing")) // 4 bytes in each of two pages
			b.MapLarge(a.large, a.largeSize)
			b.Write(a.large+a.largeSize-0x1000+0x10, []byte("large tail"))
			b.MapTransition(a.trans, []byte("even transition"))
			b.MapTransition(a.transOdd, []byte("odd transition"))
			b.MapPagedOut(a.pagedOut)
			b.MapAbsent(a.absent)
			d := parse(t, build(t, b))

			for _, r := range []struct {
				va   uint64
				want string
			}{
				{a.page, "first page"},
				{a.cross, "crossing"},
				{a.large + a.largeSize - 0x1000 + 0x10, "large tail"},
				{a.trans, "even transition"},
				{a.transOdd, "odd transition"},
			} {
				got, err := d.virt(arch, r.va, len(r.want))
				if err != nil || string(got) != r.want {
					t.Errorf("read %#x = %q, %v; want %q", r.va, got, err, r.want)
				}
				if pa, ok := b.PhysAddr(r.va); ok {
					if w, _ := d.walk(arch, r.va); w.pa != pa {
						t.Errorf("PhysAddr(%#x) = %#x, walk gives %#x", r.va, pa, w.pa)
					}
				}
			}

			w, err := d.walk(arch, a.large)
			if err != nil || !w.large {
				t.Fatalf("large page: %+v, %v", w, err)
			}
			if arch == dumpfile.ArchAMD64 && w.leaf&(1<<12) == 0 {
				t.Errorf("x64 large entry %#x lacks the PAT bit 12", w.leaf)
			}
			if arch == dumpfile.ArchARM64 && (w.leaf&2 != 0 || w.leaf&(1<<10) == 0) {
				t.Errorf("ARM64 block descriptor %#x: want bit 1 clear and AF set", w.leaf)
			}
			if w.pa%a.largeSize != 0 {
				t.Errorf("large page at physical %#x is not aligned to %#x", w.pa, a.largeSize)
			}
			if _, err := d.phys(w.pa, 1); err == nil {
				t.Errorf("unwritten first page of the large page is stored")
			}

			for _, va := range []uint64{a.trans, a.transOdd} {
				w, _ := d.walk(arch, va)
				if !w.trans || w.leaf&0xC01 != 0x800 {
					t.Errorf("transition %#x: entry %#x", va, w.leaf)
				}
				bit45 := w.leaf&(1<<45) != 0
				if want := arch == dumpfile.ArchAMD64 && va&0x1000 != 0; bit45 != want {
					t.Errorf("transition %#x: entry %#x, bit 45 set = %v, want %v", va, w.leaf, bit45, want)
				}
			}

			w, _ = d.walk(arch, a.pagedOut)
			if w.valid || w.trans || w.leaf == 0 {
				t.Errorf("paged-out entry %#x: want non-zero, not valid, not transition", w.leaf)
			}
			w, _ = d.walk(arch, a.absent)
			if !w.valid {
				t.Errorf("absent page entry %#x is not valid", w.leaf)
			} else if _, err := d.phys(w.pa, 1); err == nil {
				t.Errorf("absent page %#x is stored", w.pa)
			}
			if arch == dumpfile.ArchX86PAE {
				// PDPTEs have RW, US, A, D, PS reserved: only P, PWT and PCD.
				for i := range uint64(4) {
					e, err := d.phys64(d.dtb&0xFFFFFFE0 + 8*i)
					if err != nil || e&^0xFFFFFFFFF000&^0x19 != 0 {
						t.Errorf("PDPTE %d = %#x, %v: reserved bits set", i, e, err)
					}
				}
			}
			if arch == dumpfile.ArchARM64 {
				w, _ = d.walk(arch, a.page)
				if w.leaf&3 != 3 || w.leaf&(1<<10) == 0 {
					t.Errorf("ARM64 page descriptor %#x: want bits 0-1 set and AF", w.leaf)
				}
			}
		})
	}
}

// TestContainers checks each container's bookkeeping and that a marker
// in pool memory reads back through the container and the page tables.
func TestContainers(t *testing.T) {
	tests := []struct {
		arch      dumpfile.Arch
		typ       dumpfile.DumpType
		unaligned bool
		complete  bool
	}{
		{dumpfile.ArchX86, dumpfile.TypeFull, false, false},
		{dumpfile.ArchAMD64, dumpfile.TypeFull, false, false},
		{dumpfile.ArchX86PAE, dumpfile.TypeSummary, false, false},
		{dumpfile.ArchX86, dumpfile.TypeSummary, true, false},
		{dumpfile.ArchAMD64, dumpfile.TypeSummary, true, false},
		{dumpfile.ArchAMD64, dumpfile.TypeBitmapFull, false, false},
		{dumpfile.ArchAMD64, dumpfile.TypeBitmapFull, true, true},
		{dumpfile.ArchX86PAE, dumpfile.TypeBitmapKernel, true, false},
		{dumpfile.ArchARM64, dumpfile.TypeBitmapFull, false, false},
		{dumpfile.ArchAMD64, dumpfile.TypeRDMPKernel, false, false},
		{dumpfile.ArchAMD64, dumpfile.TypeRDMPActive, false, false},
		{dumpfile.ArchARM64, dumpfile.TypeRDMPFull, false, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%v/type%d/unaligned=%v", tt.arch, tt.typ, tt.unaligned)
		t.Run(name, func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: tt.arch, Type: tt.typ, Seed: 5,
				UnalignedFirstPage: tt.unaligned, Complete: tt.complete, StoredPages: 300})
			va := b.Alloc(64, 16)
			b.Write(va, []byte("pool marker"))
			b.MapAbsent(va + 0x10000) // one more hole in the stored pages
			data := build(t, b)
			d := parse(t, data)
			got, err := d.virt(tt.arch, va, 11)
			if err != nil || string(got) != "pool marker" {
				t.Fatalf("marker = %q, %v", got, err)
			}
			if n := uint64(len(d.pages)); n != 300 {
				t.Errorf("%d stored pages, want StoredPages 300", n)
			}
			if want := d.firstPage + uint64(len(d.pages))*0x1000; uint64(len(data)) != want {
				t.Errorf("file is %#x bytes, want first page %#x + pages = %#x", len(data), d.firstPage, want)
			}
			aligned := d.firstPage%0x1000 == 0
			if aligned == tt.unaligned {
				t.Errorf("first page at %#x, unaligned = %v", d.firstPage, tt.unaligned)
			}
			if _, ok := d.pages[0]; ok {
				t.Errorf("PFN 0 is stored")
			}
			checkDense(t, d)

			switch tt.typ {
			case dumpfile.TypeFull:
				var sum uint64
				for _, r := range d.runs {
					sum += r[1]
				}
				if sum != d.runPages || sum != uint64(len(d.pages)) {
					t.Errorf("runs sum to %d, NumberOfPages %d, %d pages", sum, d.runPages, len(d.pages))
				}
				if len(d.runs) < 3 {
					t.Errorf("%d runs: want several, with holes between them", len(d.runs))
				}
				for i := 1; i < len(d.runs); i++ {
					if d.runs[i][0] <= d.runs[i-1][0]+d.runs[i-1][1] {
						t.Errorf("run %d at %#x does not leave a hole after run %d", i, d.runs[i][0], i-1)
					}
				}
			case dumpfile.TypeSummary, dumpfile.TypeBitmapFull, dumpfile.TypeBitmapKernel:
				if d.present != d.setBits {
					t.Errorf("header counts %d pages, bitmap has %d set bits", d.present, d.setBits)
				}
				if d.bitmapPages != 0x20000 {
					t.Errorf("bitmap covers %#x pages, want MemoryPages 0x20000", d.bitmapPages)
				}
				sub := 0x1000
				if tt.arch.Is64() {
					sub = 0x2000
				}
				sig := string(data[sub : sub+4])
				if want := map[bool]string{true: "FDMP", false: "SDMP"}[tt.complete]; sig != want {
					t.Errorf("sub-header signature %q, want %q", sig, want)
				}
			default: // RDMP
				if d.rdmpMetadata != d.firstPage-0x2020 || d.rdmpMetadata-0x20 != d.firstPage-0x2040 {
					t.Errorf("MetadataSize %#x, FirstPageOffset %#x", d.rdmpMetadata, d.firstPage)
				}
				if d.firstPage%0x1000 != 0 {
					t.Errorf("FirstPageOffset %#x not page aligned", d.firstPage)
				}
				end := 0x2030 + 16*len(d.rdmpRanges)
				if !bytes.Equal(data[end:d.firstPage], make([]byte, d.firstPage-uint64(end))) {
					t.Errorf("range list not padded with zero entries up to FirstPageOffset")
				}
				if tt.typ == dumpfile.TypeRDMPFull {
					if got := u32(data, 0x2020); got != uint64(len(d.rdmpRanges)) {
						t.Errorf("NumberOfRanges %d, %d ranges", got, len(d.rdmpRanges))
					}
					if got := u64(data, 0x2028); got != uint64(len(d.pages)) {
						t.Errorf("TotalNumberOfPages %d, %d pages", got, len(d.pages))
					}
				} else if u64(data, 0x2020) != 0 || u64(data, 0x2028) != 0 {
					t.Errorf("types 8/9: words at 0x2020 not zero")
				}
			}
		})
	}
}

// checkDense asserts that stored pages sit one after another in PFN
// order from the first page.
func checkDense(t *testing.T, d *dump) {
	t.Helper()
	pfns := slices.Sorted(maps.Keys(d.pages))
	for i, pfn := range pfns {
		want := d.firstPage + uint64(i)*0x1000
		if off := d.pages[pfn]; off != want {
			t.Errorf("PFN %#x (number %d in order) at %#x, want %#x: not dense in PFN order", pfn, i, off, want)
			return
		}
	}
}

func TestPhysicalMemoryBlock(t *testing.T) {
	// Every container fills the run descriptor; it covers every stored page.
	for _, typ := range []dumpfile.DumpType{dumpfile.TypeBitmapFull, dumpfile.TypeRDMPFull} {
		b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: typ, Seed: 9})
		for i := range 60 { // many holes: more runs than the descriptor holds
			b.MapAbsent(0xFFFFE00000000000 + uint64(i)*0x2000)
			b.Map(0xFFFFE00000001000+uint64(i)*0x2000, []byte{1})
		}
		data := build(t, b)
		d := parse(t, data)
		n := int(u32(data, 0x88))
		if n == 0 || n > 42 {
			t.Fatalf("type %d: %d runs in the descriptor, want 1..42", typ, n)
		}
		var sum uint64
		for pfn := range d.pages {
			in := false
			for i := range n {
				base, count := u64(data, 0x98+16*i), u64(data, 0xA0+16*i)
				in = in || pfn >= base && pfn < base+count
			}
			if !in {
				t.Errorf("type %d: stored PFN %#x outside the run descriptor", typ, pfn)
			}
		}
		for i := range n {
			sum += u64(data, 0xA0+16*i)
		}
		if sum != u64(data, 0x90) {
			t.Errorf("type %d: runs sum to %d, NumberOfPages %d", typ, sum, u64(data, 0x90))
		}
	}
	// A type 1 dump whose runs cannot fit says so.
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeFull})
	for i := range 60 {
		b.MapAbsent(0xFFFFE00000000000 + uint64(i)*0x2000)
		b.Map(0xFFFFE00000001000+uint64(i)*0x2000, []byte{1})
	}
	if _, err := b.Bytes(); err == nil {
		t.Error("type 1 with too many runs: no error")
	}
}

func TestKDBG(t *testing.T) {
	for _, arch := range allArchs {
		t.Run(arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: arch, Seed: 2})
			pt := b.KernelVar(8)
			b.SetKDBG(dumptest.KDBGPoolTrackTable, pt)
			d := parse(t, build(t, b))
			blk, err := d.virt(arch, b.KDBGAddress(), 0x200)
			if err != nil {
				t.Fatal(err)
			}
			sext := func(v uint64) uint64 {
				if arch.Is64() {
					return v
				}
				return uint64(int64(int32(uint32(v))))
			}
			psl, _ := b.Symbol("PsLoadedModuleList")
			psa, _ := b.Symbol("PsActiveProcessHead")
			head, _ := b.Symbol("KdpDebuggerDataListHead")
			for _, f := range []struct {
				name      string
				got, want uint64
			}{
				{"List.Flink", u64(blk, 0), sext(head)},
				{"OwnerTag", u32(blk, 0x10), 0x4742444B},
				{"KernBase", u64(blk, 0x18), sext(b.KernBase())},
				{"PaeEnabled", uint64(le.Uint16(blk[0x36:])) & 1, map[bool]uint64{true: 1}[arch == dumpfile.ArchX86PAE]},
				{"PsLoadedModuleList", u64(blk, 0x48), sext(psl)},
				{"PsActiveProcessHead", u64(blk, 0x50), sext(psa)},
				{"PoolTrackTable", u64(blk, 0x1B8), sext(pt)},
				{"head.Flink", d.ptr(t, arch, head), b.KDBGAddress()},
			} {
				if f.got != f.want {
					t.Errorf("%s = %#x, want %#x", f.name, f.got, f.want)
				}
			}
			if got := d.ptr(t, arch, psa); got != psa {
				t.Errorf("PsActiveProcessHead.Flink = %#x, want itself (empty list)", got)
			}
		})
	}
}

func TestKDBGEncoded(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, EncodeKDBG: true, PlainKDBGCopy: true, Seed: 77})
	pt := b.KernelVar(8)
	b.SetKDBG(dumptest.KDBGPoolTrackTable, pt)
	plain := b.Read(b.KDBGAddress(), 0x380)
	d := parse(t, build(t, b))
	enc, err := d.virt(dumpfile.ArchAMD64, b.KDBGAddress(), 0x380)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[0x10:0x14]) == "KDBG" {
		t.Fatal("encoded block still shows the KDBG tag")
	}
	n, w, a := b.KDBGKeys()
	if n == 0 || w == 0 || a == 0 {
		t.Fatalf("keys %#x %#x %#x", n, w, a)
	}
	// The keys are in kernel memory where the variables say.
	for _, v := range []struct {
		sym  string
		want uint64
	}{{"KiWaitNever", n}, {"KiWaitAlways", w}} {
		va, _ := b.Symbol(v.sym)
		if got := d.ptr(t, dumpfile.ArchAMD64, va); got != v.want {
			t.Errorf("%s in memory = %#x, want %#x", v.sym, got, v.want)
		}
	}
	if got, _ := d.virt(dumpfile.ArchAMD64, a, 1); len(got) != 1 || got[0] != 1 {
		t.Errorf("KdpDataBlockEncoded = %v, want 1", got)
	}
	for i := 0; i < 0x380; i += 8 {
		if got := decodeKDBG(u64(enc, i), n, w, a); got != u64(plain, i) {
			t.Fatalf("word %#x decodes to %#x, want %#x", i, got, u64(plain, i))
		}
	}
	if u64(plain, 0x1B8) != pt {
		t.Errorf("plain PoolTrackTable %#x, want %#x", u64(plain, 0x1B8), pt)
	}
	// The plain copy sits on some stored physical page.
	found := 0
	for pfn, off := range d.pages {
		pg := d.data[off : off+0x1000]
		for i := 0; i+0x18 <= len(pg); i += 8 {
			if string(pg[i+0x10:i+0x14]) == "KDBG" && u32(pg, i+0x14) == 0x380 {
				if !bytes.Equal(pg[i:min(i+0x380, len(pg))], plain[:min(0x380, len(pg)-i)]) {
					t.Errorf("copy on PFN %#x differs from the plain block", pfn)
				}
				found++
			}
		}
	}
	if found != 1 {
		t.Errorf("found %d plain KDBG copies in physical memory, want 1", found)
	}
	// Builder state is unchanged by writing: a second file is identical.
	if again := build(t, b); !bytes.Equal(again, d.data) {
		t.Error("writing twice gave different bytes")
	}
}

// TestRDMPTerminator fills the range list up to the last entry of its
// page: a zero entry must still end it before FirstPageOffset, since
// readers take MetadataSize/16 entries, one more than fit.
func TestRDMPTerminator(t *testing.T) {
	const full = (0x1000 - 0x30) / 16 // ranges that exactly fill the page
	gen := func(pairs int) *dump {
		b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeRDMPKernel, Seed: 21})
		for i := range pairs { // each absent page splits the stored pages once more
			b.MapAbsent(0xFFFFE00000000000 + uint64(i)*0x2000)
			b.Map(0xFFFFE00000001000+uint64(i)*0x2000, []byte{1})
		}
		return parse(t, build(t, b))
	}
	base := len(gen(0).rdmpRanges)
	hit := false
	for pairs := full - base - 2; pairs <= full-base+2; pairs++ {
		d := gen(pairs)
		end := 0x2030 + 16*uint64(len(d.rdmpRanges))
		if end+16 > d.firstPage {
			t.Errorf("%d ranges end at %#x: no zero entry before FirstPageOffset %#x", len(d.rdmpRanges), end, d.firstPage)
		}
		hit = hit || len(d.rdmpRanges) == full
	}
	if !hit {
		t.Errorf("no case had exactly %d ranges; the boundary was not tested", full)
	}
}
