package live

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/poolblame/poolblame/units"
)

// WriteTable writes rows as poolmon's screen does, with the change since
// the previous sample in parentheses and the growth per hour since the
// first sample.
func WriteTable(w io.Writer, rows []Row, at time.Time, since time.Duration, samples int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "poolblame live  %s  sample %d, %s since the first\n\n", at.Format("2006-01-02 15:04:05"), samples, units.Uptime(since.Seconds()))
	fmt.Fprintf(&b, " %-4s %-5s %20s %20s %10s %22s %9s %12s\n", "Tag", "Type", "Allocs", "Frees", "Diff", "Bytes", "Per Alloc", "Growth/h")
	for _, r := range rows {
		growth := "-"
		if samples > 1 {
			growth = units.BytesF(r.PerHour)
		}
		fmt.Fprintf(&b, " %-4s %-5s %10d (%7d) %10d (%7d) %10d %12d (%7d) %9d %12s\n",
			r.Tag.String(), poolType(r.Paged), r.Allocs, r.DAllocs, r.Frees, r.DFrees, r.Diff, r.Bytes, r.DBytes, r.PerAlloc, growth)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func poolType(paged bool) string {
	if paged {
		return "Paged"
	}
	return "Nonp"
}

// WritePoolmonLog appends one sample as poolmon /n writes its log
// (poolsnap.log): attribute lines, the column line, and rows without the
// change columns, so that batch and the snapshot parsers read it as a
// poolmon log. Tags that cannot be written as text (non-printable bytes,
// a leading or inner blank) are counted in an attribute line instead.
func WritePoolmonLog(w io.Writer, s *Sample, host string) error {
	var b strings.Builder
	b.WriteString("!LogType=poolblame live\n")
	fmt.Fprintf(&b, "!Time=%s\n", s.Time.UTC().Format(time.RFC3339))
	if host != "" {
		fmt.Fprintf(&b, "!Computer=%s\n", host)
	}
	rows := Rows(nil, nil, s)
	Sort(rows, ByTag)
	var body strings.Builder
	skipped := 0
	for _, r := range rows {
		name := r.Tag.Trimmed()
		if !r.Tag.Printable() || strings.Contains(name, " ") || name == "" {
			skipped++
			continue
		}
		fmt.Fprintf(&body, " %-4s %-5s %10d %10d %10d %12d %10d\n", name, poolType(r.Paged), r.Allocs, r.Frees, r.Diff, r.Bytes, r.PerAlloc)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, "!SkippedRows=%d (tags not writable as text)\n", skipped)
	}
	b.WriteString("\n Tag  Type      Allocs      Frees       Diff        Bytes  Per Alloc\n\n")
	b.WriteString(body.String())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
