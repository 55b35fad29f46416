package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/units"
)

// Thresholds for naming a tag in the verdict.
const (
	suspectShare = 10.0 // percent of its pool
	strongShare  = 20.0
)

// verdict names the likely culprits. It looks at the leading tags of each
// pool, prefers third-party owners over Microsoft ones that merely hold
// more, and grades confidence by the evidence.
func verdict(r *Report, res *pool.Result) Verdict {
	v := Verdict{Culprits: []Culprit{}}
	v.Sentences = append(v.Sentences, pressureSentences(r)...)

	type pick struct {
		row  TagRow
		cand *Candidate
	}
	// Look at the pools under pressure (half full, or maximum unknown);
	// when neither is, at both, and say so.
	pressed := func(pp PoolPressure) bool { return pp.Percent < 0 || pp.Percent >= 50 }
	pools := [][]TagRow{}
	if pressed(r.Pool.NonPaged) {
		pools = append(pools, r.LeadingNonPaged)
	}
	if pressed(r.Pool.Paged) {
		pools = append(pools, r.LeadingPaged)
	}
	calm := len(pools) == 0
	if calm {
		pools = [][]TagRow{r.LeadingNonPaged, r.LeadingPaged}
		v.Sentences = append(v.Sentences, fmt.Sprintf("Neither pool was near its maximum (nonpaged %.0f%%, paged %.0f%%): the tags below hold the most, which is not proof of a leak.",
			r.Pool.NonPaged.Percent, r.Pool.Paged.Percent))
	}
	var picks []pick
	for _, rows := range pools {
		for i, t := range rows {
			if i >= 3 || t.Share < suspectShare {
				break
			}
			var c *Candidate
			if len(t.Candidates) > 0 {
				c = &t.Candidates[0]
			}
			picks = append(picks, pick{t, c})
		}
	}
	if len(picks) == 0 {
		v.Sentences = append(v.Sentences, "No tag holds 10% or more of its pool: nothing stands out as a leak in this dump.")
		v.Confidence = "none"
		v.Raise = append(v.Raise, "A later dump of the same machine (poolblame batch) would show which tags grow.")
		return v
	}

	// A Microsoft owner is not blamed on size alone while a third-party
	// tag among the leaders also holds a large share.
	var thirdParty []pick
	for _, p := range picks {
		if p.cand != nil && !p.cand.Microsoft && p.cand.Source != "pooltag.txt" {
			thirdParty = append(thirdParty, p)
		}
	}
	byDriver := map[string]*Culprit{}
	var order []string
	for _, p := range picks {
		if p.cand == nil {
			v.Sentences = append(v.Sentences, fmt.Sprintf("Tag %s holds %s (%.0f%% of %s pool) but no driver was found that uses it%s.",
				trimTag(p.row.Tag), units.Bytes(p.row.Bytes), p.row.Share, p.row.Pool, searchedWhere(r)))
			continue
		}
		if p.cand.Microsoft && len(thirdParty) > 0 {
			v.Sentences = append(v.Sentences, fmt.Sprintf("%s (Microsoft) owns tag %s with %s, but Microsoft drivers are not blamed on tag size alone while the third-party tag %s grows with it.",
				p.cand.Name, trimTag(p.row.Tag), units.Bytes(p.row.Bytes), trimTag(thirdParty[0].row.Tag)))
			continue
		}
		v.Sentences = append(v.Sentences, culpritSentence(p.row, p.cand))
		key := strings.ToLower(p.cand.Name)
		c, ok := byDriver[key]
		if !ok {
			c = &Culprit{Driver: p.cand.Name, ThirdParty: !p.cand.Microsoft}
			byDriver[key] = c
			order = append(order, key)
		}
		c.Tags = append(c.Tags, trimTag(p.row.Tag))
		c.Bytes += p.row.Bytes
	}
	for _, k := range order {
		v.Culprits = append(v.Culprits, *byDriver[k])
	}
	v.Confidence, v.Raise = confidence(r, res, picks[0].row, picks[0].cand)
	if calm && v.Confidence == "high" {
		// Owner and tag are certain, the leak is not: no pool was short.
		v.Confidence = "medium"
		v.Raise = append([]string{"No pool was near its maximum: a later dump showing the tag still growing would confirm a leak."}, v.Raise...)
	}
	return v
}

func trimTag(t string) string { return strings.TrimRight(t, " ") }

func culpritSentence(t TagRow, c *Candidate) string {
	who := c.Name
	var id []string
	if c.Company != "" {
		id = append(id, c.Company)
	}
	if c.Version != "" {
		id = append(id, c.Version)
	}
	if c.Source == "pooltag.txt" {
		id = append(id, "named by pooltag.txt only")
	} else if c.Microsoft {
		id = append(id, "Microsoft")
	} else {
		id = append(id, "third party")
	}
	who += " (" + strings.Join(id, ", ") + ")"
	verb := "owns"
	switch c.Evidence {
	case "immediate":
		verb = "uses"
	case "bytes", "pooltag":
		verb = "is the likely owner of"
	}
	s := fmt.Sprintf("%s %s tag %s: %s outstanding %s allocations, %s, %.0f%% of %s pool",
		who, verb, trimTag(t.Tag), units.Count(t.Outstanding), t.Pool, units.Bytes(t.Bytes), t.Share, t.Pool)
	if t.GrowthPerDay > 0 {
		s += fmt.Sprintf(", growing about %s per day of uptime", units.Bytes(uint64(t.GrowthPerDay)))
	}
	return s + "."
}

func pressureSentences(r *Report) []string {
	var out []string
	p := r.Pool
	for _, x := range []struct {
		name string
		pp   PoolPressure
	}{{"Nonpaged", p.NonPaged}, {"Paged", p.Paged}} {
		if x.pp.Max == 0 || x.pp.Percent < 50 {
			continue
		}
		s := fmt.Sprintf("%s pool was %.0f%% used (%s of %s)", x.name, x.pp.Percent, units.Bytes(x.pp.Used), units.Bytes(x.pp.Max))
		if x.pp.DaysToExhaustion == 0 {
			s += ": exhausted"
		} else if x.pp.DaysToExhaustion > 0 {
			s += fmt.Sprintf("; at its average growth since boot it would run out in %s", units.Days(x.pp.DaysToExhaustion))
		}
		out = append(out, s+".")
	}
	if h := p.HTTPSys; h != nil && h.Below {
		out = append(out, fmt.Sprintf("Free nonpaged pool (%s) was below HTTP.SYS's 20 MiB threshold: HTTP.SYS refuses new connections (HTTPERR Connections_Refused).", units.Bytes(h.FreeNonPaged)))
	}
	if p.OneCPUOnly {
		out = append(out, fmt.Sprintf("Caution: the per-CPU tracker tables of this %d-CPU machine were not found; the figures cover one CPU's table only.", r.Dump.CPUs))
	}
	return out
}

// confidence grades the top pick's evidence and says what would raise it.
func confidence(r *Report, res *pool.Result, t TagRow, c *Candidate) (string, []string) {
	var raise []string
	if len(r.Sources.DriverFolders) == 0 {
		raise = append(raise, "Index the machine's drivers (--drivers with a copy of C:\\Windows\\System32\\drivers) to read version and signature of each candidate.")
	}
	if res.OneCPUOnly {
		raise = append(raise, "The per-CPU tracker tables were not found: a dump from the same build with symbols (!poolused) would confirm the totals.")
	}
	if res.Partial {
		raise = append(raise, "Part of the tracker data is missing from this dump: a complete or kernel dump with the pages present would fill it in.")
	}
	raise = append(raise, "A second dump of the same machine some days later (poolblame batch) shows whether the tag keeps growing.")
	if c == nil {
		return "none", raise
	}
	rivals := 0
	for _, o := range t.Candidates[1:] {
		if rank(o) == rank(*c) && o.Source != "pooltag.txt" {
			rivals++
		}
	}
	level := "low"
	switch {
	case c.Evidence == "call-site" && rivals == 0 && c.Loaded && t.Share >= strongShare && !res.OneCPUOnly:
		level = "high"
	case c.Evidence == "call-site" || c.Evidence == "immediate":
		level = "medium"
	}
	if res.OneCPUOnly || len(res.MissingCPUs) > 0 {
		level = "low" // without every CPU's table the totals can be far off
	}
	if rivals > 0 {
		raise = append([]string{fmt.Sprintf("%d other drivers show the same kind of evidence for %s: compare them (tags can be reused on purpose).", rivals, trimTag(t.Tag))}, raise...)
	}
	if !c.Loaded {
		raise = append([]string{fmt.Sprintf("%s is not in the dump's module list: check that the indexed file is the one that was loaded.", c.Name)}, raise...)
	}
	if level == "high" {
		raise = raise[len(raise)-1:]
	}
	return level, raise
}

func noPoolVerdict(f *dumpfile.File, err error) Verdict {
	v := Verdict{Confidence: "none", Culprits: []Culprit{}}
	if f.DumpType == dumpfile.TypeTriage {
		v.Sentences = []string{"This is a triage dump (minidump): it carries no pool memory, so no pool analysis is possible."}
		v.Raise = []string{"Set the machine to write a kernel or automatic memory dump (Startup and Recovery), or take a live kernel dump, and analyse that."}
		return v
	}
	v.Sentences = []string{"No pool analysis is possible from this dump: " + err.Error() + "."}
	if errors.Is(err, pool.ErrNoPoolData) {
		v.Raise = []string{"A kernel, automatic or complete memory dump with the pool tracker pages present is needed."}
	}
	return v
}

func searchedWhere(r *Report) string {
	var w []string
	if len(r.Sources.DriverFolders) > 0 {
		w = append(w, "in the driver folders")
	}
	if r.Sources.DumpImagesScanned > 0 {
		w = append(w, "in the dump's driver images")
	}
	if len(w) == 0 {
		return " (no drivers were searched: give --drivers)"
	}
	return " " + strings.Join(w, " or ")
}
