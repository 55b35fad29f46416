package batch

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/poolblame/poolblame/report"
	"github.com/poolblame/poolblame/units"
)

// summary.html is one self-contained page, no scripts and no external
// resources, in the report's look (report.StyleSheet) with the few rules
// a summary adds. html/template escapes every value: file names, tags,
// driver names and notes come from the inputs.

// chartLines is how many trends a chart draws.
const chartLines = 5

//go:embed summary.tmpl
var summarySource string

var summaryTemplate = template.Must(template.New("summary").Funcs(template.FuncMap{
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(summarySource))

// summaryStyle is what the summary adds to the report's style sheet: row
// colors, wrapping cells and the chart's text and lines.
const summaryStyle = template.CSS(`body { max-width: 1400px; }
table { width: auto; }
td { white-space: nowrap; }
td.w { white-space: normal; overflow-wrap: anywhere; min-width: 16em; }
td.s { white-space: normal; overflow-wrap: anywhere; min-width: 8em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.error td, tr.flag td { background: #fde8e8; }
tr.nopool td { background: #fff6dd; }
.note { color: var(--muted); font-size: 14px; }
svg.chart { max-width: 880px; margin: .5em 0; }
svg .ct { font-size: 13px; font-weight: bold; }
svg .yl { font-size: 11px; text-anchor: end; }
svg .xl { font-size: 11px; text-anchor: middle; }
svg .lg { font-size: 12px; }
.grid { stroke: #eee; } .axis { stroke: #888; } .boot { stroke: #999; stroke-dasharray: 4 3; }
`)

// summaryPage is what summary.tmpl draws: text already worded, charts as
// data; nothing in it is escaped yet.
type summaryPage struct {
	Style, Extra template.CSS
	Counts       string
	Generated    string
	Dumps        *dumpTable
	Groups       []sectionView
	Series       []sectionView
	Counters     []counterView // logs of no group or series
	Failed       []string
	Refusals     *refusalView
	Notes        []string
}

type dumpTable struct {
	Under    string
	Columns  []string
	Rows     []dumpRowView
	Problems []string
}

type dumpRowView struct {
	Class   string
	Cells   []cellView
	Reports []linkView
}

type cellView struct{ Class, Text string }

type linkView struct{ Href, Text string }

// sectionView is one machine's group of dumps or one snapshot series.
type sectionView struct {
	ID, Name  string
	Span      string
	Snapshots []snapshotRow
	Chart     *svgChart
	Trends    []trendRow
	Notes     []string
	Counters  []counterView
}

type snapshotRow struct {
	Time, From, File, Format, NonPaged, Paged, Tags string
}

type trendRow struct {
	Flagged                                            bool
	Rank, Tag, Pool, Growth, Rate, Share, Drivers, Why string
}

type counterView struct {
	ID, File, Span string
	Charts         []*svgChart
	Rows           []counterRow
	Notes          []string
}

type counterRow struct {
	Flagged                         bool
	Counter, First, Last, Rate, Why string
}

type refusalView struct {
	Chart   *svgChart
	Columns []string
	Rows    [][]cellView
	Logs    []string
}

// writeHTML writes summary.html.
func writeHTML(b *bytes.Buffer, s *Summary) error {
	page, err := newSummaryPage(s)
	if err != nil {
		return err
	}
	return summaryTemplate.Execute(b, page)
}

func newSummaryPage(s *Summary) (*summaryPage, error) {
	style, err := report.StyleSheet()
	if err != nil {
		return nil, err
	}
	p := &summaryPage{Style: style, Extra: summaryStyle, Counts: s.CountsLine(), Dumps: dumpsView(s.Dumps),
		Refusals: refusalsView(s), Notes: s.Notes}
	if !s.Generated.IsZero() {
		p.Generated = s.Generated.UTC().Format(time.RFC3339)
	}
	// Performance Monitor logs are drawn beside the dumps and snapshots of
	// their machine; placed keeps each in one place.
	placed := map[*CounterLog]bool{}
	for _, g := range s.Groups {
		v := groupView(g)
		v.Counters = countersOf(s, placed, func(l *CounterLog) bool { return l.ofGroup(g) })
		p.Groups = append(p.Groups, v)
	}
	for _, se := range s.Snapshots {
		v := seriesView(se)
		v.Counters = countersOf(s, placed, func(l *CounterLog) bool { return l.ofSeries(se) })
		p.Series = append(p.Series, v)
	}
	p.Counters = countersOf(s, placed, func(*CounterLog) bool { return true })
	for _, f := range s.FailedSnapshots {
		p.Failed = append(p.Failed, failedLine(f))
	}
	return p, nil
}

// dumpsView is the table of dumps and the list of those not fully
// analysed; nil without dumps.
func dumpsView(ds []*DumpRecord) *dumpTable {
	if len(ds) == 0 {
		return nil
	}
	under, short := shortNames(ds)
	t := &dumpTable{Under: under, Columns: dumpColumns}
	for _, d := range ds {
		row := dumpRowView{}
		switch d.Status {
		case StatusError:
			row.Class = "error"
		case StatusNoPool:
			row.Class = "nopool"
		}
		for i, c := range dumpRow(d, short(d)) {
			cell := cellView{Text: c}
			if i == 0 || i == 3 || i == 6 { // dump name, bug check name, pool use: long, may wrap
				cell.Class = "s"
			}
			row.Cells = append(row.Cells, cell)
		}
		for _, f := range sortedKeys(d.Reports) {
			row.Reports = append(row.Reports, linkView{Href: d.Reports[f], Text: f})
		}
		t.Rows = append(t.Rows, row)
		if p, ok := problem(d); ok {
			t.Problems = append(t.Problems, p)
		}
	}
	return t
}

func groupView(g *Group) sectionView {
	return sectionView{ID: g.ID, Name: g.Name, Span: groupSpan(g), Chart: groupChart(g),
		Trends: trendRows(g.Trends, units.PerDay), Notes: g.Notes}
}

func seriesView(se *Series) sectionView {
	v := sectionView{ID: se.ID, Name: se.Name, Chart: seriesChart(se), Trends: trendRows(se.Trends, se.unit), Notes: se.Notes}
	for _, sn := range se.Snapshots {
		tags := fmt.Sprint(sn.Tags)
		if sn.Partial {
			tags += " (partial)"
		}
		v.Snapshots = append(v.Snapshots, snapshotRow{Time: timeText(sn.Time), From: sn.TimeSource, File: sn.File, Format: sn.Format,
			NonPaged: poolOfMax(sn.PoolNonPaged, sn.NonPagedMax), Paged: poolOfMax(sn.PoolPaged, sn.PagedMax), Tags: tags})
	}
	return v
}

func trendRows(ts []*Trend, unit func(float64) string) []trendRow {
	var out []trendRow
	for _, t := range ts {
		r := trendRow{Flagged: t.Flagged, Tag: t.Tag, Pool: t.Pool, Growth: "-", Rate: "-",
			Share: fmt.Sprintf("%.0f%%", 100*t.TopShare), Drivers: strings.Join(t.Drivers, ", "), Why: t.Reason}
		if t.Flagged {
			r.Rank = fmt.Sprint(t.Rank)
		}
		if t.MedianRate > 0 {
			r.Rate = units.PerDay(t.MedianRate)
		}
		if t.Measured() {
			r.Growth = unit(t.Growth)
		}
		out = append(out, r)
	}
	return out
}

// refusalsView is the HTTP.SYS section; nil without logs.
func refusalsView(s *Summary) *refusalView {
	if len(s.Refusals) == 0 {
		return nil
	}
	evs := timeline(s)
	v := &refusalView{Chart: timelineChart("Connections refused per hour, with the dumps and snapshots around them", evs), Columns: eventColumns}
	for _, ev := range evs {
		r := eventRow(ev)
		v.Rows = append(v.Rows, []cellView{{Text: r[0]}, {Text: r[1]}, {Class: "w", Text: r[2]}, {Class: "n", Text: r[3]}, {Class: "n", Text: r[4]}})
	}
	for _, l := range s.Refusals {
		if l.Err != "" {
			v.Logs = append(v.Logs, l.File+": "+l.Err)
			continue
		}
		v.Logs = append(v.Logs, fmt.Sprintf("%s: %s in %s", l.File, plural(l.Total, "refused connection"), plural(len(l.Hours), "hour")))
	}
	return v
}

// countersOf are the logs of the machine of one section, each placed
// once.
func countersOf(s *Summary, placed map[*CounterLog]bool, mine func(*CounterLog) bool) []counterView {
	var out []counterView
	for _, l := range s.CounterLogs {
		if placed[l] || !mine(l) {
			continue
		}
		placed[l] = true
		out = append(out, counterLogView(l))
	}
	return out
}

func optBytes(n uint64) string {
	if n == 0 {
		return "-"
	}
	return units.BytesF(float64(n))
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

func groupChart(g *Group) *svgChart {
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

func seriesChart(se *Series) *svgChart {
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
