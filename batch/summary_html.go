package batch

import (
	"bytes"
	"fmt"
	"html"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/poolblame/poolblame/units"
)

// chartLines is how many trends a chart draws.
const chartLines = 5

const pageStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td{white-space:nowrap}td.w{white-space:normal;overflow-wrap:anywhere;min-width:16em}td.s{white-space:normal;overflow-wrap:anywhere;min-width:8em}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.error td{background:#fde8e8}tr.nopool td{background:#fff6dd}tr.flag td{background:#fde8e8}
.note{color:#555;font-size:.9em}.chart{display:block;margin:.5em 0}
.ct{font-size:13px;font-weight:bold}.yl{font-size:11px;text-anchor:end}.xl{font-size:11px;text-anchor:middle}.lg{font-size:12px}
.grid{stroke:#eee}.axis{stroke:#888}.boot{stroke:#999;stroke-dasharray:4 3}
code{font-family:ui-monospace,Consolas,monospace}`

// writeHTML writes summary.html: one self-contained page, no external
// resources.
func writeHTML(b *bytes.Buffer, s *Summary) error {
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	b.WriteString("<title>poolblame batch summary</title>\n<style>" + pageStyle + "</style>\n</head>\n<body>\n")
	b.WriteString("<h1>poolblame batch summary</h1>\n")
	fmt.Fprintf(b, "<p>%s", e(s.CountsLine()))
	if !s.Generated.IsZero() {
		fmt.Fprintf(b, "; generated %s", e(s.Generated.UTC().Format(time.RFC3339)))
	}
	b.WriteString(".</p>\n")

	// Performance Monitor logs are drawn beside the dumps and snapshots of
	// their machine; placed keeps each in one place.
	placed := map[*CounterLog]bool{}

	if len(s.Dumps) > 0 {
		under, short := shortNames(s.Dumps)
		b.WriteString("<h2>Dumps</h2>\n")
		if under != "" {
			fmt.Fprintf(b, "<p>Under <code>%s</code>.</p>\n", e(under))
		}
		b.WriteString("<table>\n<tr>")
		for _, c := range dumpColumns {
			fmt.Fprintf(b, "<th>%s</th>", e(c))
		}
		b.WriteString("<th>Reports</th></tr>\n")
		for _, d := range s.Dumps {
			class := ""
			switch d.Status {
			case StatusError:
				class = ` class="error"`
			case StatusNoPool:
				class = ` class="nopool"`
			}
			fmt.Fprintf(b, "<tr%s>", class)
			for i, c := range dumpRow(d, short(d)) {
				switch i {
				case 0, 3, 6: // dump name, bug check name, pool use: long, may wrap
					fmt.Fprintf(b, "<td class=\"s\">%s</td>", e(c))
				default:
					fmt.Fprintf(b, "<td>%s</td>", e(c))
				}
			}
			b.WriteString("<td>")
			for i, f := range sortedKeys(d.Reports) {
				if i > 0 {
					b.WriteString(" ")
				}
				fmt.Fprintf(b, `<a href="%s">%s</a>`, e(d.Reports[f]), e(f))
			}
			b.WriteString("</td></tr>\n")
		}
		b.WriteString("</table>\n")
		var probs []string
		for _, d := range s.Dumps {
			if p, ok := problem(d); ok {
				probs = append(probs, p)
			}
		}
		if len(probs) > 0 {
			b.WriteString("<h3>Not fully analysed</h3>\n<ul>\n")
			for _, p := range probs {
				fmt.Fprintf(b, "<li>%s</li>\n", e(p))
			}
			b.WriteString("</ul>\n")
		}
	}

	if len(s.Groups) > 0 {
		b.WriteString("<h2>Machines and trends</h2>\n")
	}
	for _, g := range s.Groups {
		fmt.Fprintf(b, "<section id=\"%s\">\n<h3>%s: %s</h3>\n", e(g.ID), e(g.ID), e(g.Name))
		fmt.Fprintf(b, "<p>%s.</p>\n", e(groupSpan(g)))
		b.WriteString(groupChart(g))
		writeTrendTable(b, g.Trends, units.PerDay)
		writeNotes(b, g.Notes)
		writeCountersOf(b, s, placed, func(l *CounterLog) bool { return l.ofGroup(g) })
		b.WriteString("</section>\n")
	}

	if len(s.Snapshots) > 0 {
		b.WriteString("<h2>Pool snapshots</h2>\n")
	}
	for _, se := range s.Snapshots {
		fmt.Fprintf(b, "<section id=\"%s\">\n<h3>%s: %s</h3>\n<table>\n", e(se.ID), e(se.ID), e(se.Name))
		b.WriteString("<tr><th>Time (UTC)</th><th>From</th><th>Snapshot</th><th>Format</th><th>Nonpaged pool</th><th>Paged pool</th><th>Tags</th></tr>\n")
		for _, sn := range se.Snapshots {
			tags := fmt.Sprint(sn.Tags)
			if sn.Partial {
				tags += " (partial)"
			}
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
				e(timeText(sn.Time)), e(sn.TimeSource), e(sn.File), e(sn.Format), e(poolOfMax(sn.PoolNonPaged, sn.NonPagedMax)), e(poolOfMax(sn.PoolPaged, sn.PagedMax)), e(tags))
		}
		b.WriteString("</table>\n")
		b.WriteString(seriesChart(se))
		writeTrendTable(b, se.Trends, se.unit)
		writeNotes(b, se.Notes)
		writeCountersOf(b, s, placed, func(l *CounterLog) bool { return l.ofSeries(se) })
		b.WriteString("</section>\n")
	}

	var rest []*CounterLog
	for _, l := range s.CounterLogs {
		if !placed[l] {
			rest = append(rest, l)
		}
	}
	if len(rest) > 0 {
		b.WriteString("<h2>Performance Monitor logs</h2>\n")
		for _, l := range rest {
			var sb strings.Builder
			writeCounterHTML(&sb, l)
			fmt.Fprintf(b, "<section id=\"%s\">\n%s</section>\n", e(l.ID), sb.String())
		}
	}

	if len(s.FailedSnapshots) > 0 {
		b.WriteString("<h2>Snapshots not read</h2>\n<ul>\n")
		for _, f := range s.FailedSnapshots {
			fmt.Fprintf(b, "<li>%s</li>\n", e(failedLine(f)))
		}
		b.WriteString("</ul>\n")
	}

	if len(s.Refusals) > 0 {
		b.WriteString("<h2>HTTP.SYS connections refused</h2>\n<p class=\"note\">HTTP.SYS refuses connections while free nonpaged pool is below 20 MB: refusals date the exhaustion. Dumps and snapshots taken within two days of them are marked (dashed: blue dumps, green snapshots).</p>\n")
		evs := timeline(s)
		b.WriteString(timelineChart("Connections refused per hour, with the dumps and snapshots around them", evs))
		b.WriteString("<table>\n<tr>")
		for _, c := range eventColumns {
			fmt.Fprintf(b, "<th>%s</th>", e(c))
		}
		b.WriteString("</tr>\n")
		for _, ev := range evs {
			r := eventRow(ev)
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td class=\"w\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n", e(r[0]), e(r[1]), e(r[2]), e(r[3]), e(r[4]))
		}
		b.WriteString("</table>\n<ul class=\"note\">\n")
		for _, l := range s.Refusals {
			if l.Err != "" {
				fmt.Fprintf(b, "<li>%s: %s</li>\n", e(l.File), e(l.Err))
				continue
			}
			fmt.Fprintf(b, "<li>%s: %s in %s</li>\n", e(l.File), e(plural(l.Total, "refused connection")), e(plural(len(l.Hours), "hour")))
		}
		b.WriteString("</ul>\n")
	}
	if len(s.Notes) > 0 {
		b.WriteString("<h2>Notes</h2>\n")
		writeNotes(b, s.Notes)
	}
	b.WriteString("</body>\n</html>\n")
	return nil
}

func optBytes(n uint64) string {
	if n == 0 {
		return "-"
	}
	return units.BytesF(float64(n))
}

func writeNotes(b *bytes.Buffer, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("<ul class=\"note\">\n")
	for _, n := range notes {
		fmt.Fprintf(b, "<li>%s</li>\n", html.EscapeString(n))
	}
	b.WriteString("</ul>\n")
}

func writeTrendTable(b *bytes.Buffer, ts []*Trend, unit func(float64) string) {
	if len(ts) == 0 {
		return
	}
	e := html.EscapeString
	b.WriteString("<table>\n<tr><th>Rank</th><th>Tag</th><th>Pool</th><th>Growth</th><th>Median rate since boot</th><th>Top share</th><th>Drivers</th><th>Why</th></tr>\n")
	for _, t := range ts {
		rank, class := "", ""
		if t.Flagged {
			rank, class = fmt.Sprint(t.Rank), ` class="flag"`
		}
		rate, growth := "-", "-"
		if t.MedianRate > 0 {
			rate = units.PerDay(t.MedianRate)
		}
		if t.Measured() {
			growth = unit(t.Growth)
		}
		fmt.Fprintf(b, "<tr%s><td>%s</td><td><code>%s</code></td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%.0f%%</td><td>%s</td><td class=\"w\">%s</td></tr>\n",
			class, rank, e(t.Tag), e(t.Pool), e(growth), e(rate), 100*t.TopShare, e(strings.Join(t.Drivers, ", ")), e(t.Reason))
	}
	b.WriteString("</table>\n")
}

// chartTrends are the trends a chart draws: the flagged, then the rest.
func chartTrends(ts []*Trend) []*Trend { return ts[:min(len(ts), chartLines)] }

func legend(t *Trend) string {
	name := fmt.Sprintf("%s (%s)", t.Tag, t.Pool)
	if len(t.Drivers) > 0 {
		name += " " + t.Drivers[0]
	}
	return name
}

func groupChart(g *Group) string {
	var lines []chartLine
	for _, t := range chartTrends(g.Trends) {
		l := chartLine{name: legend(t)}
		for _, p := range t.Points {
			if !p.Present || p.Time.IsZero() {
				continue
			}
			l.pts = append(l.pts, chartPoint{x: float64(p.Time.Unix()), y: float64(p.Bytes), seg: p.Boot,
				title: fmt.Sprintf("%s %s: %s in %d allocations, boot %d, up %s", t.Tag, timeText(p.Time), units.BytesF(float64(p.Bytes)), p.Outstanding, p.Boot, units.UptimeShort(p.UptimeSeconds))})
		}
		lines = append(lines, l)
	}
	var marks []float64
	prev := 0
	for _, d := range g.Dumps {
		if d.Boot != prev && !d.SystemTime.IsZero() && d.UptimeSeconds > 0 {
			marks = append(marks, float64(d.SystemTime.Add(-seconds(d.UptimeSeconds)).Unix()))
		}
		prev = d.Boot
	}
	return lineChart(fmt.Sprintf("%s: bytes of the leading tags by dump time (dashed: boots)", g.ID), lines, true, marks)
}

func seriesChart(se *Series) string {
	var lines []chartLine
	for _, t := range chartTrends(se.Trends) {
		l := chartLine{name: legend(t)}
		for i, p := range t.Points {
			if !p.Present {
				continue
			}
			x := float64(i + 1)
			if !se.PerStep {
				x = float64(p.Time.Unix())
			}
			l.pts = append(l.pts, chartPoint{x: x, y: float64(p.Bytes),
				title: fmt.Sprintf("%s %s: %s in %d allocations", t.Tag, se.Snapshots[i].File, units.BytesF(float64(p.Bytes)), p.Outstanding)})
		}
		lines = append(lines, l)
	}
	axis := "time"
	if se.PerStep {
		axis = "snapshot"
	}
	return lineChart(fmt.Sprintf("%s: bytes of the leading tags by %s", se.ID, axis), lines, !se.PerStep, nil)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// writeCountersOf writes the logs of the machine of that section, each
// once.
func writeCountersOf(b *bytes.Buffer, s *Summary, placed map[*CounterLog]bool, mine func(*CounterLog) bool) {
	for _, l := range s.CounterLogs {
		if placed[l] || !mine(l) {
			continue
		}
		placed[l] = true
		var sb strings.Builder
		writeCounterHTML(&sb, l)
		b.WriteString(sb.String())
	}
}
