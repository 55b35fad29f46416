package analysis

import (
	"fmt"

	"github.com/poolblame/poolblame/pe"
)

// laterDumpShowsGrowth is the advice when nothing stands out.
const laterDumpShowsGrowth = "A later dump of the same machine (poolblame batch) would show which tags grow."

// secondDumpShowsGrowth is the advice that always applies to one dump:
// a leak is growth, and one dump shows a level.
const secondDumpShowsGrowth = "A second dump of the same machine some days later (poolblame batch) shows whether the tag keeps growing."

// laterCaptureShowsGrowth is that advice for a pool snapshot, which has
// no dump to take a second of: any later capture of the same machine
// serves, and a kernel dump adds the module list and the pool itself.
const laterCaptureShowsGrowth = "A later snapshot or a kernel dump of the same machine (poolblame batch) shows whether the tag keeps growing."

// evidenceConfidence is what the owner's evidence alone supports: a call
// site proves the driver allocates with the tag, an immediate that its
// code holds the value, bytes or a pooltag.txt line only a likelihood.
func evidenceConfidence(c *Candidate) Confidence {
	switch {
	case c == nil:
		return NoConfidence
	case c.Source == FromPooltag:
		return Low
	}
	switch c.Kind() {
	case pe.CallSite:
		return High
	case pe.Immediate:
		return Medium
	}
	return Low
}

// confidence starts from the evidence and lowers it by every check that
// did not pass, to that check's Limit. It never raises it.
func confidence(g *graded, checks []Check) (Confidence, []string) {
	c := evidenceConfidence(g.cand)
	var reasons []string
	if g.cand == nil {
		reasons = append(reasons, fmt.Sprintf("no driver was found that uses %s", trimTag(g.tag)))
	} else {
		what := g.cand.Kind().String() + " evidence"
		if g.cand.Source == FromPooltag {
			what = "a pooltag.txt entry"
		}
		reasons = append(reasons, fmt.Sprintf("%s has %s for %s: at most %s", g.cand.Name, what, trimTag(g.tag), c))
	}
	for _, k := range checks {
		if k.Limits(c) {
			c = k.Limit
			if k.Detail == "" {
				reasons = append(reasons, fmt.Sprintf("check %q %s: at most %s", k.Name, k.Status, c))
				continue
			}
			reasons = append(reasons, fmt.Sprintf("check %q %s (%s): at most %s", k.Name, k.Status, k.Detail, c))
		}
	}
	return c, reasons
}

// raise lists what would raise the confidence: each check that did not
// pass and says what would make it pass, then a second capture (a dump,
// or for a snapshot any later capture). At High only that is left to ask
// for.
func raise(c Confidence, checks []Check, snapshot bool) []string {
	var out []string
	seen := map[string]bool{}
	if c < High {
		for _, k := range checks {
			if k.Status != Passed && k.Raise != "" && !seen[k.Raise] {
				seen[k.Raise] = true
				out = append(out, k.Raise)
			}
		}
	}
	if snapshot {
		if !seen[laterCaptureShowsGrowth] {
			out = append(out, laterCaptureShowsGrowth)
		}
		return out
	}
	return append(out, secondDumpShowsGrowth)
}
