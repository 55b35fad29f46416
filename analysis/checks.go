package analysis

import (
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/units"
)

// graded is what the checks look at: the result so far, and the tag and
// driver the confidence is about (nil when nothing stands out or no
// driver was found).
type graded struct {
	res  *Result
	calm bool // no pool was under pressure
	tag  *TagUsage
	cand *Candidate
}

// Check names, as Check.Name holds them.
const (
	CheckPoolPressure  = "pool pressure"
	CheckLoaded        = "owner loaded"
	CheckSoleOwner     = "sole owner"
	CheckShare         = "share of pool"
	CheckDriverFolders = "driver folders"
	CheckAllCPUs       = "every CPU's table"
	CheckComplete      = "tracker data complete"
	CheckBugCheck      = "bug check meaning"
	// CheckMoments is run on snapshots only: one moment shows a level.
	CheckMoments = "growth over time"
)

// checks are run in this order, which is also the order of the advice
// on raising the confidence. To add a check, add a function here: it
// sets Status, Detail and Raise; its Limit applies when it does not pass.
var checks = []struct {
	name  string
	limit Confidence
	run   func(g *graded) (CheckStatus, string, string)
}{
	{CheckPoolPressure, Medium, checkPoolPressure},
	{CheckLoaded, Medium, checkLoaded},
	{CheckSoleOwner, Medium, checkSoleOwner},
	{CheckShare, Medium, checkShare},
	{CheckDriverFolders, High, checkDriverFolders},
	{CheckAllCPUs, Low, checkAllCPUs},
	{CheckComplete, High, checkComplete},
	{CheckBugCheck, Low, checkBugCheck},
}

// checkBugCheck: a pool corruption bug check is not a leak; the tags
// holding the most did not necessarily corrupt anything.
func checkBugCheck(g *graded) (CheckStatus, string, string) {
	m := g.res.Machine
	meaning := bugCheckMeaning(m)
	d := fmt.Sprintf("%#x %s: %s", m.BugCheck, m.BugCheckName, meaning)
	if meaning != dumpfile.BugCheckPoolCorruption {
		return Passed, d, ""
	}
	return Failed, d + ", not exhaustion: the tracker shows who holds pool, not who corrupted it",
		"Enable Special Pool on the suspects (Driver Verifier: verifier /flags 0x1 /driver NAME.sys, or special pool by tag) and wait for the next crash: it stops at the corrupting access and names the driver."
}

func bugCheckMeaning(m Machine) dumpfile.BugCheckMeaning {
	var p1 uint64
	if len(m.BugCheckParams) > 0 {
		p1 = m.BugCheckParams[0]
	}
	return dumpfile.BugCheckMeaningOf(m.BugCheck, p1)
}

func runChecks(g *graded) []Check {
	out := make([]Check, 0, len(checks))
	for _, c := range checks {
		st, detail, raise := c.run(g)
		out = append(out, Check{Name: c.name, Status: st, Detail: detail, Limit: c.limit, Raise: raise})
	}
	out = append(out, scanChecks(g)...) // only when the pool was scanned
	if g.res.Machine.Snapshot != "" {
		st, detail, raise := checkMoments(g)
		out = append(out, Check{Name: CheckMoments, Status: st, Detail: detail, Limit: Medium, Raise: raise})
	}
	if g.res.Pool != nil {
		for _, c := range g.res.Pool.Checks {
			k := poolCheck(c)
			if g.res.Machine.Snapshot != "" && k.Status == NotRun {
				k.Raise = "The snapshot does not give it (" + c.Name + "): !vm 1 output from the same machine, pasted with the snapshot, gives the pools' use and maxima."
			}
			out = append(out, k)
		}
	}
	return out
}

// poolCheck turns an invariant of the pool data into a verdict check.
// Data that contradicts itself (failed) allows low; data that is missing
// (unknown) medium. A header CPU count that is not believed allows
// medium: the per-CPU tables are looked for anyway, and their own check
// says whether they were found.
func poolCheck(c pool.Check) Check {
	k := Check{Name: c.Name, Data: &c, Limit: High}
	switch c.Status {
	case pool.CheckPassed:
		k.Status = Passed
	case pool.CheckFailed:
		k.Status, k.Limit = Failed, Low
		if c.Name == pool.CheckCPUCount || c.Name == pool.CheckKernBase {
			// A header or KDBG field that is wrong, but whose fact was
			// found another way: the sums themselves are checked apart.
			k.Limit = Medium
		}
		k.Raise = "The pool data contradicts itself (see the failed checks): a dump of the same machine that is not damaged, or !poolused from a debugger on it, would show the true figures."
	default:
		k.Status, k.Limit = NotRun, Medium
		k.Raise = "Part of the pool data is missing (see the unknown checks): a complete or kernel dump with those pages present would settle it."
	}
	return k
}

// checkPoolPressure: a pool under pressure makes a leak likely; without
// it the leading tags are only the largest.
func checkPoolPressure(g *graded) (CheckStatus, string, string) {
	p := g.res.Pool
	if g.calm {
		against := "its maximum"
		if p.NonPaged.Max == 0 && p.NonPaged.NoFixedMax {
			against = "physical memory"
		}
		return Failed, fmt.Sprintf("neither pool was near %s (nonpaged %.0f%%, paged %.0f%%)", against, p.NonPaged.Shown(), p.Paged.Shown()),
			"No pool was near its maximum: a later dump showing the tag still growing would confirm a leak."
	}
	var what, unknown []string
	for _, t := range []PoolType{NonPaged, Paged} {
		switch pp := p.Pressure(t); {
		case pp.Shown() < 0:
			unknown = append(unknown, t.String()+" maximum unknown")
		case pp.Shown() >= shortPercent && pp.Max == 0:
			what = append(what, fmt.Sprintf("%s %.0f%% of physical memory", t, pp.Shown()))
		case pp.Shown() >= shortPercent:
			what = append(what, fmt.Sprintf("%s %.0f%% used", t, pp.Shown()))
		}
	}
	if len(what) == 0 && len(unknown) > 0 {
		// An unknown pressure is weighed, but it never raises the
		// confidence the way a known one does.
		return NotRun, strings.Join(unknown, ", "),
			"The pool maximum is not in this dump: a dump with it readable (or !vm output from the same machine) would show how close the pool was to it."
	}
	return Passed, strings.Join(append(what, unknown...), ", "), ""
}

// checkLoaded: the blamed file should be the one the machine ran.
func checkLoaded(g *graded) (CheckStatus, string, string) {
	c := g.cand
	switch {
	case c == nil:
		return NotRun, "no driver to check", ""
	case g.res.Machine.Snapshot != "":
		return NotRun, "a pool snapshot has no module list", "A kernel or automatic dump of the machine would show whether " + c.Name + " was loaded."
	case c.Loaded:
		return Passed, c.Name + " is in the dump's module list", ""
	}
	return Failed, c.Name + " is not in the dump's module list",
		fmt.Sprintf("%s is not in the dump's module list: check that the indexed file is the one that was loaded.", c.Name)
}

// checkSoleOwner: other drivers with evidence as strong as the owner's
// make the owner a guess among equals.
func checkSoleOwner(g *graded) (CheckStatus, string, string) {
	if g.cand == nil {
		return NotRun, "no driver to compare", ""
	}
	n := rivals(g.tag)
	if n == 0 {
		return Passed, "no other driver shows " + g.cand.Kind().String() + " evidence for " + trimTag(g.tag), ""
	}
	return Failed, fmt.Sprintf("%d other drivers show the same kind of evidence", n),
		fmt.Sprintf("%d other drivers show the same kind of evidence for %s: compare them (tags can be reused on purpose).", n, trimTag(g.tag))
}

// rivals counts the candidates after the first with evidence of the same
// strength, pooltag.txt entries aside.
func rivals(t *TagUsage) int {
	first := &t.Candidates[0]
	n := 0
	for i := 1; i < len(t.Candidates); i++ {
		o := &t.Candidates[i]
		if strength(o) == strength(first) && o.Source != FromPooltag {
			n++
		}
	}
	return n
}

// checkShare: a tag holding a large share of its pool is a leak's size,
// not a busy driver's.
func checkShare(g *graded) (CheckStatus, string, string) {
	if g.tag == nil {
		return NotRun, "no tag stands out", ""
	}
	d := fmt.Sprintf("%s holds %.0f%% of %s pool", trimTag(g.tag), g.tag.Share, g.tag.Pool)
	if g.tag.Share >= strongShare {
		return Passed, d, ""
	}
	return Failed, d + fmt.Sprintf(" (below %.0f%%)", strongShare), ""
}

// checkDriverFolders: only files have version and signature.
func checkDriverFolders(g *graded) (CheckStatus, string, string) {
	if s := g.res.Sources; len(s.DriverFolders) > 0 {
		return Passed, fmt.Sprintf("%d files indexed", s.FilesIndexed), ""
	}
	return NotRun, "no driver folders given",
		"Index the machine's drivers (--drivers with a copy of C:\\Windows\\System32\\drivers) to read version and signature of each candidate."
}

// checkAllCPUs: without every CPU's tracker table the totals can be far
// off.
func checkAllCPUs(g *graded) (CheckStatus, string, string) {
	p := g.res.Pool
	switch {
	case g.res.Machine.Snapshot != "":
		return Passed, "the " + g.res.Machine.Snapshot + " figures are the kernel's own sums over every CPU", ""
	case p.OneCPUOnly:
		return Failed, "the per-CPU tracker tables were not found: one CPU's table only",
			"The per-CPU tracker tables were not found: a dump from the same build with symbols (!poolused) would confirm the totals."
	case len(p.MissingCPUs) > 0:
		return Failed, fmt.Sprintf("%d CPUs' tracker tables are not in the dump", len(p.MissingCPUs)), ""
	}
	return Passed, fmt.Sprintf("%d per-CPU tables summed", p.PerCPU), ""
}

// checkComplete: every tracker page was read.
func checkComplete(g *graded) (CheckStatus, string, string) {
	p := g.res.Pool
	if p.Partial && g.res.Machine.Snapshot != "" {
		return Failed, "missing: " + strings.Join(p.Missing, "; "),
			"The snapshot lists part of the tags: a full list (poolmon /n, or !poolused without a tag filter) would show every tag's share."
	}
	if p.Partial {
		return Failed, "missing: " + strings.Join(p.Missing, "; "),
			"Part of the tracker data is missing from this dump: a complete or kernel dump with the pages present would fill it in."
	}
	return Passed, "every tracker page was read", ""
}

func trimTag(t *TagUsage) string { return strings.TrimRight(t.Tag.String(), " ") }

// checkMoments: a snapshot is one moment with no uptime, so it shows how
// much a tag holds, not that it grows; with an earlier snapshot of the
// same machine (poolblame live) the tag's growth was measured, and a tag
// that did not grow over it is a level, not a leak in progress.
func checkMoments(g *graded) (CheckStatus, string, string) {
	m := g.res.Machine
	span := m.GrowthSpan
	if span <= 0 {
		return NotRun, "one " + m.Snapshot + " snapshot: a level at one moment, with no uptime to average growth over",
			"Snapshots of the same machine some hours apart (poolblame batch) show which tags keep growing."
	}
	over := "over the " + units.Uptime(span.Seconds()) + " between the first and the last sample"
	switch {
	case g.tag == nil:
		return NotRun, "growth measured " + over + "; no tag stands out", ""
	case g.tag.GrowthPerDay > 0:
		return Passed, fmt.Sprintf("%s grew %s per hour %s", trimTag(g.tag), units.BytesF(g.tag.GrowthPerDay/24), over), ""
	}
	return Failed, fmt.Sprintf("%s did not grow %s: a level, not a leak in progress", trimTag(g.tag), over),
		fmt.Sprintf("Sample for longer (poolblame live -i, -n, --log) to see whether %s grows, or compare snapshots some hours apart (poolblame batch).", trimTag(g.tag))
}
