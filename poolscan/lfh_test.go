package poolscan_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pooltag"
)

// lfhSpec is one subsegment of an LFH test dump: its pages and block
// size, and which of its slots hold a Leak block (the others Othr) and
// which are free.
type lfhSpec struct {
	pages, size  int
	blocks       int // slots filled from the first (0: all)
	leakEvery    int // every n-th block is Leak
	freeEvery    int // every n-th block is freed (0: none)
	wrong, noHdr bool
}

// lfhDump writes the subsegments and returns the dump and every block
// the scan can see: those inside one page (blocks that cross a page are
// not found on either page).
func lfhDump(t *testing.T, arch dumpfile.Arch, build uint32, specs []lfhSpec, extra func(b *dumptest.Builder)) (*dumpfile.File, *dumptest.Builder, []dumptest.PlacedBlock, []uint64) {
	t.Helper()
	b := dumptest.New(dumptest.Config{Arch: arch, Build: build, Seed: 31})
	var seen []dumptest.PlacedBlock
	var vas []uint64
	for _, s := range specs {
		va := b.Alloc(s.pages*dumptest.PageSize, dumptest.PageSize)
		vas = append(vas, va)
		n := s.blocks
		if n == 0 {
			n = (s.pages*dumptest.PageSize - 0x400) / s.size // fewer than fit: the builder's first block is early
		}
		blocks := make([]dumptest.PoolBlock, n)
		for i := range blocks {
			tag := "Othr"
			if i%s.leakEvery == 0 {
				tag = "Leak"
			}
			blocks[i] = dumptest.PoolBlock{Tag: tag, Size: s.size, Paged: i%5 == 1, Free: s.freeEvery > 0 && i%s.freeEvery == 2, Data: []byte{byte(i)}}
		}
		for _, p := range b.LFHSubsegment(dumptest.LFHSubsegment{VA: va, Pages: s.pages, BlockSize: s.size, Blocks: blocks, WrongKey: s.wrong, NoHeader: s.noHdr}) {
			if p.Header>>12 == (p.Header+uint64(p.Size)-1)>>12 {
				seen = append(seen, p)
			}
		}
	}
	if extra != nil {
		extra(b)
	}
	return open(t, b), b, seen, vas
}

// leakCounts is what the planted Leak blocks in seen should count as.
func leakCounts(seen []dumptest.PlacedBlock, decided func(p dumptest.PlacedBlock) bool) (inUse, free, unread int64) {
	for _, p := range seen {
		if p.Tag != "Leak" {
			continue
		}
		switch {
		case !decided(p):
			inUse++
			unread++
		case p.Free:
			free++
		default:
			inUse++
		}
	}
	return
}

var lfhSpecs = []lfhSpec{
	{pages: 1, size: 0x40, leakEvery: 2, freeEvery: 3},
	{pages: 2, size: 0x60, leakEvery: 3, freeEvery: 4},
	{pages: 4, size: 0x100, leakEvery: 1, freeEvery: 5},
	{pages: 1, size: 0x30, leakEvery: 4, blocks: 40}, // part never allocated
	{pages: 8, size: 0x50, leakEvery: 2, freeEvery: 7},
}

// The bitmaps decide every LFH block the scan sees: the key is solved
// from the blocks (and is the builder's), free blocks leave the counts
// in use for Free, Walk marks them, and no block stays unread.
func TestLFHBitmaps(t *testing.T) {
	for _, c := range []struct {
		arch  dumpfile.Arch
		build uint32
	}{{dumpfile.ArchAMD64, 19041}, {dumpfile.ArchAMD64, 17763}, {dumpfile.ArchX86PAE, 19041}} {
		t.Run(c.arch.String()+"/"+itoa(c.build), func(t *testing.T) {
			f, b, seen, _ := lfhDump(t, c.arch, c.build, lfhSpecs, nil)
			r := scan(t, f, "Leak")
			st := r.LFH
			if !st.Keyed || st.Key != b.LFHKey() || st.Headers != len(lfhSpecs) || st.Decoded != len(lfhSpecs) || st.Damaged != 0 || st.Agree != st.Voters {
				t.Fatalf("LFH %+v, builder key %#x", st, b.LFHKey())
			}
			inUse, free, unread := leakCounts(seen, func(dumptest.PlacedBlock) bool { return true })
			cnt := r.Count(pooltag.MustTag("Leak"))
			if cnt.NonPaged+cnt.Paged != inUse || cnt.Free != free || cnt.Unread != unread || free == 0 || st.Busy != inUse || st.Free != free {
				t.Errorf("counts %+v, LFH %+v; want %d in use, %d free", cnt, st, inUse, free)
			}
			got := gotBlocks(t, f, r, "Leak")
			exp := placed(seen, "Leak")
			if !slices.Equal(got, exp) {
				t.Errorf("walk: %d blocks\n%v\nwant %d\n%v", len(got), got, len(exp), exp)
			}
			if !strings.Contains(strings.Join(r.Notes, "\n"), "bitmaps of 5 subsegments say") {
				t.Errorf("notes %q", r.Notes)
			}
		})
	}
}

// One subsegment whose BlockOffsets do not decode with the key the
// others share is named and left undecided; without any header, or with
// one alone, the bitmaps are not read and the scan says why.
func TestLFHUndecided(t *testing.T) {
	wrong := slices.Clone(lfhSpecs)
	wrong[1].wrong = true
	none := slices.Clone(lfhSpecs)
	for i := range none {
		none[i].noHdr = true
	}
	alone := []lfhSpec{lfhSpecs[0]}
	cases := []struct {
		name  string
		specs []lfhSpec
		keyed bool
		why   string
	}{
		{"wrong key in one", wrong, true, "1 LFH subsegment headers do not decode with the key the others share"},
		{"no header", none, false, "no LFH subsegment header in the dump's pages"},
		{"one header", alone, false, "too few to solve it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, _, seen, vas := lfhDump(t, dumpfile.ArchAMD64, 19041, c.specs, nil)
			r := scan(t, f, "Leak")
			notes := strings.Join(r.Notes, "\n")
			if r.LFH.Keyed != c.keyed || !strings.Contains(notes, c.why) {
				t.Fatalf("LFH %+v, notes %q", r.LFH, notes)
			}
			decided := func(p dumptest.PlacedBlock) bool {
				if !c.keyed {
					return false
				}
				return p.Header < vas[1] || p.Header >= vas[2]
			}
			if c.keyed && (r.LFH.Damaged != 1 || !slices.Equal(r.LFH.DamagedAt, []uint64{vas[1]})) {
				t.Errorf("damaged %+v, want the one at %#x", r.LFH, vas[1])
			}
			if !c.keyed && !strings.Contains(notes, "freed LFH blocks keep their headers") {
				t.Errorf("notes %q", notes)
			}
			inUse, free, unread := leakCounts(seen, decided)
			cnt := r.Count(pooltag.MustTag("Leak"))
			if cnt.NonPaged+cnt.Paged != inUse || cnt.Free != free || cnt.Unread != unread || unread == 0 {
				t.Errorf("counts %+v; want %d in use (%d unread), %d free", cnt, inUse, unread, free)
			}
			for _, blk := range walkAll(t, f, r) {
				if blk.Free && !decided(dumptest.PlacedBlock{Header: blk.Addr}) {
					t.Errorf("%+v marked free in an undecided subsegment", blk)
				}
			}
		})
	}
}

// Pages of noise and header-shaped pages whose fields are noise change
// nothing: they are named as headers that do not decode, or outvote the
// real subsegments and keep the bitmaps unread, never a key of their own.
func TestLFHAdversarial(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	// fake is a page that starts like a subsegment header (kernel links,
	// counts, a commit unit, the commit state right after a bitmap) with
	// noise for BlockOffsets, and with blocks of its own when voters.
	fake := func(voter bool) []byte {
		p := randomPage(rng, true, 4)
		le := func(off int, v uint64, n int) {
			for i := range n {
				p[off+i] = byte(v >> (8 * i))
			}
		}
		le(0, 0xFFFF_E000_0000_0000|rng.Uint64()&0xFFF_FFFF_FFF0, 8)
		le(8, 0xFFFF_E000_0000_0000|rng.Uint64()&0xFFF_FFFF_FFF0, 8)
		le(0x20, 3, 2)
		le(0x22, 60, 2)
		p[0x26], p[0x27] = 0, 0 // Location, WitheldBlockCount
		p[0x2c], p[0x2d] = 12, 1
		le(0x2e, 0x30+16, 2)
		if voter {
			// Two neighbouring Leak headers of 0x40 bytes past the
			// metadata: BlockSize 0x40 names a key for this page alone.
			off := 0x80 + 0x40*rng.IntN(8)
			copy(p[off:], []byte{0, 0, 4, 2, 'L', 'e', 'a', 'k'})
			copy(p[off+0x40:], []byte{0, 0, 4, 2, 'L', 'e', 'a', 'k'})
		}
		return p
	}
	cases := []struct {
		name           string
		fakes, voters  int
		keyed          bool
		damaged        int
		why            string
		randomPages    int
		keepRealBlocks bool
	}{
		{"noise pages", 0, 0, true, 0, "", 64, true},
		{"header-shaped noise", 6, 0, true, 6, "", 8, true},
		{"fake voters outnumber", 0, 12, false, 0, "do not agree on one", 8, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, b, seen, _ := lfhDump(t, dumpfile.ArchAMD64, 19041, lfhSpecs, func(b *dumptest.Builder) {
				for range c.randomPages {
					b.Map(b.Alloc(dumptest.PageSize, dumptest.PageSize), randomPage(rng, true, 8))
				}
				for range c.fakes {
					b.Map(b.Alloc(dumptest.PageSize, dumptest.PageSize), fake(false))
				}
				for range c.voters {
					b.Map(b.Alloc(dumptest.PageSize, dumptest.PageSize), fake(true))
				}
			})
			r := scan(t, f, "Leak")
			if r.LFH.Keyed != c.keyed || r.LFH.Damaged != c.damaged || c.keyed && r.LFH.Key != b.LFHKey() || !strings.Contains(r.LFH.Why, c.why) {
				t.Fatalf("LFH %+v, builder key %#x", r.LFH, b.LFHKey())
			}
			inUse, free, _ := leakCounts(seen, func(dumptest.PlacedBlock) bool { return c.keepRealBlocks })
			cnt := r.Count(pooltag.MustTag("Leak"))
			if cnt.Free != free || cnt.NonPaged+cnt.Paged < inUse {
				t.Errorf("counts %+v; want %d free and at least %d in use", cnt, free, inUse)
			}
		})
	}
}

// A free VS chunk's _HEAP_VS_CHUNK_FREE_HEADER lays its tree node over
// the POOL_HEADER, so the scan never takes it for a block (and the blocks
// beside it, with no header one chunk header away, fit no neighbour:
// unconfirmed). A chunk merged into a free neighbour keeps its stale
// POOL_HEADER inside it, and the scan does take that one when the chunk
// after it is in use: it counts it as a block in use whose state it
// cannot read (Unread).
func TestVSFreeChunks(t *testing.T) {
	for _, arch := range []dumpfile.Arch{dumpfile.ArchAMD64, dumpfile.ArchX86PAE} {
		t.Run(arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: arch, Build: 19041, Seed: 5})
			va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
			all := b.SegmentHeapPage(va, dumptest.SegmentVS, 0x40, []dumptest.PoolBlock{
				{Tag: "Leak", Size: 0x80},
				{Tag: "Leak", Size: 0x60, Free: true},
				{Tag: "Leak", Size: 0x90},
				{Tag: "Leak", Size: 0x70, Free: true},
				{Tag: "Leak", Size: 0x50, Merged: true},
				{Tag: "Leak", Size: 0xA0},
			})
			f := open(t, b)
			r := scan(t, f, "Leak")
			got := gotBlocks(t, f, r, "Leak")
			var exp []want
			for _, p := range all[4:] { // the merged chunk and the one after it
				exp = append(exp, want{p.Header, uint64(p.Size), false, false})
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("found %v\nwant %v (the merged chunk's stale header included)", got, exp)
			}
			if cnt := r.Count(pooltag.MustTag("Leak")); cnt.NonPaged != 2 || cnt.Unread != 2 || cnt.Free != 0 || cnt.Unconfirmed != 2 {
				t.Errorf("counts %+v", cnt)
			}
		})
	}
}
