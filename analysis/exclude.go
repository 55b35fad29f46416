package analysis

import (
	"slices"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// ExclusionCause is why a tag is left out of the verdict's ranking.
type ExclusionCause int

// The causes are the damage a failed sum check could be pinned to.
const (
	// ZeroedPage: a page of a tracker table is all zero (Damage says
	// which table and page); every tag with a key in its slots is out.
	ZeroedPage ExclusionCause = iota
	// KeyConflict: the global table and the CPUs' tables hold different
	// keys at one index; both keys are out.
	KeyConflict
	// GlobalEntryLost: a CPU's table holds a key where the global table
	// has none.
	GlobalEntryLost
	// AboveBound: the tag's summed bytes alone exceed what its pool can
	// hold (Pool, Bytes, Bound).
	AboveBound
)

// ExcludedTag is one tag the verdict leaves out, and the damage that put
// it out.
type ExcludedTag struct {
	Tag   pooltag.Tag
	Cause ExclusionCause
	// Damage is the damaged entries (ZeroedPage, KeyConflict,
	// GlobalEntryLost).
	Damage pool.Damage
	// Pool, Bytes and Bound are, for AboveBound, the pool, the tag's
	// summed bytes in it and the pool's bound.
	Pool         PoolType
	Bytes, Bound uint64
}

// ExcludedPool is how one pool is ranked without the excluded tags.
type ExcludedPool struct {
	// Damaged: an excluded tag held bytes in this pool (or the global
	// table lost entries no other table names, which may have).
	Damaged bool
	// Bound is what the shares of a damaged pool are taken of: its
	// maximum, or physical memory for nonpaged pool on a build with no
	// fixed maximum. The excluded tags' true bytes are unknown: a share
	// of what is left would grow with every byte the damage took away,
	// a share of the bound cannot. 0: no bound, and the pool is not
	// ranked.
	Bound uint64
	// Rest is the bytes the tags left hold; Room is Bound - Rest, the
	// most the excluded tags can have held.
	Rest, Room uint64
	// Rows are the pool's leading tags without the excluded ones.
	Rows []TagUsage
}

// Exclusion is the verdict on sums whose failed checks could be pinned
// to a few entries: those tags are left out, the rest ranked.
type Exclusion struct {
	Tags []ExcludedTag
	// Lost means the global table lost entries: a tag whose allocations
	// all ran on CPU 0 leaves no key in another table, so tags beyond
	// those named may be gone.
	Lost     bool
	NonPaged ExcludedPool
	Paged    ExcludedPool
	// CouldHoldLeak means the excluded tags could hold as much as a tag
	// the verdict weighs (Room is at least suspectShare of a damaged
	// pool's Bound, the pool has no bound, or a tag is above it, which puts
	// the bound in question): the confidence is at most
	// low, and a Microsoft owner is not blamed on size, since an excluded
	// tag may be the third party's that would overrule it.
	CouldHoldLeak bool
	// Leading is an excluded tag whose surviving counters (a key
	// overwritten over intact counters; for a tag above its pool's bound,
	// the least its outstanding allocations hold) place it among the tags
	// the verdict weighs: the leak may be it, and no driver is named. Nil
	// otherwise.
	Leading *TagUsage
}

// Pool returns the ranking of one pool.
func (e *Exclusion) Pool(t PoolType) *ExcludedPool {
	if t == Paged {
		return &e.Paged
	}
	return &e.NonPaged
}

// Excluded reports whether t is left out.
func (e *Exclusion) Excluded(t pooltag.Tag) bool {
	for _, x := range e.Tags {
		if x.Tag == t {
			return true
		}
	}
	return false
}

// exclusion pins the failed sum checks of p to the entries they found
// damaged, and ranks the tags left. It returns nil when any failure
// cannot be pinned (CPUs' tables left out, a key unreachable for no
// damage found, counters or bounds broken by tags the damage does not
// name): then no driver is named at all.
func exclusion(p *pool.Result, m Machine, rt rates, top int) *Exclusion {
	if p == nil || m.Snapshot != "" || p.OneCPUOnly || len(p.MissingCPUs) > 0 {
		return nil
	}
	if m.CPUs > 1 && len(p.PerCPU) < m.CPUs {
		return nil
	}
	failed := map[string]bool{}
	for _, c := range p.Checks {
		if c.Status == pool.CheckFailed && sumChecks[c.Name] {
			failed[c.Name] = true
		}
	}
	if len(failed) == 0 || failed[pool.CheckPerCPUTables] {
		return nil
	}
	e := &Exclusion{}
	out := map[pooltag.Tag]bool{}
	pin := func(x ExcludedTag) {
		if !out[x.Tag] {
			out[x.Tag] = true
			e.Tags = append(e.Tags, x)
		}
	}
	if !e.pinDamage(p.Damage, failed, pin) || !pinBounds(p, out, failed, pin) || !countersExplained(p, out, failed) || len(e.Tags) == 0 {
		return nil
	}
	e.rank(p, out, rt, top)
	for _, x := range e.Tags {
		// A tag above its pool's bound puts the bound in question as
		// much as the tag: room under it proves nothing.
		e.CouldHoldLeak = e.CouldHoldLeak || x.Cause == AboveBound
	}
	e.Leading = survivingLeader(e, surviving(e, p), rt)
	return e
}

// pinDamage pins the tags of every damaged entry, and says whether the
// failures of the table-pages and per-cpu-agree checks are all pinned.
func (e *Exclusion) pinDamage(all []pool.Damage, failed map[string]bool, pin func(ExcludedTag)) bool {
	causes := map[pool.DamageKind]ExclusionCause{pool.DamageZeroedPage: ZeroedPage, pool.DamageKeyConflict: KeyConflict, pool.DamageOrphan: GlobalEntryLost}
	pages, agree := false, false
	for _, d := range all {
		switch d.Kind {
		case pool.DamageUnreachable:
			pages = true
			if !explained(d, all) {
				return false
			}
			continue
		case pool.DamageZeroedPage:
			pages = true
			e.Lost = e.Lost || (d.CPU == 0 && d.Unnamed > 0)
		case pool.DamageOrphan:
			agree = true
			e.Lost = true
		case pool.DamageKeyConflict:
			agree = true
		}
		for _, t := range d.Tags {
			pin(ExcludedTag{Tag: t, Cause: causes[d.Kind], Damage: d})
		}
	}
	return !(failed[pool.CheckTablePages] && !pages || failed[pool.CheckPerCPUAgree] && !agree)
}

// pinBounds: the tags left must fit each pool's bound; a tag whose own
// sum does not is the damage itself. False when the tags left still
// exceed it, or a pool with no bound failed its check.
func pinBounds(p *pool.Result, out map[pooltag.Tag]bool, failed map[string]bool, pin func(ExcludedTag)) bool {
	checks := map[PoolType]string{NonPaged: pool.CheckNonPagedBounds, Paged: pool.CheckPagedBounds}
	for _, t := range []PoolType{NonPaged, Paged} {
		b := bound(p.Limits, t)
		switch {
		case b == 0 && failed[checks[t]]:
			return false
		case b == 0 || restBytes(p.Usages, out, t) <= b:
			continue
		}
		for _, u := range p.Usages {
			if n := poolBytes(u, t); n > b && !out[u.Tag] {
				pin(ExcludedTag{Tag: u.Tag, Cause: AboveBound, Pool: t, Bytes: n, Bound: b})
			}
		}
		if restBytes(p.Usages, out, t) > b {
			return false
		}
	}
	return true
}

// countersExplained: the tags left break the counting rules no more than
// the counters check allows.
func countersExplained(p *pool.Result, out map[pooltag.Tag]bool, failed map[string]bool) bool {
	if !failed[pool.CheckCounters] {
		return true
	}
	left := 0
	for _, t := range p.CounterFaults {
		if !out[t] {
			left++
		}
	}
	return left <= pool.CounterFaultsAllowed(len(p.Usages))
}

// rank ranks each pool without the excluded tags (out).
func (e *Exclusion) rank(p *pool.Result, out map[pooltag.Tag]bool, rt rates, top int) {
	var rest []pool.Usage
	for _, u := range p.Usages {
		if !out[u.Tag] {
			rest = append(rest, u)
		}
	}
	for _, t := range []PoolType{NonPaged, Paged} {
		ep := e.Pool(t)
		ep.Damaged = e.Lost
		for _, x := range e.Tags {
			ep.Damaged = ep.Damaged || holds(p.Usages, x, t)
		}
		ep.Rest = restBytes(p.Usages, out, t)
		whole := ep.Rest
		if ep.Damaged {
			ep.Bound = bound(p.Limits, t)
			if ep.Bound == 0 {
				e.CouldHoldLeak = true
				continue
			}
			ep.Room = ep.Bound - ep.Rest
			whole = ep.Bound
			e.CouldHoldLeak = e.CouldHoldLeak || ep.Room*100 >= uint64(suspectShare*float64(ep.Bound))
		}
		cp := *p
		cp.Usages = rest
		cp.Limits.NonPagedUsed, cp.Limits.PagedUsed = whole, whole
		ep.Rows = leading(&cp, t, top, rt)
	}
}

// explained says whether an unreachable key is accounted for by other
// damage: its own index holds another key in the CPUs' tables (the key
// was overwritten), or the empty slot it crosses is in a zeroed page of
// its table or a lost global entry (the slot was emptied).
func explained(d pool.Damage, all []pool.Damage) bool {
	for _, o := range all {
		switch {
		case o.Kind == pool.DamageKeyConflict && o.Covers(d.First):
			return true
		case o.Kind == pool.DamageZeroedPage && o.Table == d.Table && o.Covers(d.Crossed):
			return true
		case o.Kind == pool.DamageOrphan && o.Covers(d.Crossed):
			return true
		}
	}
	return false
}

// bound is the most a pool can hold: its maximum, or for nonpaged pool
// on a build with no fixed maximum, physical memory; 0 when unknown
// (paged pool with no maximum is bounded by commit, which the dump does
// not give).
func bound(l pool.Limits, t PoolType) uint64 {
	if t == Paged {
		return l.PagedMax
	}
	if l.NonPagedMax != 0 {
		return l.NonPagedMax
	}
	return l.PhysicalBytes
}

func restBytes(us []pool.Usage, out map[pooltag.Tag]bool, t PoolType) uint64 {
	var n uint64
	for _, u := range us {
		if !out[u.Tag] {
			n += poolBytes(u, t)
		}
	}
	return n
}

// holds says whether the data as read gives x any use of pool t: its
// sum, or the counters its key left. A tag is taken to be in the pools
// some table records it in.
func holds(us []pool.Usage, x ExcludedTag, t PoolType) bool {
	if x.Cause == AboveBound {
		return x.Pool == t
	}
	used := func(u pool.Usage) bool {
		if t == Paged {
			return u.PagedAllocs != 0 || u.PagedBytes != 0
		}
		return u.NonPagedAllocs != 0 || u.NonPagedBytes != 0
	}
	if s := x.Damage.Surviving; s != nil && s.Tag == x.Tag && used(*s) {
		return true
	}
	for _, u := range us {
		if u.Tag == x.Tag {
			return used(u)
		}
	}
	// A tag no sum holds (its only key lost with the global entry) may
	// have been in either pool.
	return true
}

// surviving is what the damage left of each excluded tag's counters:
// for an overwritten key, every table's counters at its index; for a tag
// above its pool's bound, its outstanding allocations at the pool's
// smallest block each, the least they can hold. Tags the damage left
// nothing of (zeroed entries, lost global entries) have none.
func surviving(e *Exclusion, p *pool.Result) []pool.Usage {
	minBlock := uint64(8)
	if c, ok := p.CheckByName(pool.CheckCounters); ok && c.MinBlock > 0 {
		minBlock = c.MinBlock
	}
	var out []pool.Usage
	for _, x := range e.Tags {
		switch s := x.Damage.Surviving; {
		case x.Cause == KeyConflict && s != nil && s.Tag == x.Tag:
			out = append(out, *s)
		case x.Cause == AboveBound:
			u, ok := p.Find(x.Tag)
			if !ok {
				continue
			}
			least := pool.Usage{Tag: x.Tag}
			if x.Pool == Paged {
				least.PagedAllocs, least.PagedFrees = u.PagedAllocs, u.PagedFrees
				if n := u.PagedOutstanding(); n > 0 {
					least.PagedBytes = uint64(n) * minBlock
				}
			} else {
				least.NonPagedAllocs, least.NonPagedFrees = u.NonPagedAllocs, u.NonPagedFrees
				if n := u.NonPagedOutstanding(); n > 0 {
					least.NonPagedBytes = uint64(n) * minBlock
				}
			}
			out = append(out, least)
		}
	}
	return out
}

// survivingLeader returns the first excluded tag whose surviving counters
// (ss) would place it among the tags the verdict weighs in a ranked pool.
func survivingLeader(e *Exclusion, ss []pool.Usage, rt rates) *TagUsage {
	for _, s := range ss {
		for _, t := range []PoolType{NonPaged, Paged} {
			ep := e.Pool(t)
			n := poolBytes(s, t)
			if ep.Bound == 0 && ep.Damaged || n == 0 {
				continue
			}
			whole := max(ep.Bound, ep.Rest)
			share := float64(n) * 100 / float64(whole)
			above := 0
			for _, r := range ep.Rows {
				if r.Bytes > n {
					above++
				}
			}
			if share >= suspectShare && above < verdictDepth {
				cp := pool.Result{Usages: []pool.Usage{s}}
				cp.Limits.NonPagedUsed, cp.Limits.PagedUsed = whole, whole
				if rows := leading(&cp, t, 1, rt); len(rows) == 1 {
					return &rows[0]
				}
			}
		}
	}
	return nil
}

// restTags lists the tags of the rankings without the excluded ones, for
// the evidence search.
func (e *Exclusion) restTags() []pooltag.Tag {
	var out []pooltag.Tag
	for _, rows := range [][]TagUsage{e.NonPaged.Rows, e.Paged.Rows} {
		for _, r := range rows {
			if !slices.Contains(out, r.Tag) {
				out = append(out, r.Tag)
			}
		}
	}
	return out
}
