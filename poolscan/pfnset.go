package poolscan

import "math/bits"

// pfnSet is a bitmap of physical page numbers, grown as needed: one bit
// per page up to the highest one added (2 MiB for 64 GiB). Scans keep
// these instead of lists of pages or blocks, so their memory follows the
// dump's physical size at 1 bit a page, not what they find.
type pfnSet struct{ w []uint64 }

func (s *pfnSet) add(pfn uint64) {
	i := pfn >> 6
	if i >= uint64(len(s.w)) {
		n := max(i+1, uint64(len(s.w))*2)
		w := make([]uint64, n)
		copy(w, s.w)
		s.w = w
	}
	s.w[i] |= 1 << (pfn & 63)
}

func (s *pfnSet) has(pfn uint64) bool {
	i := pfn >> 6
	return i < uint64(len(s.w)) && s.w[i]>>(pfn&63)&1 == 1
}

// each calls fn for every page in the set, in ascending order, until fn
// returns false.
func (s *pfnSet) each(fn func(pfn uint64) bool) {
	for i, w := range s.w {
		for ; w != 0; w &= w - 1 {
			if !fn(uint64(i)<<6 | uint64(bits.TrailingZeros64(w))) {
				return
			}
		}
	}
}
