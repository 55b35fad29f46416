package pool

import (
	"fmt"
	"sort"
	"strings"
)

// SortKey orders !poolused rows.
type SortKey int

// The orders; SortTag is by tag, as !poolused without flags sorts.
const (
	SortTag      SortKey = iota
	SortNonPaged         // !poolused 2: nonpaged bytes, largest first
	SortPaged            // !poolused 4: paged bytes, largest first
	SortAllocs           // allocations since boot, both pools
	SortFrees            // frees since boot, both pools
	SortDiff             // outstanding allocations, both pools
)

var sortNames = map[string]SortKey{"tag": SortTag, "nonpaged": SortNonPaged, "paged": SortPaged,
	"allocs": SortAllocs, "frees": SortFrees, "diff": SortDiff}

// ParseSortKey reads a --sort value.
func ParseSortKey(s string) (SortKey, error) {
	if k, ok := sortNames[strings.ToLower(s)]; ok {
		return k, nil
	}
	return 0, fmt.Errorf("unknown sort %q (want tag, nonpaged, paged, allocs, frees or diff)", s)
}

// Selection chooses and orders rows.
type Selection struct {
	Sort   SortKey
	Filter string // tag pattern with * and ?, as !poolused takes it; "" = all
	Top    int    // 0 = all
}

// Select filters, sorts and cuts usages. Ties keep tag order.
func Select(us []Usage, s Selection) []Usage {
	out := make([]Usage, 0, len(us))
	for _, u := range us {
		if s.Filter == "" || u.Tag.Match(s.Filter) {
			out = append(out, u)
		}
	}
	key := func(u Usage) int64 {
		switch s.Sort {
		case SortNonPaged:
			return int64(u.NonPagedBytes)
		case SortPaged:
			return int64(u.PagedBytes)
		case SortAllocs:
			return int64(u.NonPagedAllocs + u.PagedAllocs)
		case SortFrees:
			return int64(u.NonPagedFrees + u.PagedFrees)
		case SortDiff:
			return u.NonPagedOutstanding() + u.PagedOutstanding()
		}
		return 0
	}
	sort.SliceStable(out, func(i, j int) bool {
		if s.Sort != SortTag {
			if ki, kj := key(out[i]), key(out[j]); ki != kj {
				return ki > kj
			}
		}
		return out[i].Tag.Less(out[j].Tag)
	})
	if s.Top > 0 && len(out) > s.Top {
		out = out[:s.Top]
	}
	return out
}
