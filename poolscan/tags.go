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
	all    bool
}

// NewMatcher parses tags and patterns ("ISil", "Gh*", "*"). A pattern
// without * or ? is an exact tag, padded with spaces.
func NewMatcher(specs ...string) (*Matcher, error) {
	m := &Matcher{exact: map[pooltag.Tag]bool{}, cache: map[pooltag.Tag]bool{}, filter: make([]uint64, 1<<16/64)}
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
	}
	if len(m.exact) == 0 && len(m.patterns) == 0 {
		return nil, fmt.Errorf("no tags to look for")
	}
	return m, nil
}

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
