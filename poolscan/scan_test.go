package poolscan_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

func open(t testing.TB, b *dumptest.Builder) *dumpfile.File {
	t.Helper()
	raw, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.NewFile("scan.dmp", dumpfile.Bytes(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func scan(t testing.TB, f *dumpfile.File, tags ...string) *poolscan.Result {
	t.Helper()
	m, err := poolscan.NewMatcher(tags...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := poolscan.Scan(context.Background(), f, poolscan.Options{Tags: m})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// randomPage is a page of noise with fake headers of tag "Leak" whose
// sizes lead to bytes that cannot be a header (first byte 0xFF), so no
// neighbour fits them.
func randomPage(rng *rand.Rand, is64 bool, fakes int) []byte {
	p := make([]byte, dumptest.PageSize)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	unit := 8
	if is64 {
		unit = 16
	}
	for range fakes {
		off := rng.IntN(dumptest.PageSize/unit-40) * unit
		k := 2 + rng.IntN(8)
		if is64 {
			copy(p[off:], []byte{0, 0, byte(k), 2})
		} else {
			binary.LittleEndian.PutUint16(p[off:], 0)
			binary.LittleEndian.PutUint16(p[off+2:], uint16(k)|2<<9)
		}
		copy(p[off+4:], "Leak")
		for _, n := range []int{off + k*unit, off + k*unit + unit} {
			if n < len(p) {
				p[n] = 0xFF
			}
		}
	}
	return p
}

type want struct {
	addr  uint64
	size  uint64
	free  bool
	paged bool
}

// walkAll lists every block r found, as Walk gives them.
func walkAll(t testing.TB, f *dumpfile.File, r *poolscan.Result) []poolscan.Block {
	t.Helper()
	var out []poolscan.Block
	if err := r.Walk(context.Background(), f, func(b poolscan.Block) bool {
		out = append(out, b)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func gotBlocks(t testing.TB, f *dumpfile.File, r *poolscan.Result, tag string) []want {
	var out []want
	for _, b := range walkAll(t, f, r) {
		if b.Tag == pooltag.MustTag(tag) && b.Kind != poolscan.KindBig {
			out = append(out, want{b.Addr, b.Size, b.Free, b.Paged})
		}
	}
	return out
}

func placed(ps []dumptest.PlacedBlock, tag string) []want {
	var out []want
	for _, p := range ps {
		if p.Tag == tag {
			out = append(out, want{p.Header, uint64(p.Size), p.Free, p.Paged})
		}
	}
	slices.SortFunc(out, func(a, b want) int { return int(int64(a.addr>>1) - int64(b.addr>>1)) })
	return out
}

func TestClassicPages(t *testing.T) {
	cases := []struct {
		arch  dumpfile.Arch
		build uint32
	}{
		{dumpfile.ArchX86, 2600},
		{dumpfile.ArchX86PAE, 3790},
		{dumpfile.ArchX86PAE, 7601},
		{dumpfile.ArchAMD64, 3790},
		{dumpfile.ArchAMD64, 7601},
		{dumpfile.ArchAMD64, 17134},
	}
	for _, c := range cases {
		t.Run(c.arch.String()+"/"+itoa(c.build), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 5})
			rng := rand.New(rand.NewPCG(1, 2))
			protected := c.build <= 7601
			var all []dumptest.PlacedBlock
			for i := range 6 {
				va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
				blocks := []dumptest.PoolBlock{
					{Tag: "Leak", Size: 0x40 + 16*i, Data: []byte("\\Device\\HarddiskVolume2")},
					{Tag: "Othr", Size: 0x100, Paged: i%2 == 0},
					{Tag: "Leak", Size: 0x30, Paged: true, Protected: protected && i == 1},
					{Tag: "Leak", Size: 0x50, Free: true},
				}
				all = append(all, b.ClassicPoolPage(va, blocks)...)
			}
			// Noise, fakes and a chain that breaks on its third header.
			for range 4 {
				b.Map(b.Alloc(dumptest.PageSize, dumptest.PageSize), randomPage(rng, c.arch.Is64(), 6))
			}
			broken := b.Alloc(dumptest.PageSize, dumptest.PageSize)
			b.ClassicPoolPage(broken, []dumptest.PoolBlock{{Tag: "Leak", Size: 0x40}, {Tag: "Leak", Size: 0x40}, {Tag: "Leak", Size: 0x40}})
			b.Write(broken+0x80, []byte{0x7, 0x1}) // PreviousSize no longer 0x40
			// A page of pool the dump does not hold.
			b.MapAbsent(b.Alloc(dumptest.PageSize, dumptest.PageSize) + 2*dumptest.PageSize)
			f := open(t, b)
			r := scan(t, f, "Leak")
			got, exp := gotBlocks(t, f, r, "Leak"), placed(all, "Leak")
			if !slices.Equal(got, exp) {
				t.Fatalf("found %d Leak blocks:\n%v\nplanted %d:\n%v", len(got), got, len(exp), exp)
			}
			cnt := r.Count(pooltag.MustTag("Leak"))
			if cnt.NonPaged != 6 || cnt.Paged != 6 || cnt.Free != 6 || cnt.Unmapped != 0 {
				t.Errorf("counts %+v", cnt)
			}
			if r.Pages.PoolPages != 6 || r.Pages.Broken != 1 {
				t.Errorf("pool pages %d (want 6), broken %d (want 1)", r.Pages.PoolPages, r.Pages.Broken)
			}
			if r.Pages.Absent == 0 {
				t.Errorf("the absent pool page is not counted: %+v", r.Pages)
			}
			for _, blk := range walkAll(t, f, r) {
				if blk.State != poolscan.StatePresent {
					t.Errorf("%v", blk)
				}
			}
		})
	}
}

func itoa(n uint32) string { return strconv.Itoa(int(n)) }

func TestSegmentHeapPages(t *testing.T) {
	for _, arch := range []dumpfile.Arch{dumpfile.ArchAMD64, dumpfile.ArchX86PAE} {
		t.Run(arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: arch, Build: 19041, Seed: 9})
			rng := rand.New(rand.NewPCG(3, 4))
			var all []dumptest.PlacedBlock
			for i := range 4 {
				lfh := make([]dumptest.PoolBlock, 20)
				for j := range lfh {
					tag := "Othr"
					if j%3 == 0 {
						tag = "Leak"
					}
					lfh[j] = dumptest.PoolBlock{Tag: tag, Size: 0x60, Data: []byte{byte(j)}, Free: j == 6}
				}
				all = append(all, b.SegmentHeapPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), dumptest.SegmentLFH, 0x80+16*i, lfh)...)
				vs := []dumptest.PoolBlock{
					{Tag: "Leak", Size: 0x120, Paged: true, Data: []byte("REGISTRY\\MACHINE")},
					{Tag: "Abcd", Size: 0x200},
					{Tag: "Leak", Size: 0x50},
					{Tag: "Efgh", Size: 0x90},
				}
				all = append(all, b.SegmentHeapPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), dumptest.SegmentVS, 0x40, vs)...)
			}
			for range 4 {
				b.Map(b.Alloc(dumptest.PageSize, dumptest.PageSize), randomPage(rng, arch.Is64(), 8))
			}
			// A lone header fits no neighbour: not counted as a block.
			lone := b.SegmentHeapPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), dumptest.SegmentVS, 0x200, []dumptest.PoolBlock{{Tag: "Leak", Size: 0x40}})
			f := open(t, b)
			r := scan(t, f, "Leak")
			got, exp := gotBlocks(t, f, r, "Leak"), placed(all, "Leak")
			for i := range exp {
				exp[i].free = false // the segment heap cannot tell
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("found %d Leak blocks:\n%v\nplanted %d:\n%v", len(got), got, len(exp), exp)
			}
			c := r.Count(pooltag.MustTag("Leak"))
			if c.Unconfirmed < 1 || c.NonPaged+c.Paged != int64(len(exp)) {
				t.Errorf("counts %+v (lone header at %#x)", c, lone[0].Header)
			}
		})
	}
}

func TestBigPageTable(t *testing.T) {
	cases := []struct {
		arch  dumpfile.Arch
		build uint32
	}{
		{dumpfile.ArchX86, 2600}, {dumpfile.ArchX86PAE, 3790}, {dumpfile.ArchAMD64, 3790},
		{dumpfile.ArchX86PAE, 7601}, {dumpfile.ArchAMD64, 7601}, {dumpfile.ArchX86PAE, 10586},
		{dumpfile.ArchAMD64, 19041}, {dumpfile.ArchAMD64, 22000},
	}
	for _, c := range cases {
		t.Run(c.arch.String()+"/"+itoa(c.build), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 11})
			var es []dumptest.BigPage
			for i := range 5 {
				es = append(es, b.BigPoolAlloc("BigL", uint64(0x1000+0x800*i), i%2 == 1, []byte("big block")))
			}
			es = append(es, b.BigPoolAlloc("Othr", 0x3000, false, nil))
			gone := b.BigPoolAlloc("BigL", 0x2000, false, nil)
			gone.Free = true
			es = append(es, gone)
			absent := b.Alloc(dumptest.PageSize, dumptest.PageSize) + 4*dumptest.PageSize
			b.MapAbsent(absent)
			es = append(es, dumptest.BigPage{VA: absent, Tag: "BigL", Bytes: 0x1000})
			table := b.BigPageTable(256, es)
			f := open(t, b)
			r := scan(t, f, "BigL")
			if r.Big.Addr != table || r.Big.Size != 256 || r.Big.Used != 7 || r.Big.Freed != 256-7 {
				t.Fatalf("big table %+v, want at %#x", r.Big, table)
			}
			if cnt := r.Count(pooltag.MustTag("BigL")); cnt.Big != 6 || cnt.BigAbsent != 1 {
				t.Errorf("counts %+v", cnt)
			}
			var n int
			for _, blk := range walkAll(t, f, r) {
				if blk.Kind != poolscan.KindBig {
					continue
				}
				n++
				if blk.Addr == absent {
					if blk.State != poolscan.StateAbsent {
						t.Errorf("absent allocation: %v", blk.State)
					}
					continue
				}
				var e *dumptest.BigPage
				for i := range es {
					if es[i].VA == blk.Addr && !es[i].Free {
						e = &es[i]
					}
				}
				if e == nil {
					t.Errorf("unplanted %+v", blk)
					continue
				}
				wantSize := e.Bytes
				if c.build < 6000 {
					wantSize = (e.Bytes + 0xFFF) &^ 0xFFF
				}
				if blk.Size != wantSize || blk.State != poolscan.StatePresent || (c.build >= 6000 && blk.Paged != e.Paged) {
					t.Errorf("%+v, planted %+v", blk, *e)
				}
			}
			if n != 6 {
				t.Errorf("%d big blocks", n)
			}
		})
	}
}

func TestScanCancel(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, Seed: 1, StoredPages: 4096})
	f := open(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	m, _ := poolscan.NewMatcher("Leak")
	calls := 0
	_, err := poolscan.Scan(ctx, f, poolscan.Options{Tags: m, Progress: func(done, total uint64) {
		calls++
		if total != f.PresentPages() || done > total {
			t.Errorf("progress %d of %d", done, total)
		}
		cancel()
	}})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err %v after %d progress calls", err, calls)
	}
}
