package analysis

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

// Scan is what one pass over the pool itself found for the leading tags:
// the tracker checked against the blocks, and what the blocks hold.
type Scan struct {
	Mode  string // "classic" or "segment heap"
	Pages poolscan.PageStats
	Big   poolscan.BigTable
	// Checks compares each leading tag's tracker count with the blocks
	// found, in the order of NonPaged then Paged.
	Checks []poolscan.Check
	// Contents says what the blocks of the first contentTags tags of each
	// pool hold.
	Contents []*poolscan.Contents
	Notes    []string
	// NotRun says why there was nothing to scan: the dump holds no pool
	// pages (a triage dump, or a summary dump cut to the tracker). It is
	// an unknown, not a failure: the scan's checks then do not lower the
	// confidence. Checks and Contents are empty.
	NotRun string
	// Err is why the scan could not run; the rest is then empty.
	Err string
}

// noPoolPages is Scan.NotRun for a dump without pool pages.
const noPoolPages = "the dump holds no pool pages"

// Check returns the cross-check of tag t, if there is one.
func (s *Scan) Check(t pooltag.Tag) (poolscan.Check, bool) {
	for _, k := range s.Checks {
		if k.Tag == t.Unprotected() {
			return k, true
		}
	}
	return poolscan.Check{}, false
}

// contentTags is how many leading tags per pool have their blocks read.
const contentTags = 3

// scanPool runs the scan for the leading tags of r. A dump that cannot be
// scanned gives a Scan with Err set, not an error; only a cancelled ctx
// stops the analysis.
func scanPool(ctx context.Context, g *gathered, r *Result, o Options) (*Scan, error) {
	s := &Scan{}
	var specs []string
	rows := append(append([]TagUsage{}, r.NonPaged...), r.Paged...)
	for _, t := range rows {
		specs = append(specs, t.Tag.String())
	}
	if len(specs) == 0 {
		s.Err = "no leading tags to look for"
		return s, nil
	}
	m, err := poolscan.NewMatcher(specs...)
	if err != nil {
		s.Err = err.Error()
		return s, nil
	}
	o.progress("scanning the pool")
	res, err := poolscan.Scan(ctx, g.dump, poolscan.Options{Tags: m})
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, poolscan.ErrNoMemory):
		s.NotRun = noPoolPages + " (it holds no physical memory)"
		return s, nil
	case err != nil:
		s.Err = err.Error()
		return s, nil
	}
	s.Mode, s.Pages, s.Big, s.Notes = res.Mode, res.Pages, res.Big, res.Notes
	if res.Pages.PoolPages == 0 && res.Big.Used == 0 {
		s.NotRun = fmt.Sprintf("%s: the pass over its %s stored pages recognised none, and no big page table was found", noPoolPages, commas(int64(res.Pages.Scanned)))
		return s, nil
	}
	seen := map[pooltag.Tag]bool{}
	var us []pool.Usage
	for _, t := range rows {
		if seen[t.Tag] {
			continue
		}
		seen[t.Tag] = true
		if u, ok := g.pool.Find(t.Tag); ok {
			us = append(us, u)
		}
	}
	s.Checks = poolscan.CrossCheck(res, us, g.pool.Limits.NonPagedUsed+g.pool.Limits.PagedUsed)
	o.progress("reading the leading tags' blocks")
	read := map[pooltag.Tag]bool{}
	for _, list := range [][]TagUsage{r.NonPaged, r.Paged} {
		for i := 0; i < len(list) && i < contentTags; i++ {
			t := list[i].Tag
			if read[t] {
				continue
			}
			read[t] = true
			s.Contents = append(s.Contents, poolscan.ReadContents(g.dump, res, t, poolscan.ContentOptions{Modules: g.mods}))
		}
	}
	sort.SliceStable(s.Contents, func(i, j int) bool { return s.Contents[i].Blocks > s.Contents[j].Blocks })
	return s, nil
}

// Checks on the verdict's tag from the scan; they are run only when the
// scan ran.
const (
	CheckScanNotContradicted = "pool scan does not contradict the tracker"
	CheckScanConfirms        = "pool scan confirms the tracker"
)

func scanChecks(g *graded) []Check {
	s := g.res.Scan
	if s == nil {
		return nil
	}
	contra := Check{Name: CheckScanNotContradicted, Limit: Low}
	confirm := Check{Name: CheckScanConfirms, Limit: Medium}
	switch k, ok := s.Check(gradedTag(g)); {
	case s.NotRun != "":
		// Nothing to check against: an unknown that caps nothing, so a
		// dump without pool pages keeps the confidence it had unscanned.
		contra.Status, contra.Detail, contra.Limit = NotRun, "not run: "+s.NotRun, High
		confirm.Status, confirm.Detail, confirm.Limit = NotRun, contra.Detail, High
	case s.Err != "":
		contra.Status, contra.Detail = NotRun, "the pool could not be scanned: "+s.Err
		confirm.Status, confirm.Detail = NotRun, contra.Detail
		confirm.Raise = "The pool could not be scanned: a kernel or complete dump with its memory would let the blocks be counted."
	case g.tag == nil || !ok:
		contra.Status, contra.Detail = NotRun, "no tag to check"
		confirm.Status, confirm.Detail = NotRun, "no tag to check"
	default:
		contra.Detail, confirm.Detail = k.Text, k.Text
		switch k.Agreement {
		case poolscan.Consistent:
			contra.Status, confirm.Status = Passed, Passed
		case poolscan.Unconfirmed:
			contra.Status, confirm.Status = Passed, Failed
			confirm.Raise = fmt.Sprintf("The scan found %s of the %s blocks the tracker claims for %s: a complete memory dump would show the rest.",
				commas(k.Found), commas(k.Tracker), trimTag(g.tag))
		case poolscan.Suspect:
			contra.Status, confirm.Status = Failed, Failed
			contra.Raise = fmt.Sprintf("The pool itself disagrees with the tracker for %s: compare with !poolused from a debugger with symbols, or a second dump.", trimTag(g.tag))
		}
	}
	return []Check{contra, confirm}
}

func gradedTag(g *graded) pooltag.Tag {
	if g.tag == nil {
		return 0
	}
	return g.tag.Tag
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
