package poolscan

import (
	"math/rand/v2"
	"testing"

	"github.com/poolblame/poolblame/pooltag"
)

// The page filter's prefix bitmap may let through tags nobody wants, but
// never drop one that is: every tag a matcher matches has its first two
// bytes in the bitmap, and an exact tag's bitmap is that tag's alone.
func TestMatcherPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var tags []pooltag.Tag
	for _, s := range []string{"Leak", "Gh05", "Gla1", "Ab  ", "xAbc", "Irp ", "MmSt", "zzzk", "Ntf0", "abc ", "xabc"} {
		tags = append(tags, pooltag.MustTag(s))
	}
	for range 40000 {
		var v uint32
		for i := range 4 {
			v |= uint32(0x20+rng.IntN(0x5F)) << (8 * i)
		}
		tags = append(tags, pooltag.Tag(v))
	}
	for _, tc := range []struct {
		specs []string
		only  bool // exact tags only: no other prefix is set
	}{
		{[]string{"Leak"}, true},
		{[]string{"Leak", "Ab"}, true},
		{[]string{"Gh*"}, false},
		{[]string{"G?a*"}, false},
		{[]string{"?Ab*"}, false},
		{[]string{"*k"}, false},
		{[]string{"*"}, false},
		{[]string{"Ab?"}, false},
		{[]string{"a*b*c*"}, false},
	} {
		m, err := NewMatcher(tc.specs...)
		if err != nil {
			t.Fatal(err)
		}
		set := 0
		for _, w := range m.prefix {
			for ; w != 0; w &= w - 1 {
				set++
			}
		}
		if tc.only && set != len(tc.specs) {
			t.Errorf("%q: %d prefixes set, want %d", tc.specs, set, len(tc.specs))
		}
		matched := 0
		for _, tag := range tags {
			for _, v := range []pooltag.Tag{tag, tag | pooltag.ProtectedBit} {
				if !m.Match(v) {
					continue
				}
				matched++
				if p := uint32(v) & 0xFFFF; m.prefix[p>>6]>>(p&63)&1 == 0 {
					t.Errorf("%q: tag %q matches but its prefix %#04x is not in the filter", tc.specs, v, p)
				}
			}
		}
		if matched == 0 {
			t.Errorf("%q: no tag of the sample matched: the test checks nothing", tc.specs)
		}
	}
}
