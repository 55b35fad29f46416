package poolscan

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pooltag"
)

var update = flag.Bool("update", false, "rewrite testdata/scan.golden from the scans of TestScanGolden")

// goldenCase is one dump of TestScanGolden and what is asked of it.
type goldenCase struct {
	name   string
	build  func() *dumptest.Builder
	tags   []string
	sample int
}

// goldenPool fills b with pool pages of many shapes: LFH runs of one tag
// and of several, VS chunks, paged, session, protected and freed blocks,
// transition pages, noise with fake headers, and (classic) broken chains.
// It returns the addresses of the pool and noise pages.
func goldenPool(b *dumptest.Builder, rng *rand.Rand) (pages []uint64) {
	c := b.Config()
	is64 := c.Arch.Is64()
	segment := c.Build >= 17763
	var trans [][]byte // pages to map again in transition, at the end
	tags := []string{"Leak", "Othr", "File", "Abcd", "Lea", "Ob"}
	for i := range 48 {
		va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
		pages = append(pages, va)
		var blocks []dumptest.PoolBlock
		start := 0x10 * rng.IntN(64)
		size := 0x20 + 0x10*rng.IntN(12)
		for n := start; ; n += size + 0x10 {
			tag := tags[rng.IntN(len(tags))]
			if i%4 == 0 {
				tag = "Leak" // a page of one tag
			} else if !segment || i%4 == 1 {
				size = 0x20 + 0x10*rng.IntN(12)
			}
			if n+size+0x10 > 0xF80 {
				break
			}
			blocks = append(blocks, dumptest.PoolBlock{Tag: tag, Size: size, Paged: rng.IntN(3) == 0, Session: rng.IntN(7) == 0,
				Protected: c.Build <= 7601 && rng.IntN(5) == 0, Free: rng.IntN(6) == 0, Data: []byte{byte(i), byte(n)}})
		}
		switch {
		case !segment:
			b.ClassicPoolPage(va, blocks)
		case i%4 == 1:
			b.SegmentHeapPage(va, dumptest.SegmentVS, start, blocks)
		default:
			b.SegmentHeapPage(va, dumptest.SegmentLFH, start, blocks)
		}
		if i%8 == 7 {
			trans = append(trans, b.Read(va, dumptest.PageSize))
		}
	}
	for range 6 {
		p := make([]byte, dumptest.PageSize)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		unit := 8
		if is64 {
			unit = 16
		}
		for range 10 {
			off := rng.IntN(dumptest.PageSize/unit-40) * unit
			k := 2 + rng.IntN(8)
			if is64 {
				copy(p[off:], []byte{0, 0, byte(k), 2})
			} else {
				copy(p[off:], []byte{0, 0, byte(k), 4})
			}
			copy(p[off+4:], tags[rng.IntN(len(tags))])
		}
		va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
		b.Map(va, p)
		pages = append(pages, va)
	}
	if !segment {
		broken := b.Alloc(dumptest.PageSize, dumptest.PageSize)
		b.ClassicPoolPage(broken, []dumptest.PoolBlock{{Tag: "Leak", Size: 0x40}, {Tag: "Leak", Size: 0x40}, {Tag: "Leak", Size: 0x40}})
		b.Write(broken+0x80, []byte{0x7, 0x1})
	}
	var es []dumptest.BigPage
	for i := range 5 {
		es = append(es, b.BigPoolAlloc("Leak", uint64(0x1000+0x800*i), i%2 == 1, []byte("big block")))
	}
	b.BigPageTable(64, es)
	// The transition copies past everything allocated: nothing is
	// allocated after them.
	at := b.Alloc(dumptest.PageSize, dumptest.PageSize) + 8*dumptest.PageSize
	for i, p := range trans {
		b.MapTransition(at+uint64(i)*dumptest.PageSize, p)
	}
	return pages
}

func goldenCases() []goldenCase {
	var cs []goldenCase
	for _, c := range []struct {
		arch  dumpfile.Arch
		build uint32
	}{
		{dumpfile.ArchAMD64, 19041}, {dumpfile.ArchX86PAE, 19041}, {dumpfile.ArchAMD64, 17763},
		{dumpfile.ArchAMD64, 7601}, {dumpfile.ArchX86, 2600}, {dumpfile.ArchX86PAE, 7601},
	} {
		build := func() *dumptest.Builder {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 21, StoredPages: 600})
			goldenPool(b, rand.New(rand.NewPCG(uint64(c.build), 7)))
			return b
		}
		name := c.arch.String() + "/" + fmt.Sprint(c.build)
		cs = append(cs,
			goldenCase{name + "/Leak", build, []string{"Leak"}, 0},
			goldenCase{name + "/patterns", build, []string{"Le*", "Ob", "F?le", "Abcd"}, 8},
			goldenCase{name + "/all", build, []string{"*"}, -1})
	}
	// Pool pages no page table maps: every block is unmapped.
	cs = append(cs, goldenCase{"amd64/19041/capture", func() *dumptest.Builder {
		b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, Seed: 3})
		pages := map[uint64][]byte{}
		for pfn := uint64(0x100); pfn < 0x100+48; pfn++ {
			va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
			b.SegmentHeapPage(va, dumptest.SegmentLFH, 0x40, []dumptest.PoolBlock{{Tag: "Leak", Size: 0x60}, {Tag: "Leak", Size: 0x60}, {Tag: "Leak", Size: 0x60}})
			pages[pfn] = b.Read(va, dumptest.PageSize)
		}
		for i, va := range goldenPool(b, rand.New(rand.NewPCG(5, 6))) {
			pages[0x200+uint64(i)] = b.Read(va, dumptest.PageSize)
		}
		cb, err := dumptest.NewCapture(dumptest.Capture{Config: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 1, Type: dumpfile.TypeBitmapFull},
			DTB: 0x1000, KDBG: 0xfffff80000001000, Pages: pages})
		if err != nil {
			panic(err)
		}
		return cb
	}, []string{"Leak"}, 4})
	return cs
}

// describe writes out everything a scan found: its counts, pages, notes,
// every tag's size histogram and sample, and the blocks Walk lists. Long
// lists are given as their length and SHA-256, to keep the file small.
func describe(t testing.TB, f *dumpfile.File, r *Result) string {
	var s strings.Builder
	fmt.Fprintf(&s, "mode %s\npages %+v\nbig %+v\n", r.Mode, r.Pages, r.Big)
	for _, n := range r.Notes {
		fmt.Fprintf(&s, "note %s\n", n)
	}
	tags := make([]pooltag.Tag, 0, len(r.Tags))
	for tg := range r.Tags {
		tags = append(tags, tg)
	}
	slices.Sort(tags)
	for _, tg := range tags {
		fmt.Fprintf(&s, "tag %+v\n", *r.Tags[tg])
		if k := r.keptOf(tg); k != nil {
			fmt.Fprintf(&s, "  sizes %v seen %d every %d\n", k.sizeCounts(), k.seen, k.every)
			var l lines
			for _, b := range k.sample {
				l.add(fmt.Sprintf("  sample %+v", b))
			}
			l.write(&s, "  samples", 8)
		}
	}
	var l lines
	if err := r.Walk(context.Background(), f, func(b Block) bool {
		l.add(fmt.Sprintf("block %+v", b))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	l.write(&s, "blocks", 0)
	return s.String()
}

// lines is a list written out in full when short, else by its SHA-256.
type lines []string

func (l *lines) add(s string) { *l = append(*l, s) }

func (l lines) write(w io.Writer, what string, most int) {
	if len(l) <= most {
		for _, s := range l {
			fmt.Fprintln(w, s)
		}
		return
	}
	h := sha256.Sum256([]byte(strings.Join(l, "\n")))
	fmt.Fprintf(w, "%s %d sha256 %x\n", what, len(l), h)
}

// TestScanGolden scans dumps of every pool layout and compares all the
// scan gives (counts, sizes, samples, notes, the blocks Walk lists) with
// testdata/scan.golden, so that a change made for speed is seen to change
// no result. go test -run TestScanGolden -update rewrites the file after
// a change meant to change results.
func TestScanGolden(t *testing.T) {
	var all strings.Builder
	for _, c := range goldenCases() {
		raw, err := c.build().Bytes()
		if err != nil {
			t.Fatal(err)
		}
		f, err := dumpfile.NewFile("golden.dmp", dumpfile.Bytes(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMatcher(c.tags...)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Scan(context.Background(), f, Options{Tags: m, Sample: c.sample})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&all, "== %s %q sample %d\n%s", c.name, c.tags, c.sample, describe(t, f, r))
	}
	path := filepath.Join("testdata", "scan.golden")
	if *update {
		if err := os.WriteFile(path, []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := all.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("scan results differ from %s at line %d:\ngot  %s\nwant %s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("scan results differ from %s: %d lines, want %d", path, len(gl), len(wl))
	}
}
