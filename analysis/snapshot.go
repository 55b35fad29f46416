package analysis

import (
	"context"
	"fmt"
	"slices"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/snapshot"
)

// FromSnapshot is a pool snapshot as a Source: a poolmon screen or log,
// or !poolused text, with the !vm lines of the same file when it has
// them. It gives what does not need a dump: the leading tags and their
// drivers from the driver folders. It has no module list, no images to
// scan, no uptime and, without !vm text, no pool maxima; the checks say
// so and the confidence stays below what a dump can support.
func FromSnapshot(s *snapshot.Snapshot) Source { return snapshotSource{s} }

type snapshotSource struct{ s *snapshot.Snapshot }

func (src snapshotSource) gather(_ context.Context, _ Options) (*gathered, error) {
	s := src.s
	g := &gathered{machine: Machine{
		File:       s.Source,
		DumpType:   s.Format.String() + " snapshot (no dump)",
		Snapshot:   s.Format.String(),
		SystemTime: s.Time,
	}}
	switch {
	case s.VM.PhysicalMemory != 0:
		g.machine.PhysicalBytes = s.VM.PhysicalMemory
	case s.Totals.Memory != 0:
		g.machine.PhysicalBytes = s.Totals.Memory
	}
	g.warnings = append(g.warnings, s.Notes...)
	if len(s.Usages) == 0 {
		g.poolErr = fmt.Errorf("%s: the %s text lists no tags", s.Source, s.Format)
		return g, nil
	}
	g.pool = snapshotPool(s)
	if e := s.Earlier; e != nil {
		switch span := s.Time.Sub(e.Time); {
		case e.Time.IsZero() || s.Time.IsZero() || span <= 0:
			g.warnings = append(g.warnings, fmt.Sprintf("the earlier snapshot (%s) is not dated before this one: growth not measured", e.Source))
		default:
			g.earlier, g.machine.GrowthSpan = snapshotPool(e), span
		}
	}
	return g, nil
}

// snapshotPool turns a snapshot into the pool accounting the decisions
// read. The pools' use is what the source says of the whole pool (the
// poolmon header, !vm, !poolused's TOTAL row), else the sum of the rows
// listed, a lower bound when the list is partial.
func snapshotPool(s *snapshot.Snapshot) *pool.Result {
	us := slices.Clone(s.Usages)
	slices.SortFunc(us, func(a, b pool.Usage) int {
		switch {
		case a.Tag < b.Tag:
			return -1
		case a.Tag > b.Tag:
			return 1
		}
		return 0
	})
	r := &pool.Result{Usages: us, Partial: s.Partial, Notes: nil, TableCoverage: 1}
	var rowsNP, rowsP uint64
	for _, u := range us {
		rowsNP += u.NonPagedBytes
		rowsP += u.PagedBytes
	}
	l := &r.Limits
	np, npFrom := wholePool(s, false)
	pg, pgFrom := wholePool(s, true)
	l.NonPagedUsed, l.PagedUsed = np, pg
	if np == 0 {
		l.NonPagedUsed, npFrom = rowsNP, "the rows listed"
	}
	if pg == 0 {
		l.PagedUsed, pgFrom = rowsP, "the rows listed"
	}
	if (np == 0 || pg == 0) && s.Partial {
		l.UsedLowerBound = true
	}
	r.Notes = append(r.Notes, fmt.Sprintf("pool use from %s (nonpaged) and %s (paged)", npFrom, pgFrom))
	l.NonPagedMaxSource, l.PagedMaxSource = "not in the snapshot (!vm 1 output from the same machine gives it)", "not in the snapshot (!vm 1 output from the same machine gives it)"
	if m, ok := s.VM.NonPagedLimit(); ok {
		l.NonPagedMax, l.NonPagedMaxSource = m, "!vm (NonPagedPool Max)"
	}
	if m, ok := s.VM.PagedLimit(); ok {
		l.PagedMax, l.PagedMaxSource = m, "!vm (PagedPool Maximum)"
	}
	if s.VM.NonPagedNoFixedMax || s.VM.PagedNoFixedMax {
		l.NoFixedMax = true
		l.NonPagedMaxSource = "none on this build (!vm prints a placeholder): bounded by physical memory"
		l.PagedMaxSource = "none on this build (!vm prints a placeholder): bounded by commit"
		l.PhysicalBytes = s.VM.PhysicalMemory
	}
	if s.Partial {
		r.Missing = append(r.Missing, "the snapshot lists only part of the tags")
	}
	maxCheck := func(name string, max uint64, noFixed bool, used uint64, bounds string) {
		switch {
		case noFixed:
			r.Checks = append(r.Checks, pool.Check{Name: name, Status: pool.CheckPassed, Outcome: pool.SnapshotMaxNoFixed})
		case max == 0:
			r.Checks = append(r.Checks, pool.Check{Name: name, Status: pool.CheckUnknown, Outcome: pool.SnapshotMaxNone})
		default:
			r.Checks = append(r.Checks, pool.Check{Name: name, Status: pool.CheckPassed, Outcome: pool.SnapshotMaxRead})
			c := pool.Check{Name: bounds, Status: pool.CheckPassed, Outcome: pool.SnapshotWithin, Used: used, Max: max}
			if used > max {
				c.Status, c.Outcome = pool.CheckFailed, pool.SnapshotAbove
			}
			r.Checks = append(r.Checks, c)
		}
	}
	maxCheck(pool.CheckNonPagedMax, l.NonPagedMax, s.VM.NonPagedNoFixedMax, l.NonPagedUsed, pool.CheckNonPagedBounds)
	maxCheck(pool.CheckPagedMax, l.PagedMax, s.VM.PagedNoFixedMax, l.PagedUsed, pool.CheckPagedBounds)
	return r
}

// wholePool is a pool's use as the snapshot states it for the whole pool,
// and where that figure comes from; 0 when it states none.
func wholePool(s *snapshot.Snapshot, paged bool) (uint64, string) {
	pick := func(np, p uint64) uint64 {
		if paged {
			return p
		}
		return np
	}
	switch {
	case s.Totals.Present && pick(s.Totals.PoolNonPaged, s.Totals.PoolPaged) != 0:
		return pick(s.Totals.PoolNonPaged, s.Totals.PoolPaged), "the poolmon header"
	case s.VM.Present && pick(s.VM.NonPagedUsage, s.VM.PagedUsage) != 0:
		return pick(s.VM.NonPagedUsage, s.VM.PagedUsage), "!vm"
	case s.Totals.TaggedPresent && pick(s.Totals.Tagged.NonPagedBytes, s.Totals.Tagged.PagedBytes) != 0:
		return pick(s.Totals.Tagged.NonPagedBytes, s.Totals.Tagged.PagedBytes), "!poolused's TOTAL row"
	}
	return 0, ""
}
