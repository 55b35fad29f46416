package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/units"
)

// verdict puts the analysis's verdict into the report's words: one
// sentence per finding, in the analysis's order. Nothing is decided here.
func verdict(res *analysis.Result) Verdict {
	av := res.Verdict
	v := Verdict{Confidence: av.Confidence, Culprits: []Culprit{}, Raise: av.Raise}
	for _, f := range av.Findings {
		v.Sentences = append(v.Sentences, finding(res, f))
	}
	for _, c := range av.Culprits {
		v.Culprits = append(v.Culprits, culprit(c))
	}
	for _, c := range av.Suspects {
		v.Suspects = append(v.Suspects, culprit(c))
	}
	return v
}

func culprit(c analysis.Culprit) Culprit {
	cu := Culprit{Driver: c.Driver, Bytes: c.Bytes, ThirdParty: c.Owner == analysis.OwnerThirdParty, Owner: c.Owner}
	for _, t := range c.Tags {
		cu.Tags = append(cu.Tags, trimTag(t.String()))
	}
	return cu
}

// finding is one finding in one sentence.
func finding(res *analysis.Result, f analysis.Finding) string {
	switch f.Kind {
	case analysis.PoolShort:
		return poolShortSentence(f.Pool, res.Pool.Pressure(f.Pool))
	case analysis.HTTPSysRefuses:
		return sentence(httpSysFact(httpSys(res.Pool.HTTPSys)))
	case analysis.OneCPUTable:
		return fmt.Sprintf("Caution: the per-CPU tracker tables of this %d-CPU machine were not found; the figures cover one CPU's table only.", res.Machine.CPUs)
	case analysis.NeitherPoolShort:
		against := "its maximum"
		if res.Pool.NonPaged.Max == 0 && res.Pool.NonPaged.NoFixedMax {
			against = "physical memory"
		}
		return fmt.Sprintf("Neither pool was near %s (nonpaged %.0f%%, paged %.0f%%): the tags below hold the most, which is not proof of a leak.",
			against, res.Pool.NonPaged.Shown(), res.Pool.Paged.Shown())
	case analysis.NothingStandsOut:
		return "No tag holds 10% or more of its pool: nothing stands out as a leak in this dump."
	case analysis.NoDriverFound:
		t := f.Tag
		s := fmt.Sprintf("Tag %s holds %s (%.0f%% of %s pool) but no driver was found that uses it%s",
			trimTag(t.Tag.String()), units.Bytes(t.Bytes), t.Share, t.Pool, searchedWhere(res.Sources))
		if x := textOnlyFact(t.TextOnly); x != "" {
			s += "; it " + x
		}
		return s + "."
	case analysis.MicrosoftNotBlamed:
		if f.Rival == nil {
			return fmt.Sprintf("%s (Microsoft) owns tag %s with %s, but Microsoft drivers are not blamed on tag size alone while the tags left out could hold more.",
				f.Candidate.Name, trimTag(f.Tag.Tag.String()), units.Bytes(f.Tag.Bytes))
		}
		return fmt.Sprintf("%s (Microsoft) owns tag %s with %s, but Microsoft drivers are not blamed on tag size alone while the third-party tag %s grows with it.",
			f.Candidate.Name, trimTag(f.Tag.Tag.String()), units.Bytes(f.Tag.Bytes), trimTag(f.Rival.Tag.String()))
	case analysis.Blamed:
		return culpritSentence(f.Tag, f.Candidate, res.Machine.GrowthSpan)
	case analysis.PoolCorruption:
		m := res.Machine
		return fmt.Sprintf("Bug check %#x %s is pool corruption, not exhaustion: the tags that hold the most did not necessarily corrupt anything. The drivers below are suspects by their evidence; put them under Special Pool or Driver Verifier to catch the one that corrupts.", m.BugCheck, m.BugCheckName)
	case analysis.DataContradicts:
		return "The pool data contradicts itself (" + strings.Join(contradiction(f), "; ") + "): no driver is named, because the leading tags may be the damage itself. The drivers that use them are listed below; a dump whose data passes these checks would show which one leaks."
	case analysis.TagsExcluded:
		return excludedSentence(res, f.Exclusion)
	case analysis.NoPoolAnalysis:
		if res.Machine.Triage {
			return "This is a triage dump (minidump): it carries no pool memory, so no pool analysis is possible."
		}
		return "No pool analysis is possible from this dump: " + res.PoolErr.Error() + "."
	}
	return fmt.Sprintf("(finding %d)", int(f.Kind))
}

// contradiction lists what contradicts, one phrase each: a failed
// check's name and what it found, or the CPUs left out of the sums.
func contradiction(f analysis.Finding) []string {
	var out []string
	for _, c := range f.Failed {
		out = append(out, c.Name+" failed: "+checkDetail(c))
	}
	if f.Summed < f.CPUs {
		out = append(out, fmt.Sprintf("only %d of %d CPUs' tracker tables are in the sums", f.Summed, f.CPUs))
	}
	return out
}

// sentence makes a fact shared with the pressure lines a sentence.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func httpSys(h *analysis.HTTPSys) *HTTPSys {
	if h == nil {
		return nil
	}
	return &HTTPSys{FreeNonPaged: h.FreeNonPaged, Threshold: h.Threshold, Below: h.Below}
}

func poolShortSentence(which analysis.PoolType, p analysis.Pressure) string {
	name := which.String()
	if p.Max == 0 {
		return fmt.Sprintf("%s pool held %.0f%% of physical memory (%s of %s); this build has no fixed maximum.", strings.ToUpper(name[:1])+name[1:], p.Shown(), units.Bytes(p.Used), units.Bytes(p.PhysicalBytes))
	}
	s := fmt.Sprintf("%s pool was %.0f%% used (%s of %s)", strings.ToUpper(name[:1])+name[1:], p.Percent, units.Bytes(p.Used), units.Bytes(p.Max))
	if p.DaysToExhaustion == 0 {
		s += ": exhausted"
	} else if p.DaysToExhaustion > 0 {
		s += fmt.Sprintf("; at its average growth since boot it would run out in %s", units.Days(p.DaysToExhaustion))
	}
	return s + "."
}

func culpritSentence(t *analysis.TagUsage, c *analysis.Candidate, span time.Duration) string {
	var id []string
	if c.Identity.Company != "" {
		id = append(id, c.Identity.Company)
	}
	if c.Identity.Version != "" {
		id = append(id, c.Identity.Version)
	}
	switch {
	case c.Source == analysis.FromPooltag:
		id = append(id, "named by pooltag.txt only")
	default:
		id = append(id, c.Owner.String())
	}
	verb := "is the likely owner of"
	switch {
	case c.Source == analysis.FromPooltag:
	case c.Kind() == pe.CallSite:
		verb = "owns"
	case c.Kind() == pe.Immediate:
		verb = "uses"
	}
	s := fmt.Sprintf("%s (%s) %s tag %s: %s outstanding %s allocations, %s, %.0f%% of %s pool",
		c.Name, strings.Join(id, ", "), verb, trimTag(t.Tag.String()), units.Count(t.Outstanding), t.Pool, units.Bytes(t.Bytes), t.Share, t.Pool)
	switch {
	case span > 0 && t.GrowthPerDay > 0:
		s += fmt.Sprintf(", growing about %s per hour over the %s measured", units.BytesF(t.GrowthPerDay/24), units.Uptime(span.Seconds()))
	case span > 0:
		s += fmt.Sprintf(", not growing over the %s measured", units.Uptime(span.Seconds()))
	case t.GrowthPerDay > 0:
		s += fmt.Sprintf(", growing about %s per day of uptime", units.Bytes(uint64(t.GrowthPerDay)))
	}
	return s + "."
}

func searchedWhere(s analysis.Sources) string {
	var w []string
	if len(s.DriverFolders) > 0 {
		w = append(w, "in the driver folders")
	}
	if s.DumpImagesScanned > 0 {
		w = append(w, "in the dump's driver images")
	}
	if len(w) == 0 {
		return " (no drivers were searched: give --drivers)"
	}
	return " " + strings.Join(w, " or ")
}
