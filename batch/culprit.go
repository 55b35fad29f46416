package batch

import (
	"context"
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/pooltag"
)

// snapshotDrivers names the drivers behind the snapshot series' tags: the
// drivers in the folders holding evidence for a tag, ranked as a report
// ranks them (package analysis), then the driver the snapshot printed
// beside it (poolmon's mapped driver, !poolused's pooltag.txt text), then
// pooltag.txt's entry. The folders are the run's one index, shared with
// the dumps. It returns a note when the folders could not be indexed.
func (r *runner) snapshotDrivers(ctx context.Context, series []*Series) string {
	if !hasTrends(series) {
		return ""
	}
	var ev *analysis.Evidence
	var note string
	switch cat, err := r.driverCatalog(ctx); {
	case err != nil:
		note = fmt.Sprintf("driver folders for the snapshot tags: %v", err)
	case cat != nil:
		ev = &analysis.Evidence{Folder: cat}
	}
	for _, se := range series {
		for _, t := range se.Trends {
			if tg, err := pooltag.ParseTag(t.Tag); err == nil {
				t.Drivers = tagDrivers(tg, se, ev, r.opts.Pooltag)
			}
		}
	}
	return note
}

// tagDrivers names the drivers behind one tag of a series, in the order
// snapshotDrivers gives, each once.
func tagDrivers(tg pooltag.Tag, se *Series, ev *analysis.Evidence, db *pooltag.DB) []string {
	var names driverNames
	if ev != nil {
		for _, c := range ev.Candidates(tg, nil) {
			names.add(c.Name)
		}
	}
	for _, s := range se.Snapshots {
		if d, ok := s.snap.Descriptions[tg]; ok {
			names.add(d.Binary)
		}
	}
	if db != nil {
		for _, e := range db.Lookup(tg) {
			names.add(e.Binary)
		}
	}
	return names
}

// driverNames is a list of driver names without repeats (ignoring case)
// or blanks.
type driverNames []string

func (ns *driverNames) add(n string) {
	n = strings.TrimSpace(n)
	if n == "" || strings.EqualFold(n, "<unknown>") {
		return
	}
	for _, have := range *ns {
		if strings.EqualFold(have, n) {
			return
		}
	}
	*ns = append(*ns, n)
}

func hasTrends(series []*Series) bool {
	for _, se := range series {
		if len(se.Trends) > 0 {
			return true
		}
	}
	return false
}
