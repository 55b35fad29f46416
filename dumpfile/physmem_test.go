package dumpfile

import (
	"math/rand"
	"testing"
)

// The sparse index (bitmaps over 1 TiB) answers as the dense one does,
// whether the zeros are read or skipped as holes.
func TestSparseBitmapIndex(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const nbytes = 1 << 16
	raw := make([]byte, nbytes)
	for range 3000 {
		i := rng.Intn(nbytes)
		raw[i] |= 1 << rng.Intn(8)
	}
	for i := 20000; i < 20100; i++ {
		raw[i] = 0xFF // a run across words
	}
	dense := newBitmapBuilder(nbytes*8, 0x10000)
	dense.add(raw)
	d := dense.done()
	sb := newBitmapBuilder(denseMaxBits+nbytes*8, 0x10000)
	// Split oddly, and skip zero stretches as holes.
	for o := 0; o < nbytes; {
		n := min(nbytes-o, 1+rng.Intn(5000))
		chunk := raw[o : o+n]
		allZero := true
		for _, c := range chunk {
			allZero = allZero && c == 0
		}
		if allZero {
			sb.skipZeros(int64(n))
		} else {
			sb.add(chunk)
		}
		o += n
	}
	sb.skipZeros(denseMaxBits / 8)
	s := sb.done()
	if s.words != nil || d.words == nil {
		t.Fatal("wrong index kinds")
	}
	if s.count != d.count {
		t.Fatalf("count %d, dense %d", s.count, d.count)
	}
	for pfn := uint64(0); pfn < nbytes*8+100; pfn++ {
		so, sok := s.lookup(pfn)
		do, dok := d.lookup(pfn)
		if so != do || sok != dok {
			t.Fatalf("pfn %#x: sparse %#x %v, dense %#x %v", pfn, so, sok, do, dok)
		}
	}
	var sr, dr []uint64
	s.each(func(pfn, count uint64, off int64) bool { sr = append(sr, pfn, count, uint64(off)); return true })
	d.each(func(pfn, count uint64, off int64) bool { dr = append(dr, pfn, count, uint64(off)); return true })
	if len(sr) != len(dr) {
		t.Fatalf("each: %d stretches, dense %d", len(sr)/3, len(dr)/3)
	}
	for i := range sr {
		if sr[i] != dr[i] {
			t.Fatalf("each differs at %d", i/3)
		}
	}
}
