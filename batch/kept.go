package batch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/pooltag"
)

// keptTag is one tag's use in one pool as a run keeps it for the trends,
// for every dump until the summary is written: 24 bytes and no strings,
// so that a run over thousands of dumps keeps little per dump. TagBytes,
// with the tag as text, is its form in index.json.
type keptTag struct {
	bytes       uint64
	outstanding int64
	tag         pooltag.Tag
	paged       bool
}

// keptTags are one dump's kept tags. In index.json they are a list of
// TagBytes, as they always were.
type keptTags []keptTag

// trendTags are the leading tags the analysis gathered, for trends.
func trendTags(res *analysis.Result) keptTags {
	out := make(keptTags, 0, len(res.NonPaged)+len(res.Paged))
	for _, tags := range [][]analysis.TagUsage{res.NonPaged, res.Paged} {
		for _, t := range tags {
			out = append(out, keptTag{bytes: t.Bytes, outstanding: t.Outstanding, tag: t.Tag, paged: t.Pool == analysis.Paged})
		}
	}
	return out
}

// MarshalJSON writes the tags as TagBytes.
func (ts keptTags) MarshalJSON() ([]byte, error) {
	out := make([]TagBytes, len(ts))
	for i, t := range ts {
		out[i] = TagBytes{Tag: t.tag.Trimmed(), Pool: poolName(t.paged), Bytes: t.bytes, Outstanding: t.outstanding}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the tags from TagBytes.
func (ts *keptTags) UnmarshalJSON(b []byte) error {
	var in []TagBytes
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	out := make(keptTags, len(in))
	for i, t := range in {
		tag, err := parseTagText(t.Tag)
		if err != nil {
			return err
		}
		if t.Pool != poolName(false) && t.Pool != poolName(true) {
			return fmt.Errorf("tag %q: pool %q, want %q or %q", t.Tag, t.Pool, poolName(false), poolName(true))
		}
		out[i] = keptTag{bytes: t.Bytes, outstanding: t.Outstanding, tag: tag, paged: t.Pool == poolName(true)}
	}
	*ts = out
	return nil
}

// parseTagText reads a tag back from pooltag.Tag.Trimmed: up to four
// printable characters as they are, or a longer text where \xNN stands
// for a byte that is not printable (five characters or more), which must
// give at most four bytes; the pad spaces Trimmed cut are put back.
func parseTagText(s string) (pooltag.Tag, error) {
	if len(s) <= 4 {
		return pooltag.ParseTag(s)
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], `\x`) && i+4 <= len(s) {
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err == nil {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i])
	}
	if len(b) > 4 {
		return 0, fmt.Errorf("pool tag %q: %d bytes, want 4", s, len(b))
	}
	for len(b) < 4 {
		b = append(b, ' ')
	}
	return pooltag.Tag(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24), nil
}
