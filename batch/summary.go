package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/poolblame/poolblame/internal/outfile"
	"path/filepath"
	"strings"
	"time"

	"github.com/poolblame/poolblame/units"
)

// Summary file names in the output folder.
const (
	SummaryText  = "summary.txt"
	SummaryJSONL = "summary.jsonl"
	SummaryHTML  = "summary.html"
)

// writeSummary writes the three summary files.
func writeSummary(s *Summary, g *outfile.Guard) error {
	files := []struct {
		name  string
		write func(*bytes.Buffer, *Summary) error
	}{
		{SummaryText, writeText},
		{SummaryJSONL, writeJSONL},
		{SummaryHTML, writeHTML},
	}
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b, s); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := g.WriteFile(filepath.Join(s.OutDir, f.name), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeJSONL writes one record per line.
func writeJSONL(b *bytes.Buffer, s *Summary) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	for _, d := range s.Dumps {
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	return nil
}

// CountsLine says in one sentence what a run did.
func (s *Summary) CountsLine() string {
	c := s.Counts
	var parts []string
	if c.Dumps > 0 || c.Snapshots == 0 {
		line := fmt.Sprintf("%s: %d analysed, %d skipped (already in %s), %d failed, %d without pool data",
			plural(c.Dumps, "dump"), c.Analysed, c.Skipped, IndexName, c.Failed, c.NoPool)
		if c.Duplicates > 0 {
			line += fmt.Sprintf(", %s", plural(c.Duplicates, "duplicate"))
		}
		parts = append(parts, line)
	}
	switch {
	case c.SnapshotsFailed > 0:
		parts = append(parts, fmt.Sprintf("%s read, %d failed", plural(c.Snapshots, "snapshot file"), c.SnapshotsFailed))
	case c.Snapshots > 0:
		parts = append(parts, plural(c.Snapshots, "snapshot file"))
	}
	if c.CounterLogs > 0 {
		parts = append(parts, plural(c.CounterLogs, "Performance Monitor log"))
	}
	if n := len(s.Refusals); n > 0 {
		parts = append(parts, plural(n, "HTTP.SYS error log"))
	}
	if c.Ignored > 0 {
		parts = append(parts, fmt.Sprintf("%s ignored", plural(c.Ignored, "other file")))
	}
	return strings.Join(parts, "; ")
}

// plural writes n and a noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// dumpRow is a dump's summary table row; name is how the table names it.
func dumpRow(d *DumpRecord, name string) []string {
	switch d.Status {
	case StatusError:
		return []string{name, "-", "-", "-", "-", "-", "error (see below)", "-", "-"}
	case StatusDuplicate:
		return []string{name, "-", "-", "-", "-", "-", "duplicate", "-", "-"}
	}
	np := "no pool data"
	if d.NonPaged != nil {
		np = usedMax(d.NonPaged)
		if d.Status == StatusPartial {
			np += " (partial)"
		}
	}
	bug := fmt.Sprintf("%#x", d.BugCheck)
	if d.BugCheckName != "" {
		bug += " " + d.BugCheckName
	}
	if d.Capture != "" {
		bug = "capture (" + d.Capture + ")"
	}
	top, drv := "-", "-"
	if d.TopTag != "" {
		top = fmt.Sprintf("%s %s", d.TopTag, units.BytesF(float64(d.TopBytes)))
	}
	if d.Culprit != "" {
		drv = d.Culprit
		if d.Confidence != "" {
			drv += " (" + d.Confidence + ")"
		}
	} else if d.Suspect != "" {
		drv = "suspect " + d.Suspect + " (pool corruption)"
	}
	return []string{name, d.Group, fmt.Sprint(d.Build), bug, timeText(d.SystemTime), units.UptimeShort(d.UptimeSeconds), np, top, drv}
}

var dumpColumns = []string{"Dump", "Group", "Build", "Bugcheck", "Time (UTC)", "Uptime", "Nonpaged used/max", "Top tag", "Culprit"}

func usedMax(p *PoolUse) string {
	if p.Max == 0 || p.Percent < 0 {
		return units.BytesF(float64(p.Used)) + " / ?"
	}
	return fmt.Sprintf("%s / %s %.0f%%", units.BytesF(float64(p.Used)), units.BytesF(float64(p.Max)), p.Percent)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// problem is a dump the summary explains below its table.
func problem(d *DumpRecord) (string, bool) {
	switch d.Status {
	case StatusError:
		// Errors name their file already.
		return d.Name() + ": error: " + strings.TrimPrefix(strings.TrimPrefix(d.Error, d.Name()+": "), d.Path+": "), true
	case StatusNoPool:
		return d.Name() + ": no pool data: " + d.PoolError, true
	case StatusPartial:
		return d.Name() + ": partial pool data, missing: " + strings.Join(d.Missing, "; "), true
	case StatusDuplicate:
		return d.Name() + ": duplicate: " + d.Error, true
	}
	return "", false
}

// groupSpan says how many dumps and boots a group has, over what time.
func groupSpan(g *Group) string {
	s := fmt.Sprintf("%s, %s", plural(len(g.Dumps), "dump"), plural(g.Boots, "boot"))
	first, last := firstTime(g), g.Dumps[len(g.Dumps)-1].SystemTime
	switch {
	case first.IsZero():
	case first.Equal(last):
		s += ", " + timeText(first)
	default:
		s += fmt.Sprintf(", %s to %s", timeText(first), timeText(last))
	}
	return s
}

func trendLine(t *Trend) string {
	s := fmt.Sprintf("%-4s %-8s %s", t.Tag, t.Pool, t.Reason)
	if len(t.Drivers) > 0 {
		s += "; drivers: " + strings.Join(t.Drivers, ", ")
	}
	return s
}

// writeText writes summary.txt: the counts, then one part per kind of
// input, then the run's notes.
func writeText(b *bytes.Buffer, s *Summary) error {
	fmt.Fprintln(b, "poolblame batch summary")
	if !s.Generated.IsZero() {
		fmt.Fprintf(b, "generated %s\n", s.Generated.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(b, s.CountsLine())
	if s.Workers > 0 {
		fmt.Fprintf(b, "%d workers\n", s.Workers)
	}
	writeDumpsText(b, s.Dumps)
	if len(s.Groups) > 0 {
		fmt.Fprintln(b, "\nMACHINES AND TRENDS")
	}
	for _, g := range s.Groups {
		writeGroupText(b, g)
	}
	if len(s.Snapshots) > 0 {
		fmt.Fprintln(b, "\nPOOL SNAPSHOTS")
	}
	for _, se := range s.Snapshots {
		writeSeriesText(b, se)
	}
	if len(s.CounterLogs) > 0 {
		fmt.Fprintln(b, "\nPERFORMANCE MONITOR LOGS")
	}
	for _, l := range s.CounterLogs {
		writeCounterText(b, l)
	}
	if len(s.FailedSnapshots) > 0 {
		fmt.Fprintln(b, "\nSNAPSHOTS NOT READ")
		for _, f := range s.FailedSnapshots {
			fmt.Fprintln(b, "  "+failedLine(f))
		}
	}
	writeRefusalsText(b, s)
	if len(s.Notes) > 0 {
		fmt.Fprintln(b, "\nNOTES")
		for _, n := range s.Notes {
			fmt.Fprintln(b, "  "+n)
		}
	}
	return nil
}

// writeDumpsText writes the table of dumps and those not fully analysed.
func writeDumpsText(b *bytes.Buffer, ds []*DumpRecord) {
	if len(ds) == 0 {
		return
	}
	under, short := shortNames(ds)
	if under != "" {
		fmt.Fprintf(b, "\nDUMPS (under %s)\n", under)
	} else {
		fmt.Fprintln(b, "\nDUMPS")
	}
	rows := [][]string{dumpColumns}
	var probs []string
	for _, d := range ds {
		rows = append(rows, dumpRow(d, short(d)))
		if p, ok := problem(d); ok {
			probs = append(probs, p)
		}
	}
	writeTable(b, rows, []int{48, 5, 6, 36, 16, 8, 26, 16, 24})
	if len(probs) > 0 {
		fmt.Fprintln(b, "\nNOT FULLY ANALYSED")
		for _, p := range probs {
			fmt.Fprintln(b, "  "+p)
		}
	}
}

// writeFlaggedText writes the flagged trends, ranked, or says there are none.
func writeFlaggedText(b *bytes.Buffer, fl []*Trend) {
	if len(fl) == 0 {
		fmt.Fprintln(b, "  No tag grows consistently.")
		return
	}
	fmt.Fprintln(b, "  Growing tags, ranked:")
	for _, t := range fl {
		fmt.Fprintf(b, "  %2d. %s\n", t.Rank, trendLine(t))
	}
}

func writeNotesText(b *bytes.Buffer, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(b, "  Note: %s\n", n)
	}
}

func writeGroupText(b *bytes.Buffer, g *Group) {
	fmt.Fprintf(b, "\n%s  %s: %s\n", g.ID, g.Name, groupSpan(g))
	writeFlaggedText(b, g.Flagged())
	writeOthersText(b, "Other leading tags:", g.Trends,
		func(t *Trend) bool { return t.Flagged },
		func(t *Trend) string { return "    " + trendLine(t) })
	writeNotesText(b, g.Notes)
}

func writeSeriesText(b *bytes.Buffer, se *Series) {
	fmt.Fprintf(b, "\n%s  %s: %s\n", se.ID, se.Name, plural(len(se.Snapshots), "snapshot"))
	rows := [][]string{{"Time (UTC)", "From", "Snapshot", "Format", "Nonpaged pool", "Tags"}}
	for _, sn := range se.Snapshots {
		np := poolOfMax(sn.PoolNonPaged, sn.NonPagedMax)
		tags := fmt.Sprint(sn.Tags)
		if sn.Partial {
			tags += " (partial)"
		}
		rows = append(rows, []string{timeText(sn.Time), sn.TimeSource, sn.File, sn.Format, np, tags})
	}
	writeTable(b, rows, []int{16, 8, 60, 12, 14, 14})
	writeFlaggedText(b, se.Flagged())
	writeNotesText(b, se.Notes)
}

func writeCounterText(b *bytes.Buffer, l *CounterLog) {
	fmt.Fprintf(b, "\n%s  %s: %s\n  %s\n", l.ID, l.name(), l.File, l.span())
	if fl := l.Flagged(); len(fl) > 0 {
		fmt.Fprintln(b, "  Counters that only grow:")
		for _, c := range fl {
			fmt.Fprintf(b, "    %s: %s\n", c.Counter, c.Reason)
		}
	} else {
		fmt.Fprintln(b, "  No counter only grows.")
	}
	writeOthersText(b, "Other counters:", l.Counters,
		func(c *CounterTrend) bool { return c.Flagged },
		func(c *CounterTrend) string { return c.Counter + ": " + c.Reason })
	writeNotesText(b, l.Notes)
}

// writeOthersText lists, under heading, the first eight of items that are
// not flagged, each as line words it; nothing when every one is flagged.
// The groups' tags and the counter logs' counters share it.
func writeOthersText[T any](b *bytes.Buffer, heading string, items []T, flagged func(T) bool, line func(T) string) {
	var rest []T
	for _, it := range items {
		if !flagged(it) {
			rest = append(rest, it)
		}
	}
	if len(rest) == 0 {
		return
	}
	fmt.Fprintln(b, "  "+heading)
	for _, it := range rest[:min(len(rest), 8)] {
		fmt.Fprintf(b, "    %s\n", line(it))
	}
}

func writeRefusalsText(b *bytes.Buffer, s *Summary) {
	if len(s.Refusals) == 0 {
		return
	}
	fmt.Fprintln(b, "\nHTTP.SYS CONNECTIONS REFUSED (free nonpaged pool below 20 MB), WITH THE DUMPS AND SNAPSHOTS AROUND THEM")
	for _, l := range s.Refusals {
		if l.Err != "" {
			fmt.Fprintf(b, "  %s: %s\n", l.File, l.Err)
			continue
		}
		fmt.Fprintf(b, "  %s: %s in %s\n", l.File, plural(l.Total, "refused connection"), plural(len(l.Hours), "hour"))
	}
	rows := [][]string{eventColumns}
	for _, ev := range timeline(s) {
		rows = append(rows, eventRow(ev))
	}
	if len(rows) > 1 {
		writeTable(b, rows, []int{16, 8, 70, 26, 8})
	}
}

// shortNames returns the folder all dumps lie under and a function naming
// a dump relative to it, so that the table shows what differs.
func shortNames(ds []*DumpRecord) (string, func(*DumpRecord) string) {
	var common string
	for i, d := range ds {
		dir := filepath.Dir(d.Path)
		if i == 0 {
			common = dir
			continue
		}
		for common != "" && !within(dir, common) {
			parent := filepath.Dir(common)
			if parent == common {
				common = ""
				break
			}
			common = parent
		}
	}
	if common == "." || common == string(filepath.Separator) {
		common = ""
	}
	return common, func(d *DumpRecord) string {
		if common == "" {
			return d.Name()
		}
		rel, err := filepath.Rel(common, d.Path)
		if err != nil {
			return d.Name()
		}
		if d.Member != "" {
			return rel + ":" + d.Member
		}
		return rel
	}
}

// within reports whether dir is root or lies under it.
func within(dir, root string) bool {
	return dir == root || strings.HasPrefix(dir, strings.TrimSuffix(root, string(filepath.Separator))+string(filepath.Separator))
}

// writeTable writes rows in columns no wider than widths; a longer cell
// in the first column keeps its end (a path's file name), in the others
// its start.
func writeTable(b *bytes.Buffer, rows [][]string, widths []int) {
	w := make([]int, len(widths))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], min(len([]rune(c)), widths[i]))
		}
	}
	for _, r := range rows {
		var line strings.Builder
		line.WriteString("  ")
		for i, c := range r {
			rs := []rune(c)
			switch {
			case len(rs) <= w[i]:
			case i == 0:
				rs = append([]rune("..."), rs[len(rs)-w[i]+3:]...)
			default:
				rs = append(rs[:w[i]-3:w[i]-3], []rune("...")...)
			}
			line.WriteString(string(rs))
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", w[i]-len(rs)+2))
			}
		}
		fmt.Fprintln(b, strings.TrimRight(line.String(), " "))
	}
}

// failedLine names a failed input and its error once (errors usually
// start with the file's name already).
func failedLine(f FailedInput) string {
	if strings.HasPrefix(f.Error, f.File) {
		return f.Error
	}
	return f.File + ": " + f.Error
}

// poolOfMax writes a pool's use, and its maximum when !vm gave one.
func poolOfMax(used, max uint64) string {
	switch {
	case used == 0:
		return "-"
	case max == 0:
		return units.BytesF(float64(used))
	}
	return fmt.Sprintf("%s of %s", units.BytesF(float64(used)), units.BytesF(float64(max)))
}
