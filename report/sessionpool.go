package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// WriteSessionPoolused writes the session pools as WinDbg's !poolused 8
// does, one table per session (WinDbg shows the current session's; a
// dump read without a debugger has no current session, so every session
// is shown, each headed by its ID and processes). When no session pool
// was read, it writes the one line that says why.
func WriteSessionPoolused(w io.Writer, sp *pool.SessionPools, sel pool.Selection, db *pooltag.DB) error {
	ew := &sessionOut{w: w}
	if !sp.Read {
		ew.printf("%s\n", sp.Reason)
		return ew.err
	}
	for i, s := range sp.Sessions {
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("Session %d (%s): %s\n", s.ID, processList(s.Processes), sessionWhere(s))
		if len(s.Missing) > 0 {
			ew.printf("*** WARNING: partial data: %s\n", strings.Join(s.Missing, "; "))
		}
		if s.Full {
			ew.printf("*** WARNING: the session's tracker table is full: tags that did not fit are not shown\n")
		}
		if len(s.Usages) == 0 && len(s.Missing) > 0 {
			continue
		}
		writeUsageTable(ew, s.Usages, sel, db)
	}
	return ew.err
}

// sessionWhere says where a session's table was found.
func sessionWhere(s pool.SessionPool) string {
	if s.Table == 0 {
		return fmt.Sprintf("MM_SESSION_SPACE %#x, tracker table not found", s.Struct)
	}
	return fmt.Sprintf("MM_SESSION_SPACE %#x (%#x in session space), tracker at %#x, %d entries", s.Struct, s.Space, s.Table, s.TableSize)
}

// processList names a session's processes: "3 processes: csrss.exe, ...".
func processList(names []string) string {
	if len(names) == 1 {
		return "1 process: " + names[0]
	}
	return fmt.Sprintf("%d processes: %s", len(names), strings.Join(names, ", "))
}

// writeUsageTable is the !poolused table: Sorting by, Pool Used, one row
// per tag (outstanding allocations and bytes in each pool, then the
// pooltag.txt description) and TOTAL over every tag the filter matches.
func writeUsageTable(ew *sessionOut, us []pool.Usage, sel pool.Selection, db *pooltag.DB) {
	rows := pool.Select(us, sel)
	var tot pool.Usage
	for _, u := range pool.Select(us, pool.Selection{Filter: sel.Filter}) {
		tot.Add(u)
	}
	ew.printf("   Sorting by  %s\n\n", sessionSortTitle[sel.Sort])
	ew.printf("  Pool Used:\n")
	w := [4]int{9, 9, 10, 9} // WinDbg's widths, widened where a number needs it
	for _, u := range append(rows, tot) {
		for i, v := range []int64{u.NonPagedOutstanding(), int64(u.NonPagedBytes), u.PagedOutstanding(), int64(u.PagedBytes)} {
			w[i] = max(w[i], len(fmt.Sprint(v))+1)
		}
	}
	ew.printf("%*s%*s\n", 5+w[0]+w[1]-3, "NonPaged", w[2]+w[3]-2, "Paged")
	ew.printf(" %-4s%*s%*s%*s%*s\n", "Tag", w[0], "Allocs", w[1], "Used", w[2], "Allocs", w[3], "Used")
	for _, u := range rows {
		ew.printf(" %-4s%*d%*d%*d%*d%s\n", u.Tag.String(), w[0], u.NonPagedOutstanding(), w[1], u.NonPagedBytes,
			w[2], u.PagedOutstanding(), w[3], u.PagedBytes, sessionTagText(db, u.Tag))
	}
	ew.printf(" TOTAL%*d%*d%*d%*d\n", w[0]-1, tot.NonPagedOutstanding(), w[1], tot.NonPagedBytes, w[2], tot.PagedOutstanding(), w[3], tot.PagedBytes)
}

// sessionSortTitle is WinDbg's "Sorting by" line for each key.
var sessionSortTitle = map[pool.SortKey]string{
	pool.SortTag: "Tag", pool.SortNonPaged: "NonPaged Pool Consumed", pool.SortPaged: "Paged Pool Consumed",
	pool.SortAllocs: "Allocations", pool.SortFrees: "Frees", pool.SortDiff: "Outstanding Allocations",
}

// sessionTagText is the text WinDbg glues after the numbers.
func sessionTagText(db *pooltag.DB, t pooltag.Tag) string {
	if db != nil {
		if d, bin, ok := db.Describe(t); ok {
			if bin == "" {
				return d + " "
			}
			return d + " , Binary: " + bin
		}
	}
	return fmt.Sprintf("UNKNOWN pooltag '%s', please update pooltag.txt", t.String())
}

// sessionOut keeps the first write error and skips the writes after it
// (pool.WritePoolused keeps its own until it moves here).
type sessionOut struct {
	w   io.Writer
	err error
}

func (e *sessionOut) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
