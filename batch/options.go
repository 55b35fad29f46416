package batch

import (
	"fmt"
	"github.com/poolblame/poolblame/batch/trend"
	"strings"
	"time"

	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/report"
)

// GroupBy says how dumps are grouped into machines.
type GroupBy int

// The ways of grouping dumps.
const (
	GroupAuto   GroupBy = iota // dump facts, split by folder when folders overlap in time
	GroupFolder                // the folder holding the dump
	GroupNone                  // all dumps in one group
)

var groupByNames = [...]string{"auto", "folder", "none"}

func (g GroupBy) String() string {
	if g < 0 || int(g) >= len(groupByNames) {
		return fmt.Sprintf("GroupBy(%d)", int(g))
	}
	return groupByNames[g]
}

// ParseGroupBy reads auto, folder or none.
func ParseGroupBy(s string) (GroupBy, error) {
	for i, n := range groupByNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return GroupBy(i), nil
		}
	}
	return 0, fmt.Errorf("group-by %q: want auto, folder or none", s)
}

// DefaultFormats are the per-dump report formats when none are asked for.
var DefaultFormats = []report.Format{report.HTML, report.JSON, report.Markdown}

// ParseFormats reads a comma-separated list of report formats.
func ParseFormats(s string) ([]report.Format, error) {
	var out []report.Format
	seen := map[report.Format]bool{}
	for _, name := range strings.Split(s, ",") {
		if strings.TrimSpace(name) == "" {
			continue
		}
		f, err := report.ParseFormat(name)
		if err != nil {
			return nil, err
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("format %q: no report format named", s)
	}
	return out, nil
}

// TrendOptions are the thresholds of the trend analysis (see the package
// documentation).
type TrendOptions = trend.Options

// Options controls Run.
type Options struct {
	Paths  []string // dumps, folders (walked recursively), globs
	OutDir string   // created if missing; required
	// Force lets the run replace files in OutDir that no run wrote (an
	// earlier run's outputs, recognised by its index, are replaced anyway).
	// Inputs are never written over.
	Force   bool
	HTTPErr []string // HTTP.SYS error logs for the timeline

	// Workers is the number of dumps analysed at once; 0 chooses the
	// number of cores, fewer when free memory is short.
	Workers int
	// TempDir receives decompressed dumps while they are analysed; "":
	// the system's temporary folder.
	TempDir string
	// MemoryBudget bounds the memory dumps are decompressed into, shared
	// by the workers; a dump that does not fit goes to a temporary file
	// in TempDir. 0: a quarter of the available memory, at most 2 GiB;
	// negative: always a temporary file.
	MemoryBudget int64

	Formats      []report.Format // per-dump reports; nil: DefaultFormats
	DriverDirs   []string        // folders of driver files (report.Options.DriverDirs)
	DriverCache  *pe.Cache       // keeps driver scans across runs; nil: none
	Pooltag      *pooltag.DB     // descriptions and weak evidence; nil: none
	Top          int             // leading tags per report; 0: 10
	NoDumpImages bool            // do not scan driver images inside dumps
	GroupBy      GroupBy
	Trend        TrendOptions

	// Times gives snapshot files their capture time, keyed by the name the
	// input is listed under, its path or its base name; it wins over the
	// time the file itself or its name carries.
	Times map[string]time.Time

	// Now stamps the reports and the summary; zero leaves them unstamped.
	Now time.Time
	// Progress, when set, is called after each input is done (from one
	// goroutine at a time).
	Progress func(Progress)
	// TuneGC lets Run set the Go collector for the run (collections less
	// often, under a soft memory limit: gc.go) and restore it on return.
	// The settings are the process's: for a command running one batch,
	// not for a program running other work beside it.
	TuneGC bool
}

// Progress is the state of a run after one more input.
type Progress struct {
	Done, Total int
	Item        string // the input just finished
	State       string // "analysed", "skipped", "failed", "no pool data"
	Err         error  // for "failed"
}
