package dumpfile_test

import (
	"errors"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// Every kind of leaf the builder makes is reported once, at its address
// and with its physical page, on every paging mode.
func TestMappings(t *testing.T) {
	for _, c := range archCases {
		t.Run(c.arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 3})
			page, trans, out, absent := c.base, c.base+0x5000, c.base+0x9000, c.base+0x20000
			b.Map(page, []byte("present"))
			b.MapTransition(trans, []byte("transition"))
			b.MapPagedOut(out)
			b.MapAbsent(absent)
			large := c.base + 0x40000000 - c.base%0x40000000 + c.larges[0]
			b.MapLarge(large, c.larges[0])
			b.Write(large+0x3000, []byte("large"))
			f := openBuilder(t, b, "walk.dmp")
			got := map[uint64]dumpfile.Mapping{}
			missing, err := f.Mappings(func(m dumpfile.Mapping) bool {
				if _, dup := got[m.VA]; dup {
					t.Errorf("%#x reported twice", m.VA)
				}
				got[m.VA] = m
				return true
			})
			if err != nil || missing != 0 {
				t.Fatalf("Mappings: missing tables %d, err %v", missing, err)
			}
			want := map[uint64]dumpfile.MapState{page: dumpfile.MapPresent, trans: dumpfile.MapTransition,
				out: dumpfile.MapPagedOut, absent: dumpfile.MapAbsent, large: dumpfile.MapAbsent, large + 0x3000: dumpfile.MapPresent}
			for va, st := range want {
				m, ok := got[va]
				if !ok {
					t.Errorf("%#x not reported", va)
					continue
				}
				if m.State != st {
					t.Errorf("%#x: state %v, want %v", va, m.State, st)
				}
				if pa, ok := b.PhysAddr(va); ok && m.PA != pa&^0xFFF {
					t.Errorf("%#x: PA %#x, want %#x", va, m.PA, pa)
				}
			}
			if m := got[large+c.larges[0]-dumpfile.PageSize]; m.Size != dumpfile.PageSize {
				t.Errorf("last 4 KiB of the large page not reported: %+v", m)
			}
			if m := got[page]; m.Size != dumpfile.PageSize {
				t.Errorf("page size %#x", m.Size)
			}
			// Stopping early is honoured.
			n := 0
			f.Mappings(func(dumpfile.Mapping) bool { n++; return n < 2 })
			if n != 2 {
				t.Errorf("walk went on after fn returned false: %d calls", n)
			}
		})
	}
}

// A page walk over a dump held in memory leaves that memory as it was.
func TestPagesKeepsCallerMemory(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, Seed: 4, StoredPages: 8192})
	f := openBuilder(t, b, "mem.dmp")
	if _, err := f.Pages(func(uint64, []byte) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Translate(b.KernBase()); err != nil {
		t.Fatalf("after a page walk the kernel no longer translates: %v", err)
	}
}

// ReadPages gives the same pages as Pages, from a file.
func TestReadPagesMatchesPages(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, Seed: 6, StoredPages: 5000})
	b.Map(0xFFFFD00000000000, []byte("some data"))
	path := t.TempDir() + "/p.dmp"
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum := func(walk func(func(uint64, []byte) bool) (uint64, error)) (n, s uint64) {
		if _, err := walk(func(pfn uint64, p []byte) bool {
			n++
			for i, c := range p {
				s += uint64(c) * (pfn + uint64(i))
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	n1, s1 := sum(f.Pages)
	n2, s2 := sum(f.ReadPages)
	if n1 != n2 || s1 != s2 || n1 != f.PresentPages() {
		t.Errorf("Pages %d pages (sum %d), ReadPages %d (sum %d), present %d", n1, s1, n2, s2, f.PresentPages())
	}
	// ReadPage gives each page alone, the same bytes; an absent one is named.
	buf := make([]byte, dumpfile.PageSize)
	n3, s3 := uint64(0), uint64(0)
	var last uint64
	if _, err := f.Pages(func(pfn uint64, p []byte) bool {
		if err := f.ReadPage(pfn, buf); err != nil {
			t.Fatalf("ReadPage(%#x): %v", pfn, err)
		}
		n3++
		for i, c := range buf {
			s3 += uint64(c) * (pfn + uint64(i))
		}
		last = pfn
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n3 != n1 || s3 != s1 {
		t.Errorf("ReadPage: %d pages (sum %d), Pages %d (sum %d)", n3, s3, n1, s1)
	}
	if err := f.ReadPage(last+1<<30, buf); !errors.Is(err, dumpfile.ErrPageAbsent) {
		t.Errorf("ReadPage of an absent page: %v", err)
	}
}
