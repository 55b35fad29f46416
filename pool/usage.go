package pool

import "github.com/poolblame/poolblame/pooltag"

// Usage is one tag's counters, as the kernel's pool tracker keeps them and
// as !poolused and poolmon show them. Allocs and Frees count calls since
// boot; Bytes is what the tag holds now.
type Usage struct {
	Tag            pooltag.Tag
	NonPagedAllocs uint64
	NonPagedFrees  uint64
	NonPagedBytes  uint64
	PagedAllocs    uint64
	PagedFrees     uint64
	PagedBytes     uint64
}

// NonPagedOutstanding is Allocs - Frees for nonpaged pool: what !poolused
// calls Allocs. Counters of a single CPU's table can run backwards, so the
// difference is signed.
func (u Usage) NonPagedOutstanding() int64 {
	return int64(u.NonPagedAllocs - u.NonPagedFrees)
}

// PagedOutstanding is Allocs - Frees for paged pool.
func (u Usage) PagedOutstanding() int64 {
	return int64(u.PagedAllocs - u.PagedFrees)
}

// Add adds o's counters to u (same tag assumed).
func (u *Usage) Add(o Usage) {
	u.NonPagedAllocs += o.NonPagedAllocs
	u.NonPagedFrees += o.NonPagedFrees
	u.NonPagedBytes += o.NonPagedBytes
	u.PagedAllocs += o.PagedAllocs
	u.PagedFrees += o.PagedFrees
	u.PagedBytes += o.PagedBytes
}

// IsZero reports whether every counter is zero.
func (u Usage) IsZero() bool {
	return u.NonPagedAllocs|u.NonPagedFrees|u.NonPagedBytes|u.PagedAllocs|u.PagedFrees|u.PagedBytes == 0
}
