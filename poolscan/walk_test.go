package poolscan_test

import (
	"context"
	"errors"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

// A scan keeps counts and a bounded sample, not its blocks: 60 pages of
// 'Leak' blocks (1,200 in use, two sizes) scanned with samples of 8, 64
// and 2,048 blocks. Counts, bytes and the size histogram are exact
// whatever the sample; ReadContents reads between half the sample and the
// sample (all 1,200 when it fits), spread over the pages; Walk lists every
// block once, in address order, and stops when asked or when ctx is done.
func TestSampleAndWalk(t *testing.T) {
	for _, build := range []uint32{7601, 19041} {
		b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, Seed: 9})
		for i := range 60 {
			va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
			size := 0x60
			if i%3 == 0 {
				size = 0x80
			}
			blocks := make([]dumptest.PoolBlock, 20)
			for j := range blocks {
				blocks[j] = dumptest.PoolBlock{Tag: "Leak", Size: size, Data: []byte("\\Device\\HarddiskVolume2\\x")}
			}
			if build >= 17763 {
				b.SegmentHeapPage(va, dumptest.SegmentLFH, 0x40, blocks)
			} else {
				b.ClassicPoolPage(va, append(blocks, dumptest.PoolBlock{Tag: "Othr", Size: 0x40}))
			}
		}
		f := open(t, b)
		m, _ := poolscan.NewMatcher("Leak")
		leak := pooltag.MustTag("Leak")
		for _, sample := range []int{8, 64, 2048} {
			r, err := poolscan.Scan(context.Background(), f, poolscan.Options{Tags: m, Sample: sample})
			if err != nil {
				t.Fatal(err)
			}
			c := r.Count(leak)
			if c.NonPaged != 1200 || c.Bytes != 400*0x80+800*0x60 {
				t.Errorf("build %d sample %d: %+v", build, sample, c)
			}
			ct := poolscan.ReadContents(f, r, leak, poolscan.ContentOptions{})
			if ct.Blocks != 1200 || len(ct.Sizes) != 2 || ct.Sizes[0] != (poolscan.SizeCount{Size: 0x60, Blocks: 800}) {
				t.Errorf("build %d sample %d: contents of %d blocks, sizes %v", build, sample, ct.Blocks, ct.Sizes)
			}
			lo, hi := sample/2, sample
			if sample >= 1200 {
				lo, hi = 1200, 1200
			}
			if ct.Read < lo || ct.Read > hi || len(ct.Strings) == 0 || ct.Strings[0].Share != 1 {
				t.Errorf("build %d sample %d: read %d blocks (want %d to %d), strings %v", build, sample, ct.Read, lo, hi, ct.Strings)
			}
			// Spread: the samples shown come from the lowest addresses, and
			// the blocks read reach past the first pages.
			if len(ct.Samples) != 3 || ct.Samples[0].Addr == 0 || ct.Samples[0].Addr > ct.Samples[1].Addr {
				t.Errorf("build %d sample %d: hex samples %+v", build, sample, ct.Samples)
			}
			var got []poolscan.Block
			if err := r.Walk(context.Background(), f, func(blk poolscan.Block) bool {
				got = append(got, blk)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			for i, blk := range got {
				if blk.Tag != leak || blk.State != poolscan.StatePresent || (i > 0 && blk.Addr <= got[i-1].Addr) {
					t.Fatalf("build %d: block %d %+v after %+v", build, i, blk, got[max(i-1, 0)])
				}
			}
			if len(got) != 1200 {
				t.Errorf("build %d: Walk listed %d blocks", build, len(got))
			}
		}
		r, err := poolscan.Scan(context.Background(), f, poolscan.Options{Tags: m, Sample: -1})
		if err != nil {
			t.Fatal(err)
		}
		if ct := poolscan.ReadContents(f, r, leak, poolscan.ContentOptions{}); ct.Read != 0 || ct.Blocks != 1200 {
			t.Errorf("build %d, no sample: read %d of %d", build, ct.Read, ct.Blocks)
		}
		n := 0
		if err := r.Walk(context.Background(), f, func(poolscan.Block) bool { n++; return n < 5 }); err != nil || n != 5 {
			t.Errorf("build %d: Walk went on after fn said stop: %d blocks, %v", build, n, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Walk(ctx, f, func(poolscan.Block) bool { return true }); !errors.Is(err, context.Canceled) {
			t.Errorf("build %d: Walk after cancel: %v", build, err)
		}
	}
}
