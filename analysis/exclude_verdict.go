package analysis

import (
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
)

// CheckExcluded is the verdict check of a ranking that left damaged tags
// out: it never passes, and caps the confidence at medium, or at low when
// the tags left out could hold the leak.
const CheckExcluded = "damaged tags left out"

// decideExcluded is the verdict on sums whose failures were pinned to a
// few tags (e): those are left out and the rest ranked against the
// pool's bound, at medium at most, low when the excluded tags could hold
// the leak; no driver when an excluded tag's surviving counters say it
// leads. base are the findings decided before the ranking.
func decideExcluded(r *Result, e *Exclusion, base []Finding) (Verdict, []Check) {
	v := Verdict{Culprits: []Culprit{}, Excluded: e}
	for _, f := range base {
		if f.Kind == PoolShort && e.Pool(f.Pool).Damaged {
			continue // the damaged pool's use is not known
		}
		v.Findings = append(v.Findings, f)
	}
	v.Findings = append(v.Findings, Finding{Kind: TagsExcluded, Exclusion: e})

	var picks []pick
	for _, t := range []PoolType{NonPaged, Paged} {
		ep := e.Pool(t)
		if ep.Damaged && ep.Bound == 0 || !ep.Damaged && !pressed(r.Pool.Pressure(t)) {
			continue // no bound to rank a damaged pool against; a calm pool
		}
		for i := range ep.Rows {
			if i >= verdictDepth || ep.Rows[i].Share < suspectShare {
				break
			}
			picks = append(picks, pick{tag: &ep.Rows[i], cand: ep.Rows[i].Owner()})
		}
	}
	g := &graded{res: r}
	if e.Leading == nil && len(picks) > 0 {
		g.tag, g.cand = picks[0].tag, picks[0].cand
		blame(&v, g, picks, e.CouldHoldLeak)
	}
	checks := runChecks(g)
	for i := range checks {
		if checks[i].Status == Failed && sumChecks[checks[i].Name] {
			// Pinned to the tags left out: the check below says what
			// that leaves, and what would raise it.
			checks[i].Limit, checks[i].Raise = Medium, ""
		}
	}
	checks = append(checks, excludedCheck(e))
	switch {
	case len(v.Culprits) == 0:
		v.Confidence = NoConfidence
		v.Reasons = []string{noNameReason(e, picks)}
	default:
		v.Confidence, v.Reasons = confidence(g, checks)
	}
	v.Raise = raise(v.Confidence, checks, false)
	if bugCheckMeaning(r.Machine) == dumpfile.BugCheckPoolCorruption {
		v.Suspects, v.Culprits = v.Culprits, []Culprit{}
	}
	return v, checks
}

// excludedCheck caps the confidence of a ranking without the damaged
// tags.
func excludedCheck(e *Exclusion) Check {
	k := Check{Name: CheckExcluded, Status: Failed, Limit: Medium,
		Raise: "The pool data contradicts itself in a few entries, whose tags were left out: a dump of the same machine that is not damaged, or !poolused from a debugger on it, would show whether they hold more."}
	names := make([]string, len(e.Tags))
	for i, x := range e.Tags {
		names[i] = strings.TrimRight(x.Tag.String(), " ")
	}
	k.Detail = fmt.Sprintf("%d tags left out (%s)", len(names), strings.Join(names, ", "))
	if e.CouldHoldLeak {
		k.Limit = Low
		k.Detail += ": they could hold as much as a tag the verdict weighs"
	} else {
		k.Detail += ": what they can have held is below what the verdict weighs"
	}
	return k
}

// noNameReason says why no driver is named on a ranking without the
// damaged tags.
func noNameReason(e *Exclusion, picks []pick) string {
	switch {
	case e.Leading != nil:
		return fmt.Sprintf("no driver is named: the surviving counters of %s, whose entry is damaged, place it among the leading tags", trimTag(e.Leading))
	case len(picks) == 0:
		return "no driver is named: without the damaged tags, no tag holds 10% or more of its pool's bound"
	}
	return "no driver is named: without the damaged tags, no leading tag has an owner that can be blamed on its size"
}
