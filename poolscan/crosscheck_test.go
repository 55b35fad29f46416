package poolscan_test

import (
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

// leakDump plants a tracker claiming claimed outstanding 'Leak'
// allocations of 64 bytes, classic pages holding planted of them, and
// absent pool pages.
func leakDump(t *testing.T, claimed, planted uint64, absentPages int) (*poolscan.Result, *pool.Result) {
	t.Helper()
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 2, Seed: 21}
	b := dumptest.New(cfg)
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{
		pooltest.Leak("Leak", false, claimed, 64, 100, 2),
		pooltest.Leak("Othr", true, 10, 256, 0, 2),
	}}); err != nil {
		t.Fatal(err)
	}
	for left := planted; left > 0; {
		n := min(left, 50)
		blocks := make([]dumptest.PoolBlock, n)
		for i := range blocks {
			blocks[i] = dumptest.PoolBlock{Tag: "Leak", Size: 64}
		}
		b.ClassicPoolPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), blocks)
		left -= n
	}
	// The rest of the kernel's memory: 2 MiB mapped and in the dump.
	b.Map(0xFFFFC90000000000, make([]byte, 2<<20))
	for i := range absentPages {
		b.MapAbsent(0xFFFFC80000000000 + uint64(i)*dumptest.PageSize)
	}
	f := open(t, b)
	tr, err := pool.Analyze(f)
	if err != nil {
		t.Fatal(err)
	}
	return scan(t, f, "Leak", "Othr"), tr
}

func TestCrossCheck(t *testing.T) {
	cases := []struct {
		name             string
		claimed, planted uint64
		absent           int
		want             poolscan.Agreement
		text             string
	}{
		{"agree", 500, 500, 0, poolscan.Consistent, "tracker 500, found 500 in present pages: consistent"},
		{"within noise", 500, 495, 0, poolscan.Consistent, "consistent"},
		{"rest in absent pages", 500, 470, 1, poolscan.Consistent, "the other 30 fit in the 1 pages"},
		{"most unseen", 500, 100, 10, poolscan.Unconfirmed, "(20%); the other 400 could lie in the 10 pages"},
		{"damaged table", 10000, 300, 0, poolscan.Suspect, "the scan finds 3% of what the tracker claims"},
		{"tracker undercounts", 50, 300, 0, poolscan.Suspect, "250 more blocks in use than the tracker counts"},
		{"pool not in the dump", 100000, 50, 0, poolscan.Unconfirmed, "less than half the 6.1 MiB the tracker counts in use"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, tr := leakDump(t, c.claimed, c.planted, c.absent)
			checks := poolscan.CrossCheck(r, tr.Usages, 0)
			var k *poolscan.Check
			for i := range checks {
				if checks[i].Tag == pooltag.MustTag("Leak") {
					k = &checks[i]
				}
			}
			if k == nil {
				t.Fatalf("no check for Leak in %+v", checks)
			}
			if k.Agreement != c.want || !strings.Contains(k.Text, c.text) || k.Tracker != int64(c.claimed) || k.Found != int64(c.planted) {
				t.Errorf("%v: %q (tracker %d, found %d)", k.Agreement, k.Text, k.Tracker, k.Found)
			}
		})
	}
}

// segmentLeak plants a 2004 tracker claiming claimed 'Leak' allocations
// and LFH subsegments of 64-byte Leak blocks, busy of them in use and
// free freed (one in four of the first 4*free; with or without their
// subsegment headers).
func segmentLeak(t *testing.T, claimed, busy, free int, headers bool) poolscan.Check {
	t.Helper()
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 2, Seed: 22}
	b := dumptest.New(cfg)
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{pooltest.Leak("Leak", false, uint64(claimed), 64, 100, 2)}}); err != nil {
		t.Fatal(err)
	}
	// 0x40-byte blocks from 0x80 on: 62 in a page, none crossing one.
	var blocks []dumptest.PoolBlock
	for i := range busy + free {
		blocks = append(blocks, dumptest.PoolBlock{Tag: "Leak", Size: 64, Free: i < 4*free && i%4 == 1})
	}
	for len(blocks) > 0 {
		n := min(len(blocks), 62)
		b.LFHSubsegment(dumptest.LFHSubsegment{VA: b.Alloc(dumptest.PageSize, dumptest.PageSize), Pages: 1, BlockSize: 64, First: 0x80, Blocks: blocks[:n], NoHeader: !headers})
		blocks = blocks[n:]
	}
	b.Map(0xFFFFC90000000000, make([]byte, 2<<20))
	f := open(t, b)
	tr, err := pool.Analyze(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range poolscan.CrossCheck(scan(t, f, "Leak"), tr.Usages, 0) {
		if k.Tag == pooltag.MustTag("Leak") {
			return k
		}
	}
	t.Fatal("no check for Leak")
	return poolscan.Check{}
}

// With the LFH bitmaps read, freed blocks are not counted and a scan that
// finds more blocks in use than the tracker makes it suspect, as on
// classic pool; without them the excess is allowed, and the check says
// why.
func TestCrossCheckSegmentHeap(t *testing.T) {
	cases := []struct {
		name                   string
		claimed, busy, free    int
		headers                bool
		want                   poolscan.Agreement
		text, not              string
		found, unread, freeCnt int64
	}{
		{"bitmaps read", 300, 300, 80, true, poolscan.Consistent, "tracker 300, found 300 in present pages: consistent", "may count", 300, 0, 80},
		{"bitmaps read, more in use", 200, 300, 80, true, poolscan.Suspect, "100 more blocks in use than the tracker counts", "may count", 300, 0, 80},
		{"no headers", 300, 300, 80, false, poolscan.Consistent, "(380 of the blocks found are segment-heap blocks whose state the scan cannot read", "", 380, 380, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := segmentLeak(t, c.claimed, c.busy, c.free, c.headers)
			if k.Agreement != c.want || !strings.Contains(k.Text, c.text) || c.not != "" && strings.Contains(k.Text, c.not) || k.Found != c.found || k.Unread != c.unread {
				t.Errorf("%v: %q (found %d, unread %d)", k.Agreement, k.Text, k.Found, k.Unread)
			}
			if !c.headers && !strings.Contains(k.Text, "subsegment bitmaps not read: no LFH subsegment header") {
				t.Errorf("the reason is not named: %q", k.Text)
			}
		})
	}
}
