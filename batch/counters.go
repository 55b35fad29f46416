package batch

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/units"
)

// CounterLog is a Performance Monitor log of one machine, with each
// counter's course over the capture.
type CounterLog struct {
	ID       string
	File     string
	Machine  string // from the counter paths; "" when they name none
	Folder   string
	Zone     string // the time zone the log names; "" when none (times taken as UTC)
	Start    time.Time
	End      time.Time
	Samples  int
	Counters []*CounterTrend // flagged first, then by growth
	Notes    []string
}

// CounterTrend is one counter's course over a log.
type CounterTrend struct {
	Counter   string // "Memory\Pool Nonpaged Bytes", "Process(lsass)\Handle Count"
	Bytes     bool   // a byte count, else a count (handles)
	Samples   int
	First     float64
	Last      float64
	Min, Max  float64
	PerDay    float64 // least-squares slope over the capture
	OnlyGrows bool
	Flagged   bool
	Reason    string
	Points    []CounterPoint // at most maxCounterPoints, for the chart
}

// CounterPoint is one charted sample.
type CounterPoint struct {
	Time  time.Time
	Value float64
}

// maxCounterPoints bounds the samples kept per counter for the chart:
// a week of 15-second samples would otherwise be 40,000 circles.
const maxCounterPoints = 240

// minCounterSamples is the least number of samples for a counter to be
// flagged: two samples that rise say nothing of "only grows".
const minCounterSamples = 3

// readCounterLogs parses the Performance Monitor logs; an unreadable one
// is a failed input.
func readCounterLogs(ins []*input) ([]*CounterLog, []FailedInput) {
	var out []*CounterLog
	var failed []FailedInput
	for _, in := range ins {
		rc, err := openText(in)
		if err != nil {
			failed = append(failed, FailedInput{File: in.name(), Error: err.Error()})
			continue
		}
		pl, err := snapshot.ParsePerfmon(rc, in.name())
		rc.Close()
		if err != nil {
			failed = append(failed, FailedInput{File: in.name(), Error: err.Error()})
			continue
		}
		out = append(out, counterLog(pl, in))
	}
	for i, l := range out {
		l.ID = fmt.Sprintf("p%d", i+1)
	}
	return out, failed
}

// counterLog judges each counter of a parsed log.
func counterLog(pl *snapshot.CounterLog, in *input) *CounterLog {
	l := &CounterLog{File: in.name(), Folder: in.folder, Zone: pl.Zone, Samples: len(pl.Times), Notes: pl.Notes}
	if n := len(pl.Times); n > 0 {
		l.Start, l.End = pl.Times[0], pl.Times[n-1]
	}
	machines := map[string]bool{}
	for _, c := range pl.Counters {
		if c.Machine != "" {
			machines[strings.ToUpper(c.Machine)] = true
		}
		tr := c.Trend(pl.Times)
		ct := &CounterTrend{Counter: c.Label(), Bytes: c.Bytes(), Samples: tr.Samples, First: tr.First, Last: tr.Last,
			Min: tr.Min, Max: tr.Max, PerDay: tr.PerDay, OnlyGrows: tr.OnlyGrows}
		judgeCounter(ct, tr)
		ct.Points = counterPoints(c.Values, pl.Times)
		l.Counters = append(l.Counters, ct)
	}
	for m := range machines {
		if l.Machine == "" || m < l.Machine {
			l.Machine = m
		}
	}
	if len(machines) > 1 {
		l.Notes = append(l.Notes, fmt.Sprintf("the counters name %d machines; the log is filed under %s", len(machines), l.Machine))
	}
	sort.SliceStable(l.Counters, func(i, j int) bool {
		a, b := l.Counters[i], l.Counters[j]
		if a.Flagged != b.Flagged {
			return a.Flagged
		}
		return relGrowth(a) > relGrowth(b)
	})
	return l
}

// relGrowth is growth per day relative to the first value, so byte and
// handle counters rank together.
func relGrowth(c *CounterTrend) float64 {
	if c.First <= 0 {
		return c.PerDay
	}
	return c.PerDay / c.First
}

func (c *CounterTrend) amount(v float64) string {
	if c.Bytes {
		return units.BytesF(v)
	}
	return units.Count(int64(math.Round(v)))
}

// Rate is the counter's growth per day, in its unit.
func (c *CounterTrend) Rate() string { return c.rate(c.PerDay) }

func (c *CounterTrend) rate(v float64) string {
	if c.Bytes {
		return units.PerDay(v)
	}
	return fmt.Sprintf("%+.0f/day", v)
}

// judgeCounter flags a counter that only grows over the capture.
func judgeCounter(c *CounterTrend, tr snapshot.CounterTrend) {
	span := tr.LastTime.Sub(tr.FirstTime)
	switch {
	case tr.Samples < minCounterSamples:
		c.Reason = fmt.Sprintf("%d samples: too few to say", tr.Samples)
	case tr.OnlyGrows:
		c.Flagged = true
		c.Reason = fmt.Sprintf("only grows: %s to %s over %s (%d samples), %s", c.amount(tr.First), c.amount(tr.Last), span.Round(time.Minute), tr.Samples, c.rate(tr.PerDay))
	case tr.Last <= tr.First:
		c.Reason = fmt.Sprintf("does not grow over the capture (%s to %s)", c.amount(tr.First), c.amount(tr.Last))
	default:
		c.Reason = fmt.Sprintf("grows %s but falls back at times (between %s and %s)", c.rate(tr.PerDay), c.amount(tr.Min), c.amount(tr.Max))
	}
}

// counterPoints keeps up to maxCounterPoints samples, evenly spaced, the
// first and the last always among them.
func counterPoints(vals []float64, times []time.Time) []CounterPoint {
	var idx []int
	for i, v := range vals {
		if !math.IsNaN(v) && i < len(times) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	step := max(1, (len(idx)+maxCounterPoints-1)/maxCounterPoints)
	var out []CounterPoint
	for k := 0; k < len(idx); k += step {
		out = append(out, CounterPoint{times[idx[k]], vals[idx[k]]})
	}
	if last := idx[len(idx)-1]; out[len(out)-1].Time != times[last] {
		out = append(out, CounterPoint{times[last], vals[last]})
	}
	return out
}

// Flagged returns the log's counters that only grow.
func (l *CounterLog) Flagged() []*CounterTrend {
	var out []*CounterTrend
	for _, c := range l.Counters {
		if c.Flagged {
			out = append(out, c)
		}
	}
	return out
}

// span says when the log ran.
func (l *CounterLog) span() string {
	if l.Samples == 0 {
		return "no samples"
	}
	zone := "UTC"
	if l.Zone == "" {
		zone = "UTC (local times, no zone in the log)"
	}
	return fmt.Sprintf("%s, %s to %s %s, %d samples", plural(len(l.Counters), "counter"), timeText(l.Start), timeText(l.End), zone, l.Samples)
}

// name is how the summary names the log's machine.
func (l *CounterLog) name() string {
	if l.Machine != "" {
		return l.Machine
	}
	return l.Folder
}

// ofSeries reports whether the log is of the machine a snapshot series
// is: the series is named for it, or both come from one folder.
func (l *CounterLog) ofSeries(se *Series) bool {
	name := strings.TrimSuffix(se.Name, " (session pool)")
	if l.Machine != "" && strings.EqualFold(name, l.Machine) {
		return true
	}
	return filepath.Clean(name) == filepath.Clean(l.Folder)
}

// ofGroup reports whether the log lies in the folder of a group's dumps.
func (l *CounterLog) ofGroup(g *Group) bool {
	if g.Folder != "" {
		return filepath.Clean(g.Folder) == filepath.Clean(l.Folder)
	}
	if len(g.Dumps) == 0 {
		return false
	}
	for _, d := range g.Dumps {
		if filepath.Clean(d.Folder) != filepath.Clean(l.Folder) {
			return false
		}
	}
	return true
}

// counterCharts draws a log's leading counters: bytes in one chart,
// counts (handles) in another, as their scales differ.
func counterCharts(l *CounterLog) []*svgChart {
	var out []*svgChart
	for _, bytes := range []bool{true, false} {
		var lines []chartLine
		for _, c := range l.Counters {
			if c.Bytes != bytes || len(lines) == chartLines || len(c.Points) == 0 {
				continue
			}
			cl := chartLine{name: c.Counter} // the table below says which only grow
			for _, p := range c.Points {
				cl.pts = append(cl.pts, chartPoint{x: float64(p.Time.Unix()), y: p.Value,
					title: fmt.Sprintf("%s %s: %s", c.Counter, timeText(p.Time), c.amount(p.Value))})
			}
			lines = append(lines, cl)
		}
		if len(lines) == 0 {
			continue
		}
		what, ylabel := "bytes", units.BytesF
		if !bytes {
			what, ylabel = "counts", func(v float64) string { return fmt.Sprintf("%.0f", v) }
		}
		if c := lineChartY(fmt.Sprintf("%s %s: counters (%s) over the capture", l.ID, l.name(), what), lines, true, nil, ylabel); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// counterLogView is one log's part of the page: its span, charts, table
// and notes.
func counterLogView(l *CounterLog) counterView {
	v := counterView{ID: l.ID, File: l.File, Span: l.span(), Charts: counterCharts(l), Notes: l.Notes}
	for _, c := range l.Counters {
		v.Rows = append(v.Rows, counterRow{Flagged: c.Flagged, Counter: c.Counter, First: c.amount(c.First), Last: c.amount(c.Last),
			Rate: c.rate(c.PerDay), Why: c.Reason})
	}
	return v
}
