package poolscan

import (
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/pooltag"
)

// Matcher says which tags a scan looks for: exact tags and patterns with
// * and ? (as poolused takes them). A tag matches with or without the
// protected bit.
type Matcher struct {
	exact    map[pooltag.Tag]bool
	patterns []string
	// cache of pattern answers, by tag; patterns are few, tags repeat.
	cache map[pooltag.Tag]bool
	// filter is a 64 Ki-bit prefilter over exact tags so most headers are
	// rejected without a map lookup.
	filter []uint64
	// prefix has a bit for every first two tag bytes (little-endian) a
	// wanted tag can begin with: the page filter's first test.
	prefix []uint64
	all    bool
}

// NewMatcher parses tags and patterns ("ISil", "Gh*", "*"). A pattern
// without * or ? is an exact tag, padded with spaces.
func NewMatcher(specs ...string) (*Matcher, error) {
	m := &Matcher{exact: map[pooltag.Tag]bool{}, cache: map[pooltag.Tag]bool{}, filter: make([]uint64, 1<<16/64), prefix: make([]uint64, prefixWords)}
	for _, s := range specs {
		if s == "" {
			return nil, fmt.Errorf("empty tag")
		}
		if strings.ContainsAny(s, "*?") {
			if s == "*" {
				m.all = true
			}
			if len(s) > 4 && !strings.Contains(s, "*") {
				return nil, fmt.Errorf("tag pattern %q: longer than four characters", s)
			}
			m.patterns = append(m.patterns, s)
			continue
		}
		t, err := pooltag.ParseTag(s)
		if err != nil {
			return nil, err
		}
		m.exact[t] = true
		h := filterHash(uint32(t))
		m.filter[h>>6] |= 1 << (h & 63)
		p := uint32(t) & 0xFFFF
		m.prefix[p>>6] |= 1 << (p & 63)
	}
	for b0 := byte(0x20); b0 < 0x7F; b0++ {
		for b1 := byte(0x20); b1 < 0x7F; b1++ {
			for _, pat := range m.patterns {
				if mayStartWith(pat, b0, b1) {
					p := uint32(b0) | uint32(b1)<<8
					m.prefix[p>>6] |= 1 << (p & 63)
					break
				}
			}
		}
	}
	if len(m.exact) == 0 && len(m.patterns) == 0 {
		return nil, fmt.Errorf("no tags to look for")
	}
	return m, nil
}

// prefixWords is the size of Matcher.prefix: one bit per 16-bit value.
const prefixWords = 1 << 16 / 64

func filterHash(t uint32) uint32 { return (t ^ t>>16) & 0xFFFF }

// Match reports whether tag t (its protected bit ignored) is asked for.
func (m *Matcher) Match(t pooltag.Tag) bool {
	t = t.Unprotected()
	if m.all {
		return true
	}
	h := filterHash(uint32(t))
	if m.filter[h>>6]>>(h&63)&1 == 1 && m.exact[t] {
		return true
	}
	if len(m.patterns) == 0 {
		return false
	}
	if v, ok := m.cache[t]; ok {
		return v
	}
	v := false
	for _, p := range m.patterns {
		if t.Match(p) {
			v = true
			break
		}
	}
	if len(m.cache) < 1<<16 {
		m.cache[t] = v
	}
	return v
}

// Tags returns the exact tags asked for.
func (m *Matcher) Tags() []pooltag.Tag {
	out := make([]pooltag.Tag, 0, len(m.exact))
	for t := range m.exact {
		out = append(out, t)
	}
	return out
}

// mayStartWith reports whether some printable tag beginning with b0 b1
// matches pat: a glob match of the four display characters where the last
// two stand for any character.
func mayStartWith(pat string, b0, b1 byte) bool {
	if !strings.Contains(pat, "*") && len(pat) < 4 {
		pat += strings.Repeat(" ", 4-len(pat))
	}
	s := [4]byte{b0, b1}
	// m[i][j]: pat[:i] can match s[:j].
	var m [64][5]bool
	if len(pat) >= len(m) {
		return true
	}
	m[0][0] = true
	for i := 1; i <= len(pat); i++ {
		c := pat[i-1]
		for j := 0; j <= 4; j++ {
			switch {
			case c == '*':
				m[i][j] = m[i-1][j] || (j > 0 && m[i][j-1])
			case j > 0:
				m[i][j] = m[i-1][j-1] && (c == '?' || j > 2 || c == s[j-1])
			}
		}
	}
	return m[len(pat)][4]
}
