package analysis

import (
	"errors"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
)

// What makes a tag stand out.
const (
	// verdictDepth is how many leading tags of each pool the verdict
	// weighs: a leak big enough to matter is among the first few.
	verdictDepth = 3
	// suspectShare is the share of its pool (percent) a tag must hold
	// to be named.
	suspectShare = 10.0
	// strongShare is the share above which size alone supports a high
	// confidence.
	strongShare = 20.0
	// shortPercent is the use (percent of its maximum) from which a
	// pool is under pressure.
	shortPercent = 50.0
)

// pick is a leading tag the verdict weighs, with its first candidate.
type pick struct {
	tag  *TagUsage
	cand *Candidate // nil: no driver found
}

// decide writes the verdict on r's leading tags and runs the checks.
// It weighs the pools under pressure (half full, or maximum unknown);
// when neither is, both, and says so. A third-party owner is preferred
// over a Microsoft one that merely holds more.
func decide(r *Result) (Verdict, []Check) {
	v := Verdict{Culprits: []Culprit{}}
	p := r.Pool
	if bugCheckMeaning(r.Machine) == dumpfile.BugCheckPoolCorruption {
		v.Findings = append(v.Findings, Finding{Kind: PoolCorruption})
	}
	bounds := map[PoolType]string{NonPaged: pool.CheckNonPagedBounds, Paged: pool.CheckPagedBounds}
	for _, t := range []PoolType{NonPaged, Paged} {
		// A pool whose use is above its maximum or physical memory is not
		// called short: the sums are wrong, and the check says so.
		if p.Pressure(t).Short() && !poolCheckFailed(p, bounds[t]) {
			v.Findings = append(v.Findings, Finding{Kind: PoolShort, Pool: t})
		}
	}
	if p.HTTPSys != nil && p.HTTPSys.Below {
		v.Findings = append(v.Findings, Finding{Kind: HTTPSysRefuses})
	}
	if p.OneCPUOnly {
		v.Findings = append(v.Findings, Finding{Kind: OneCPUTable})
	}

	if r.excl != nil {
		return decideExcluded(r, r.excl, v.Findings)
	}
	picks, calm := weighed(r)
	if calm {
		v.Findings = append(v.Findings, Finding{Kind: NeitherPoolShort})
	}
	if len(picks) == 0 {
		v.Findings = append(v.Findings, Finding{Kind: NothingStandsOut})
		v.Confidence = NoConfidence
		v.Reasons = []string{"no tag holds 10% or more of its pool"}
		v.Raise = []string{laterDumpShowsGrowth}
		return v, runChecks(&graded{res: r, calm: calm})
	}

	g := &graded{res: r, calm: calm, tag: picks[0].tag, cand: picks[0].cand}
	blame(&v, g, picks, false)
	checks := runChecks(g)
	v.Confidence, v.Reasons = confidence(g, checks)
	v.Raise = raise(v.Confidence, checks, r.Machine.Snapshot != "")
	if why := contradictions(r); why != nil {
		// Sums that contradict themselves rank the damage, not the leak:
		// a wrong name at any confidence is worse than none.
		kept := v.Findings[:0]
		for _, f := range v.Findings {
			if f.Kind != Blamed && f.Kind != MicrosoftNotBlamed {
				kept = append(kept, f)
			}
		}
		v.Findings = append(kept, *why)
		v.Culprits = []Culprit{}
		v.Confidence = NoConfidence
		var what []string
		for _, c := range why.Failed {
			what = append(what, c.Name+" failed")
		}
		if why.Summed < why.CPUs {
			what = append(what, "CPUs' tracker tables left out of the sums")
		}
		v.Reasons = append(v.Reasons, "no driver is named: the pool data contradicts itself ("+strings.Join(what, "; ")+")")
		return v, checks
	}
	if bugCheckMeaning(r.Machine) == dumpfile.BugCheckPoolCorruption {
		// Corruption: no culprit by size; the drivers with evidence are
		// the suspects to put under Special Pool.
		v.Suspects, v.Culprits = v.Culprits, []Culprit{}
	}
	return v, checks
}

// sumChecks are the pool checks whose failure means the tag sums
// themselves are wrong (not merely a header field, found another way).
var sumChecks = map[string]bool{
	pool.CheckPerCPUTables: true, pool.CheckPerCPUAgree: true, pool.CheckTablePages: true,
	pool.CheckCounters: true, pool.CheckNonPagedBounds: true, pool.CheckPagedBounds: true,
}

// contradictions says what makes the tag sums untrustworthy as a
// ranking, as a DataContradicts finding: failed sum checks, and CPUs
// whose tables are not in the sums (a partial sum over CPUs counts where
// allocations and frees ran, not what is outstanding: a tag with much
// churn can lead it with nothing held). Nil when the sums can be ranked.
func contradictions(r *Result) *Finding {
	p := r.Pool
	if p == nil || r.Machine.Snapshot != "" {
		return nil
	}
	f := Finding{Kind: DataContradicts}
	for _, c := range p.Checks {
		if c.Status == pool.CheckFailed && sumChecks[c.Name] {
			f.Failed = append(f.Failed, c)
		}
	}
	if len(f.Failed) == 0 && r.Machine.CPUs > 1 && (p.OneCPUOnly || p.PerCPU-len(p.MissingCPUs) < r.Machine.CPUs) {
		f.Summed, f.CPUs = 1, r.Machine.CPUs
		if !p.OneCPUOnly {
			f.Summed = p.PerCPU - len(p.MissingCPUs)
		}
	}
	if len(f.Failed) == 0 && f.Summed == f.CPUs {
		return nil
	}
	return &f
}

// poolCheckFailed reports whether the named pool data check failed.
func poolCheckFailed(p *Pool, name string) bool {
	for _, c := range p.Checks {
		if c.Name == name && c.Status == pool.CheckFailed {
			return true
		}
	}
	return false
}

// weighed returns the leading tags the verdict weighs, and whether no
// pool was under pressure (calm), in which case both pools are weighed.
func weighed(r *Result) (picks []pick, calm bool) {
	var pools [][]TagUsage
	if pressed(r.Pool.NonPaged) {
		pools = append(pools, r.NonPaged)
	}
	if pressed(r.Pool.Paged) {
		pools = append(pools, r.Paged)
	}
	calm = len(pools) == 0
	if calm {
		pools = [][]TagUsage{r.NonPaged, r.Paged}
	}
	for _, rows := range pools {
		for i := range rows {
			if i >= verdictDepth || rows[i].Share < suspectShare {
				break
			}
			picks = append(picks, pick{tag: &rows[i], cand: rows[i].Owner()})
		}
	}
	return picks, calm
}

// pressed says whether a pool is weighed: at least half used, or its
// use against a maximum unknown.
func pressed(pp Pressure) bool { return pp.Shown() < 0 || pp.Shown() >= shortPercent }

// noPoolVerdict is the verdict when no pool analysis was possible, with
// the kind of dump that would allow one.
func noPoolVerdict(m Machine, err error) Verdict {
	v := Verdict{Findings: []Finding{{Kind: NoPoolAnalysis}}, Culprits: []Culprit{},
		Confidence: NoConfidence, Reasons: []string{"no pool analysis was possible"}}
	switch {
	case m.Triage:
		v.Raise = []string{"Set the machine to write a kernel or automatic memory dump (Startup and Recovery), or take a live kernel dump, and analyse that."}
	case errors.Is(err, dumpfile.ErrUnsupportedPaging):
		v.Raise = []string{"The pool analysis needed a walk of this architecture's whole page tables, which this version does not do (on ARM32 it translates single addresses through ARMv7 short descriptors, but does not walk the tables or read Windows' software entries). On the machine, poolmon or !poolused output gives the pool tags instead (poolblame reads both)."}
	case errors.Is(err, pool.ErrNoPoolData):
		v.Raise = []string{"A kernel, automatic or complete memory dump with the pool tracker pages present is needed."}
	}
	return v
}

// blame writes the findings of picks and the culprits. A Microsoft owner
// is not blamed on size alone while a third-party tag among the leaders
// also holds a large share, nor, when damaged tags were left out and
// could hold the leak (couldHold), while one of them may be the third
// party's that would overrule it. g is set to the first driver blamed:
// the confidence is that driver's.
func blame(v *Verdict, g *graded, picks []pick, couldHold bool) {
	var rival *TagUsage
	for _, pk := range picks {
		if pk.cand != nil && pk.cand.Owner == OwnerThirdParty {
			rival = pk.tag
			break
		}
	}
	byDriver := map[string]int{}
	for _, pk := range picks {
		switch {
		case pk.cand == nil:
			v.Findings = append(v.Findings, Finding{Kind: NoDriverFound, Tag: pk.tag})
			continue
		case pk.cand.Owner == OwnerMicrosoft && (rival != nil || couldHold):
			v.Findings = append(v.Findings, Finding{Kind: MicrosoftNotBlamed, Tag: pk.tag, Candidate: pk.cand, Rival: rival})
			continue
		}
		v.Findings = append(v.Findings, Finding{Kind: Blamed, Tag: pk.tag, Candidate: pk.cand})
		if len(v.Culprits) == 0 {
			g.tag, g.cand = pk.tag, pk.cand
		}
		key := strings.ToLower(pk.cand.Name)
		i, ok := byDriver[key]
		if !ok {
			i = len(v.Culprits)
			byDriver[key] = i
			v.Culprits = append(v.Culprits, Culprit{Driver: pk.cand.Name, Owner: pk.cand.Owner})
		}
		v.Culprits[i].Tags = append(v.Culprits[i].Tags, pk.tag.Tag)
		v.Culprits[i].Bytes += pk.tag.Bytes
	}
}
