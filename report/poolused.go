package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// PoolusedOptions controls the !poolused text.
type PoolusedOptions struct {
	pool.Selection
	Verbose bool        // Allocs, Frees, Diff and Bytes for both pools
	Pooltag *pooltag.DB // descriptions; nil: every tag is UNKNOWN, as WinDbg says without the file
}

// sortTitle is WinDbg's "Sorting by" line for each key.
var sortTitle = map[pool.SortKey]string{
	pool.SortTag: "Tag", pool.SortNonPaged: "NonPaged Pool Consumed", pool.SortPaged: "Paged Pool Consumed",
	pool.SortAllocs: "Allocations", pool.SortFrees: "Frees", pool.SortDiff: "Outstanding Allocations",
}

// WritePoolused writes r in WinDbg's documented !poolused layout, then
// the !vm 1 pool lines and the pressure verdict.
func WritePoolused(w io.Writer, r *pool.Result, o PoolusedOptions) error {
	ew := &ErrWriter{W: w}
	for _, n := range PoolWarnings(r) {
		ew.Printf("*** %s\n", n)
	}
	writeUsageTable(ew, r.Usages, o.Selection, o.Pooltag, o.Verbose)
	ew.Printf("\n")
	writeVM(ew, r)
	return ew.Err
}

// writeUsageTable is the !poolused table, the one writer of that layout
// for the system pools and each session pool: Sorting by, Pool Used, one
// row per selected tag (outstanding allocations and bytes in each pool,
// or with verbose Allocs, Frees, Diff and Used, then the pooltag.txt
// description) and TOTAL.
func writeUsageTable(ew *ErrWriter, us []pool.Usage, sel pool.Selection, db *pooltag.DB, verbose bool) {
	rows := pool.Select(us, sel)
	// TOTAL covers every tag the filter matches, not only the rows shown.
	var tot pool.Usage
	for _, u := range pool.Select(us, pool.Selection{Filter: sel.Filter}) {
		tot.Add(u)
	}
	ew.Printf("   Sorting by  %s\n\n", sortTitle[sel.Sort])
	ew.Printf("  Pool Used:\n")
	if verbose {
		writePoolusedVerbose(ew, rows, tot, db)
	} else {
		writePoolusedShort(ew, rows, tot, db)
	}
}

// writePoolusedVerbose writes !poolused's rows with Allocs, Frees, Diff
// and Used for both pools.
func writePoolusedVerbose(ew *ErrWriter, rows []pool.Usage, tot pool.Usage, db *pooltag.DB) {
	ew.Printf("            %-44s%s\n", "NonPaged", "Paged")
	ew.Printf(" Tag      Allocs      Frees       Diff       Used      Allocs      Frees       Diff       Used\n")
	for _, u := range rows {
		ew.Printf(" %-4s%11d%11d%11d%11d%12d%11d%11d%11d%s\n", u.Tag.String(),
			u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedOutstanding(), u.NonPagedBytes,
			u.PagedAllocs, u.PagedFrees, u.PagedOutstanding(), u.PagedBytes, describeTag(db, u.Tag))
	}
	ew.Printf(" TOTAL%10d%11d%11d%11d%12d%11d%11d%11d\n", tot.NonPagedAllocs, tot.NonPagedFrees,
		tot.NonPagedOutstanding(), tot.NonPagedBytes, tot.PagedAllocs, tot.PagedFrees, tot.PagedOutstanding(), tot.PagedBytes)
}

// writePoolusedShort writes !poolused's default rows: outstanding
// allocations and bytes of each pool.
func writePoolusedShort(ew *ErrWriter, rows []pool.Usage, tot pool.Usage, db *pooltag.DB) {
	// WinDbg's widths, widened where a number would touch its neighbour.
	w := poolusedWidths([4]int{9, 9, 10, 9}, rows)

	ew.Printf("%*s%*s\n", 5+w[0]+w[1]-3, "NonPaged", w[2]+w[3]-2, "Paged")
	ew.Printf(" %-4s%*s%*s%*s%*s\n", "Tag", w[0], "Allocs", w[1], "Used", w[2], "Allocs", w[3], "Used")
	for _, u := range rows {
		ew.Printf(" %-4s%*d%*d%*d%*d%s\n", u.Tag.String(), w[0], u.NonPagedOutstanding(), w[1], u.NonPagedBytes,
			w[2], u.PagedOutstanding(), w[3], u.PagedBytes, describeTag(db, u.Tag))
	}
	// TOTAL widens only itself when its sums need more room, and keeps a
	// space after the word.
	t := poolusedWidths(w, []pool.Usage{tot})
	t[0] = max(t[0], len(fmt.Sprint(tot.NonPagedOutstanding()))+2) // "TOTAL" is a column wider than a tag
	ew.Printf(" TOTAL%*d%*d%*d%*d\n", t[0]-1, tot.NonPagedOutstanding(), t[1], tot.NonPagedBytes, t[2], tot.PagedOutstanding(), t[3], tot.PagedBytes)
}

// poolusedWidths widens WinDbg's column widths where a number would touch
// its neighbour.
func poolusedWidths(w [4]int, us []pool.Usage) [4]int {
	fit := func(i int, v int64) { w[i] = max(w[i], len(fmt.Sprint(v))+1) }
	for _, u := range us {
		fit(0, u.NonPagedOutstanding())
		fit(1, int64(u.NonPagedBytes))
		fit(2, u.PagedOutstanding())
		fit(3, int64(u.PagedBytes))
	}
	return w
}

// describeTag is the text WinDbg glues after the numbers.
func describeTag(db *pooltag.DB, t pooltag.Tag) string {
	if db != nil {
		if d, bin, ok := db.Describe(t); ok {
			if bin == "" {
				return d + " " // as WinDbg prints it
			}
			return d + " , Binary: " + bin
		}
	}
	return fmt.Sprintf("UNKNOWN pooltag '%s', please update pooltag.txt", t.String())
}

// writeVM writes the pool lines of !vm 1 (pages, then Kb), computed from
// the tracked bytes, and what they mean.
func writeVM(ew *ErrWriter, r *pool.Result) {
	l := r.Limits
	kb := func(b uint64) string { return fmt.Sprintf("%8d (%9d Kb)", b/4096, b/1024) }
	ew.Printf("\tNonPagedPool Usage:  %s   (tracked by tag)\n", kb(l.NonPagedUsed))
	if l.NonPagedMax != 0 {
		ew.Printf("\tNonPagedPool Max:    %s\n", kb(l.NonPagedMax))
	} else {
		ew.Printf("\tNonPagedPool Max:    unknown (%s)\n", l.NonPagedMaxSource)
	}
	ew.Printf("\tPagedPool Usage:     %s   (tracked by tag)\n", kb(l.PagedUsed))
	if l.PagedMax != 0 {
		ew.Printf("\tPagedPool Maximum:   %s\n", kb(l.PagedMax))
	} else {
		ew.Printf("\tPagedPool Maximum:   unknown (%s)\n", l.PagedMaxSource)
	}
	ew.Printf("\n")
	for _, s := range PressureLines(r) {
		ew.Printf("%s\n", s)
	}
}

// PressureLines says in words how close each pool was to its maximum.
func PressureLines(r *pool.Result) []string {
	l := r.Limits
	var out []string
	if r.OneCPUOnly {
		out = append(out, "The figures below are ONE CPU's tracker table only: they do not measure the pools' use.")
	}
	line := func(name string, used, max uint64, pct float64, doc string) string {
		if max == 0 {
			return fmt.Sprintf("%s pool: %s tracked; maximum unknown (documented limit: %s)", name, units.Bytes(used), doc)
		}
		return fmt.Sprintf("%s pool: %s of %s used (%.1f%%), %s free (documented limit: %s)",
			name, units.Bytes(used), units.Bytes(max), pct, units.Bytes(max-min(used, max)), doc)
	}
	out = append(out, line("Nonpaged", l.NonPagedUsed, l.NonPagedMax, l.NonPagedPercent(), l.DocumentedNonPaged))
	out = append(out, line("Paged", l.PagedUsed, l.PagedMax, l.PagedPercent(), l.DocumentedPaged))
	if l.HTTPSysApplies {
		switch {
		case l.NonPagedMax == 0:
			out = append(out, "HTTP.SYS: cannot tell whether free nonpaged pool was below its 20 MiB threshold (maximum unknown)")
		default:
			out = append(out, "HTTP.SYS: "+httpSysSentence(l.NonPagedFree(), pool.HTTPSysThreshold, l.HTTPSysBelow))
		}
	}
	return out
}

// httpSysSentence is the HTTP.SYS check in the one wording every output
// uses (the poolused lines, the report's pressure lines and its verdict).
func httpSysSentence(free, threshold uint64, below bool) string {
	if below {
		return fmt.Sprintf("free nonpaged pool %s is BELOW HTTP.SYS's %s floor: HTTP.SYS refuses new "+
			"connections (HTTPERR Connections_Refused)", units.Bytes(free), units.Bytes(threshold))
	}
	return fmt.Sprintf("free nonpaged pool %s is above HTTP.SYS's %s floor: no Connections_Refused "+
		"expected from pool pressure", units.Bytes(free), units.Bytes(threshold))
}

// PoolWarnings are the lines a reader must see before trusting r's
// numbers.
func PoolWarnings(r *pool.Result) []string {
	var out []string
	if r.OneCPUOnly {
		out = append(out, fmt.Sprintf("WARNING: this dump has %d CPUs but their per-CPU tracker tables were not found: the figures cover ONE CPU's table only (allocations freed on another CPU can show more frees than allocations)", r.CPUs))
	}
	if r.Partial {
		out = append(out, "WARNING: partial data: "+strings.Join(r.Missing, "; "))
	}
	return out
}

// ErrWriter keeps the first write error and skips the writes after it,
// so a long listing checks once: write through Printf or Write, then
// return Err.
type ErrWriter struct {
	W   io.Writer
	Err error
}

// Printf writes to W unless an earlier write failed.
func (e *ErrWriter) Printf(format string, a ...any) {
	if e.Err == nil {
		_, e.Err = fmt.Fprintf(e.W, format, a...)
	}
}

// Write writes p to W unless an earlier write failed, so an ErrWriter can
// be handed to code that takes an io.Writer.
func (e *ErrWriter) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	e.Err = err
	return n, err
}
