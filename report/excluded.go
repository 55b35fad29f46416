package report

import (
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/units"
)

// excludedSentence words the verdict's exclusion of damaged tags: which
// tags, what damage, what the rest is weighed against, and what that
// leaves of the confidence.
func excludedSentence(res *analysis.Result, e *analysis.Exclusion) string {
	var groups []string
	var cur []string
	var last string
	flush := func() {
		if len(cur) > 0 {
			groups = append(groups, strings.Join(cur, ", ")+" ("+last+")")
		}
		cur = nil
	}
	for _, x := range e.Tags {
		why := exclusionCause(x)
		if why != last {
			flush()
			last = why
		}
		cur = append(cur, trimTag(x.Tag.String()))
	}
	flush()
	s := "The pool data contradicts itself in entries pinned to a few tags, left out of the ranking: " + strings.Join(groups, "; ")
	if e.Lost {
		s += "; a tag used on CPU 0 alone leaves no key in another table, so more may be lost"
	}
	s += "."
	var against []string
	for _, t := range []analysis.PoolType{analysis.NonPaged, analysis.Paged} {
		ep := e.Pool(t)
		switch {
		case !ep.Damaged:
		case ep.Bound == 0:
			against = append(against, fmt.Sprintf("%s pool has none, so its tags are not weighed", t))
		case t == analysis.NonPaged && res.Pool.NonPaged.Max == 0:
			against = append(against, fmt.Sprintf("%s pool, physical memory (%s), of which the tags left hold %s", t, units.Bytes(ep.Bound), units.Bytes(ep.Rest)))
		default:
			against = append(against, fmt.Sprintf("%s pool, its maximum (%s), of which the tags left hold %s", t, units.Bytes(ep.Bound), units.Bytes(ep.Rest)))
		}
	}
	if len(against) > 0 {
		s += " Shares are of what the pool can hold, which the damage cannot inflate as it would a share of what is left: " + strings.Join(against, "; ") + "."
	}
	switch {
	case e.Leading != nil:
		l := e.Leading
		s += fmt.Sprintf(" The surviving counters of %s (%s, %.0f%% of %s pool) place it among the leading tags: the leak may be it, so no driver is named.",
			trimTag(l.Tag.String()), units.Bytes(l.Bytes), l.Share, l.Pool)
	case e.CouldHoldLeak:
		s += " The tags left out could hold as much as a leading tag, so no driver is named above low confidence."
	default:
		s += " The tags left out cannot have held as much as a leading tag, so the confidence is at most medium."
	}
	return s
}

// exclusionCause says what damage put a tag out.
func exclusionCause(x analysis.ExcludedTag) string {
	d := x.Damage
	switch x.Cause {
	case analysis.ZeroedPage:
		switch {
		case d.CPU == 0:
			return fmt.Sprintf("page %d of the global tracker table is zeroed", d.Page)
		case d.CPU < 0:
			return fmt.Sprintf("page %d of the tracker table at %#x is zeroed", d.Page, d.Table)
		}
		return fmt.Sprintf("page %d of CPU %d's tracker table is zeroed", d.Page, d.CPU)
	case analysis.KeyConflict:
		return fmt.Sprintf("the global and the CPUs' tables hold different keys at entry %d", d.First)
	case analysis.GlobalEntryLost:
		return "the CPUs' tables hold their keys where the global table's entries are empty"
	}
	return fmt.Sprintf("its %s bytes, %s, exceed what the pool can hold, %s", x.Pool, units.Bytes(x.Bytes), units.Bytes(x.Bound))
}
