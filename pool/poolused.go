package pool

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// SortKey orders !poolused rows.
type SortKey int

// The orders; SortTag is by tag, as !poolused without flags sorts.
const (
	SortTag      SortKey = iota
	SortNonPaged         // !poolused 2: nonpaged bytes, largest first
	SortPaged            // !poolused 4: paged bytes, largest first
	SortAllocs           // allocations since boot, both pools
	SortFrees            // frees since boot, both pools
	SortDiff             // outstanding allocations, both pools
)

var sortNames = map[string]SortKey{"tag": SortTag, "nonpaged": SortNonPaged, "paged": SortPaged,
	"allocs": SortAllocs, "frees": SortFrees, "diff": SortDiff}

// ParseSortKey reads a --sort value.
func ParseSortKey(s string) (SortKey, error) {
	if k, ok := sortNames[strings.ToLower(s)]; ok {
		return k, nil
	}
	return 0, fmt.Errorf("unknown sort %q (want tag, nonpaged, paged, allocs, frees or diff)", s)
}

// sortTitle is WinDbg's "Sorting by" line for each key.
var sortTitle = map[SortKey]string{
	SortTag: "Tag", SortNonPaged: "NonPaged Pool Consumed", SortPaged: "Paged Pool Consumed",
	SortAllocs: "Allocations", SortFrees: "Frees", SortDiff: "Outstanding Allocations",
}

// Selection chooses and orders rows.
type Selection struct {
	Sort   SortKey
	Filter string // tag pattern with * and ?, as !poolused takes it; "" = all
	Top    int    // 0 = all
}

// Select filters, sorts and cuts usages. Ties keep tag order.
func Select(us []Usage, s Selection) []Usage {
	out := make([]Usage, 0, len(us))
	for _, u := range us {
		if s.Filter == "" || u.Tag.Match(s.Filter) {
			out = append(out, u)
		}
	}
	key := func(u Usage) int64 {
		switch s.Sort {
		case SortNonPaged:
			return int64(u.NonPagedBytes)
		case SortPaged:
			return int64(u.PagedBytes)
		case SortAllocs:
			return int64(u.NonPagedAllocs + u.PagedAllocs)
		case SortFrees:
			return int64(u.NonPagedFrees + u.PagedFrees)
		case SortDiff:
			return u.NonPagedOutstanding() + u.PagedOutstanding()
		}
		return 0
	}
	sort.SliceStable(out, func(i, j int) bool {
		if s.Sort != SortTag {
			if ki, kj := key(out[i]), key(out[j]); ki != kj {
				return ki > kj
			}
		}
		return out[i].Tag.Less(out[j].Tag)
	})
	if s.Top > 0 && len(out) > s.Top {
		out = out[:s.Top]
	}
	return out
}

// WriteOptions controls the !poolused text.
type WriteOptions struct {
	Selection
	Verbose bool        // Allocs, Frees, Diff and Bytes for both pools
	Pooltag *pooltag.DB // descriptions; nil: every tag is UNKNOWN, as WinDbg says without the file
}

// WritePoolused writes r in WinDbg's documented !poolused layout, then
// the !vm 1 pool lines and the pressure verdict.
func WritePoolused(w io.Writer, r *Result, o WriteOptions) error {
	ew := &errWriter{w: w}
	for _, n := range r.warnings() {
		ew.printf("*** %s\n", n)
	}
	rows := Select(r.Usages, o.Selection)
	// TOTAL covers every tag the filter matches, not only the rows shown.
	all := Select(r.Usages, Selection{Filter: o.Filter})
	ew.printf("   Sorting by  %s\n\n", sortTitle[o.Sort])
	ew.printf("  Pool Used:\n")
	var tot Usage
	for _, u := range all {
		tot.Add(u)
	}
	if o.Verbose {
		ew.printf("            %-44s%s\n", "NonPaged", "Paged")
		ew.printf(" Tag      Allocs      Frees       Diff       Used      Allocs      Frees       Diff       Used\n")
		for _, u := range rows {
			ew.printf(" %-4s%11d%11d%11d%11d%12d%11d%11d%11d%s\n", u.Tag.String(),
				u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedOutstanding(), u.NonPagedBytes,
				u.PagedAllocs, u.PagedFrees, u.PagedOutstanding(), u.PagedBytes, describe(o.Pooltag, u.Tag))
		}
		ew.printf(" TOTAL%10d%11d%11d%11d%12d%11d%11d%11d\n", tot.NonPagedAllocs, tot.NonPagedFrees,
			tot.NonPagedOutstanding(), tot.NonPagedBytes, tot.PagedAllocs, tot.PagedFrees, tot.PagedOutstanding(), tot.PagedBytes)
	} else {
		// WinDbg's widths, widened where a number would touch its
		// neighbour.
		w := widths([4]int{9, 9, 10, 9}, rows)

		ew.printf("%*s%*s\n", 5+w[0]+w[1]-3, "NonPaged", w[2]+w[3]-2, "Paged")
		ew.printf(" %-4s%*s%*s%*s%*s\n", "Tag", w[0], "Allocs", w[1], "Used", w[2], "Allocs", w[3], "Used")
		for _, u := range rows {
			ew.printf(" %-4s%*d%*d%*d%*d%s\n", u.Tag.String(), w[0], u.NonPagedOutstanding(), w[1], u.NonPagedBytes,
				w[2], u.PagedOutstanding(), w[3], u.PagedBytes, describe(o.Pooltag, u.Tag))
		}
		// TOTAL widens only itself when its sums need more room.
		tw := widths(w, []Usage{tot})
		tw[0] = max(tw[0], len(fmt.Sprint(tot.NonPagedOutstanding()))+2) // "TOTAL" is a column wider than a tag
		ew.printf(" TOTAL%*d%*d%*d%*d\n", tw[0]-1, tot.NonPagedOutstanding(), tw[1], tot.NonPagedBytes, tw[2], tot.PagedOutstanding(), tw[3], tot.PagedBytes)
	}
	ew.printf("\n")
	writeVM(ew, r)
	return ew.err
}

// widths widens WinDbg's column widths where a number would touch its
// neighbour.
func widths(w [4]int, us []Usage) [4]int {
	fit := func(i int, v int64) { w[i] = max(w[i], len(fmt.Sprint(v))+1) }
	for _, u := range us {
		fit(0, u.NonPagedOutstanding())
		fit(1, int64(u.NonPagedBytes))
		fit(2, u.PagedOutstanding())
		fit(3, int64(u.PagedBytes))
	}
	return w
}

// describe is the text WinDbg glues after the numbers.
func describe(db *pooltag.DB, t pooltag.Tag) string {
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
func writeVM(ew *errWriter, r *Result) {
	l := r.Limits
	kb := func(b uint64) string { return fmt.Sprintf("%8d (%9d Kb)", b/4096, b/1024) }
	ew.printf("\tNonPagedPool Usage:  %s   (tracked by tag)\n", kb(l.NonPagedUsed))
	if l.NonPagedMax != 0 {
		ew.printf("\tNonPagedPool Max:    %s\n", kb(l.NonPagedMax))
	} else {
		ew.printf("\tNonPagedPool Max:    unknown (%s)\n", l.NonPagedMaxSource)
	}
	ew.printf("\tPagedPool Usage:     %s   (tracked by tag)\n", kb(l.PagedUsed))
	if l.PagedMax != 0 {
		ew.printf("\tPagedPool Maximum:   %s\n", kb(l.PagedMax))
	} else {
		ew.printf("\tPagedPool Maximum:   unknown (%s)\n", l.PagedMaxSource)
	}
	ew.printf("\n")
	for _, s := range r.PressureLines() {
		ew.printf("%s\n", s)
	}
}

// PressureLines says in words how close each pool was to its maximum.
func (r *Result) PressureLines() []string {
	l := r.Limits
	var out []string
	if r.OneCPUOnly {
		out = append(out, "The figures below are ONE CPU's tracker table only: they do not measure the pools' use.")
	}
	line := func(name string, used, max uint64, doc string) string {
		if max == 0 {
			return fmt.Sprintf("%s pool: %s tracked; maximum unknown (documented limit: %s)", name, units.Bytes(used), doc)
		}
		return fmt.Sprintf("%s pool: %s of %s used (%.1f%%), %s free (documented limit: %s)",
			name, units.Bytes(used), units.Bytes(max), percent(used, max), units.Bytes(sat(max, used)), doc)
	}
	out = append(out, line("Nonpaged", l.NonPagedUsed, l.NonPagedMax, l.DocumentedNonPaged))
	out = append(out, line("Paged", l.PagedUsed, l.PagedMax, l.DocumentedPaged))
	if l.HTTPSysApplies {
		switch {
		case l.NonPagedMax == 0:
			out = append(out, "HTTP.SYS: cannot tell whether free nonpaged pool was below its 20 MiB threshold (maximum unknown)")
		default:
			out = append(out, "HTTP.SYS: "+HTTPSysSentence(l.NonPagedFree(), HTTPSysThreshold, l.HTTPSysBelow))
		}
	}
	return out
}

func sat(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return 0
}

// warnings are the lines a reader must see before trusting the numbers.
func (r *Result) warnings() []string {
	var out []string
	if r.OneCPUOnly {
		out = append(out, fmt.Sprintf("WARNING: this dump has %d CPUs but their per-CPU tracker tables were not found: the figures cover ONE CPU's table only (allocations freed on another CPU can show more frees than allocations)", r.CPUs))
	}
	if r.Partial {
		out = append(out, "WARNING: partial data: "+strings.Join(r.Missing, "; "))
	}
	return out
}

// Warnings are the lines a reader must see before trusting the numbers.
func (r *Result) Warnings() []string { return r.warnings() }

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
