package live

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/poolblame/poolblame/pooltag"
)

// Sample is the counters read at one time.
type Sample struct {
	Time time.Time
	Tags []TagCounters
}

// Row is one line of the live table: a tag in one pool, its totals now,
// the change since the previous sample, and its rate of growth in bytes
// per hour since the first sample.
type Row struct {
	Tag      pooltag.Tag
	Paged    bool
	Allocs   uint32
	Frees    uint32
	Diff     int64 // outstanding allocations
	Bytes    uint64
	DAllocs  uint32 // allocations since the previous sample
	DFrees   uint32
	DBytes   int64   // change of Bytes since the previous sample
	PerHour  float64 // bytes per hour since the first sample; 0 with one sample
	PerAlloc uint64  // Bytes / Diff, as poolmon shows it
}

// Rows lays out cur against the previous and the first sample (either may
// be nil). Allocs and Frees are the kernel's 32-bit counters: they wrap,
// so changes are taken modulo 2^32, as poolmon does. Tags with nothing in
// a pool and no activity there are left out, as poolmon leaves them.
func Rows(first, prev, cur *Sample) []Row {
	prevOf := index(prev)
	firstOf := index(first)
	var hours float64
	if first != nil {
		hours = cur.Time.Sub(first.Time).Hours()
	}
	var rows []Row
	for _, t := range cur.Tags {
		for _, paged := range []bool{false, true} {
			r := row(t, paged)
			if r.Allocs == 0 && r.Frees == 0 && r.Bytes == 0 {
				continue
			}
			if p, ok := prevOf[t.Tag]; ok {
				pr := row(p, paged)
				r.DAllocs, r.DFrees = r.Allocs-pr.Allocs, r.Frees-pr.Frees
				r.DBytes = int64(r.Bytes) - int64(pr.Bytes)
			}
			if f, ok := firstOf[t.Tag]; ok && hours > 0 {
				r.PerHour = float64(int64(r.Bytes)-int64(row(f, paged).Bytes)) / hours
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func row(t TagCounters, paged bool) Row {
	r := Row{Tag: t.Tag, Paged: paged, Allocs: t.NonPagedAllocs, Frees: t.NonPagedFrees, Bytes: t.NonPagedUsed}
	if paged {
		r.Allocs, r.Frees, r.Bytes = t.PagedAllocs, t.PagedFrees, t.PagedUsed
	}
	r.Diff = int64(int32(r.Allocs - r.Frees))
	if r.Diff > 0 {
		r.PerAlloc = r.Bytes / uint64(r.Diff)
	}
	return r
}

func index(s *Sample) map[pooltag.Tag]TagCounters {
	if s == nil {
		return nil
	}
	m := make(map[pooltag.Tag]TagCounters, len(s.Tags))
	for _, t := range s.Tags {
		m[t.Tag] = t
	}
	return m
}

// SortKey orders the table, like poolmon's sort keys.
type SortKey int

// The sort keys, in the order of their names in SortKeys.
const (
	ByBytes  SortKey = iota // bytes in use
	ByDiff                  // outstanding allocations
	ByAllocs                // allocations
	ByFrees                 // frees
	ByChange                // change in bytes since the previous sample
	ByRate                  // growth per hour since the first sample
	ByTag                   // tag name
)

var sortNames = []string{"bytes", "diff", "allocs", "frees", "change", "rate", "tag"}

// SortKeys lists the names ParseSortKey accepts.
func SortKeys() []string { return slices.Clone(sortNames) }

// ParseSortKey reads a --sort value, one of SortKeys.
func ParseSortKey(s string) (SortKey, error) {
	if i := slices.Index(sortNames, s); i >= 0 {
		return SortKey(i), nil
	}
	return 0, fmt.Errorf("--sort %q: want one of %v", s, sortNames)
}

// Sort orders rows by key, largest first (tags alphabetically), ties by
// tag and then nonpaged before paged.
func Sort(rows []Row, key SortKey) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		var c int
		switch key {
		case ByBytes:
			c = cmp.Compare(b.Bytes, a.Bytes)
		case ByDiff:
			c = cmp.Compare(b.Diff, a.Diff)
		case ByAllocs:
			c = cmp.Compare(b.Allocs, a.Allocs)
		case ByFrees:
			c = cmp.Compare(b.Frees, a.Frees)
		case ByChange:
			c = cmp.Compare(b.DBytes, a.DBytes)
		case ByRate:
			c = cmp.Compare(b.PerHour, a.PerHour)
		}
		if c != 0 {
			return c
		}
		if a.Tag != b.Tag {
			if a.Tag.Less(b.Tag) {
				return -1
			}
			return 1
		}
		switch {
		case a.Paged == b.Paged:
			return 0
		case b.Paged:
			return -1
		}
		return 1
	})
}

// Growing returns the tags whose bytes grew between the first and the
// last sample, largest growth first, at most n.
func Growing(rows []Row, n int) []Row {
	var g []Row
	for _, r := range rows {
		if r.PerHour > 0 {
			g = append(g, r)
		}
	}
	Sort(g, ByRate)
	return g[:min(n, len(g))]
}
