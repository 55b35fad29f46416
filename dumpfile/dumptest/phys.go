package dumptest

import "math/rand/v2"

// page is the content of one physical page.
type page [PageSize]byte

// pfnRange is the physical pages [start, end).
type pfnRange struct{ start, end uint64 }

func (r pfnRange) count() uint64 { return r.end - r.start }

// hole is a deliberate gap in physical placement: after `after` small
// pages have been handed out, `skip` page numbers are left unused, so
// that stored memory comes in several runs as on a real machine.
type hole struct {
	after int
	skip  uint64
}

// physAllocator hands out page frame numbers. Small pages come from a
// cursor moving up from a seeded base, with seeded holes; large pages get
// aligned frames above the cursor, which the cursor later jumps over.
type physAllocator struct {
	next     uint64
	count    int
	holes    []hole
	reserved []pfnRange // large-page frames, ascending
	top      uint64     // one past the highest frame handed out
}

func newPhysAllocator(rng *rand.Rand) physAllocator {
	// PFN 0 is never used: RDMP range lists end at a zero PFN.
	p := physAllocator{next: 0x200 + rng.Uint64N(0x600)}
	after := 2
	for _, spacing := range []int{4, 8, 24} {
		after += 1 + rng.IntN(spacing)
		p.holes = append(p.holes, hole{after: after, skip: 1 + rng.Uint64N(31)})
	}
	p.top = p.next
	return p
}

// small returns a fresh 4 KiB frame.
func (p *physAllocator) small() uint64 {
	for len(p.holes) > 0 && p.count >= p.holes[0].after {
		p.next += p.holes[0].skip
		p.holes = p.holes[1:]
	}
	p.next = p.skipReserved(p.next)
	pfn := p.next
	p.next++
	p.count++
	p.top = max(p.top, p.next)
	return pfn
}

// skipReserved returns the first frame at or above pfn outside the
// large-page frames.
func (p *physAllocator) skipReserved(pfn uint64) uint64 {
	for _, r := range p.reserved {
		if pfn >= r.start && pfn < r.end {
			pfn = r.end
		}
	}
	return pfn
}

// frames returns the first of n contiguous frames aligned to n (a power
// of two), placed above everything handed out so far plus gap.
func (p *physAllocator) frames(n, gap uint64) uint64 {
	start := p.next + gap
	if k := len(p.reserved); k > 0 {
		start = max(start, p.reserved[k-1].end)
	}
	start = alignUp(start, n)
	p.reserved = append(p.reserved, pfnRange{start, start + n})
	p.top = max(p.top, start+n)
	return start
}

// padding returns ranges of n frames nobody uses, from the cursor up.
func (p *physAllocator) padding(n uint64) []pfnRange {
	var out []pfnRange
	pfn := p.next
	for n > 0 {
		pfn = p.skipReserved(pfn)
		end := pfn + n
		for _, r := range p.reserved {
			if r.start >= pfn && r.start < end {
				end = r.start
			}
		}
		out = append(out, pfnRange{pfn, end})
		n -= end - pfn
		pfn = end
	}
	return out
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }
