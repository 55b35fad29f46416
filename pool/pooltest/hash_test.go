package pooltest

import "testing"

// knownHashes were worked out by hand from the two algorithms, e.g. for
// 'ISil' (bytes 49 53 69 6C): WRK folds to ((0x49<<2^0x53)<<2^0x69)<<2^0x6C
// = 0x16B8 = 5816, and 40543*5816>>2 = 58949522; the multiplicative form
// of 0xFFFFFFFF is 0xFFFF61A1 (low half of 40543<<32 - 40543) xor 0x9E5E.
var knownHashes = []struct {
	key      uint32
	wrk, mul uint32
}{
	{0x6C695349, 58949522, 0x3C7CB506}, // 'ISil'
	{0x6C66764F, 55341195, 0x770AEA5E}, // 'Ovfl'
	{0x20206D4D, 54976308, 0xEF7E064C}, // 'Mm  '
	{0, 0, 0},
	{0xFFFFFFFF, 132849275, 0xFFFFFFFF},
}

func TestHashes(t *testing.T) {
	for _, k := range knownHashes {
		if got := wrkHash(k.key); got != k.wrk {
			t.Errorf("wrkHash(%#x) = %d, want %d", k.key, got, k.wrk)
		}
		if got := mulHash(k.key); got != k.mul {
			t.Errorf("mulHash(%#x) = %#x, want %#x", k.key, got, k.mul)
		}
	}
}

// Every row's counters lie inside its entry, after the key, apart.
func TestLayouts(t *testing.T) {
	for _, r := range layouts {
		l := r.l
		seen := map[int]bool{}
		for _, c := range []counter{l.npAllocs, l.npFrees, l.npBytes, l.pAllocs, l.pFrees, l.pBytes} {
			if c.off < 4 || c.off+c.width > l.size || c.off%c.width != 0 || seen[c.off] {
				t.Errorf("layout %#x: counter at %#x (%d bytes) overlaps or is outside", l.size, c.off, c.width)
			}
			seen[c.off] = true
		}
	}
}
