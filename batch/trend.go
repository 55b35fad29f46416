package batch

import (
	"fmt"
	"math"
	"sort"

	"github.com/poolblame/poolblame/units"
)

// seriesKey names one tag in one pool.
type seriesKey struct{ tag, pool string }

// maxTrends bounds the trends kept per group or series: the candidates
// beyond it rank too low to matter.
const maxTrends = 20

// dumpTrends computes the trends of a group from the tags kept for each
// of its dumps.
func dumpTrends(g *Group, tags map[*DumpRecord][]TagBytes, o TrendOptions) {
	o = o.withDefaults()
	var ds []*DumpRecord
	for _, d := range g.Dumps {
		if (d.Status == StatusOK || d.Status == StatusPartial) && d.UptimeSeconds > 0 && len(tags[d]) > 0 {
			ds = append(ds, d)
		}
	}
	switch n := len(ds); {
	case n == 0:
		g.Notes = append(g.Notes, "no dump of this group has pool data with an uptime: no trend")
		return
	case n == 1:
		g.Notes = append(g.Notes, "one dump with pool data: its rates are averages since boot, which cannot tell growth from a steady size")
	}
	partial := 0
	for _, d := range ds {
		if d.Status == StatusPartial {
			partial++
		}
	}
	if partial > 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("%d of the dumps have partial pool data: a tag missing from one is unknown there, not zero", partial))
	}
	if skipped := countUsable(g.Dumps) - len(ds); skipped > 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("%d dumps with pool data but no uptime are left out of the trends", skipped))
	}

	// Per dump: the tags, and each tag's rank in its pool by rate (which
	// within one dump is its rank by bytes).
	byDump := make([]map[seriesKey]TagBytes, len(ds))
	ranks := make([]map[seriesKey]int, len(ds))
	var cands []seriesKey
	isCand := map[seriesKey]bool{}
	for i, d := range ds {
		byDump[i], ranks[i] = map[seriesKey]TagBytes{}, map[seriesKey]int{}
		for _, pool := range []string{"nonpaged", "paged"} {
			var ts []TagBytes
			for _, t := range tags[d] {
				if t.Pool == pool {
					ts = append(ts, t)
				}
			}
			sort.SliceStable(ts, func(a, b int) bool { return ts[a].Bytes > ts[b].Bytes })
			for r, t := range ts {
				k := seriesKey{t.Tag, t.Pool}
				byDump[i][k], ranks[i][k] = t, r
				if r < o.TopK && !isCand[k] {
					isCand[k] = true
					cands = append(cands, k)
				}
			}
		}
	}

	for _, k := range cands {
		t := &Trend{Tag: k.tag, Pool: k.pool}
		var rates, xs, ys []float64
		top := 0
		for i, d := range ds {
			p := Point{Time: d.SystemTime, UptimeSeconds: d.UptimeSeconds, Boot: d.Boot}
			if tb, ok := byDump[i][k]; ok {
				p.Present, p.Bytes, p.Outstanding = true, tb.Bytes, tb.Outstanding
				p.RatePerDay = float64(tb.Bytes) / (d.UptimeSeconds / 86400)
				rates = append(rates, p.RatePerDay)
				xs, ys = append(xs, d.UptimeSeconds/86400), append(ys, float64(tb.Bytes))
				if ranks[i][k] < o.TopK {
					top++
				}
			}
			t.Points = append(t.Points, p)
		}
		t.TopShare = float64(top) / float64(len(ds))
		t.MedianRate = median(rates)
		if fitUsable(xs) {
			t.Slope, t.Intercept, t.R2 = fitLine(xs, ys)
			t.FitPoints = len(xs)
		}
		// Within one boot the counters did not restart: the change
		// between two dumps is growth measured, not inferred.
		for i := 1; i < len(t.Points); i++ {
			a, b := t.Points[i-1], t.Points[i]
			if a.Present && b.Present && a.Boot == b.Boot && b.UptimeSeconds > a.UptimeSeconds {
				t.WithinBoot = append(t.WithinBoot, (float64(b.Bytes)-float64(a.Bytes))/((b.UptimeSeconds-a.UptimeSeconds)/86400))
			}
		}
		judgeDumpTrend(t, len(ds), o)
		g.Trends = append(g.Trends, t)
	}
	g.Trends = rankTrends(g.Trends)
	for _, t := range g.Trends {
		t.Drivers = driversFor(g.Dumps, t.Tag, t.Pool)
	}
}

func countUsable(ds []*DumpRecord) int {
	n := 0
	for _, d := range ds {
		if d.Status == StatusOK || d.Status == StatusPartial {
			n++
		}
	}
	return n
}

// judgeDumpTrend sets a trend's growth, evidence and flag.
func judgeDumpTrend(t *Trend, n int, o TrendOptions) {
	switch {
	case len(t.WithinBoot) > 0:
		t.Growth = median(t.WithinBoot)
		t.Evidence = fmt.Sprintf("within one boot: median of %d changes between dumps", len(t.WithinBoot))
		if t.FitPoints > 0 {
			t.Evidence += fmt.Sprintf("; across boots the fit gives %s", units.PerDay(t.Slope))
		}
	case t.FitPoints > 0:
		t.Growth = t.Slope
		t.Evidence = fmt.Sprintf("across boots: bytes against uptime over %d dumps (R² %.2f)", t.FitPoints, t.R2)
	case n == 1:
		t.Evidence = "one dump: the rate since boot cannot tell growth from a steady size"
	default:
		t.Evidence = "uptimes too alike (or too few dumps list the tag) to tell growth from a steady size"
	}
	floor := o.FloorPerDay
	switch {
	case !t.measured():
		t.Reason = t.Evidence
	case t.TopShare < o.Consistency:
		t.Reason = fmt.Sprintf("among the top %d of its pool in only %.0f%% of the dumps", o.TopK, 100*t.TopShare)
	case t.MedianRate < floor:
		t.Reason = fmt.Sprintf("median rate %s is below the floor of %s", units.PerDay(t.MedianRate), units.PerDay(floor))
	case t.Growth < 0:
		t.Reason = fmt.Sprintf("steady or shrinking (%s), though its size since boot averages %s", units.PerDay(t.Growth), units.PerDay(t.MedianRate))
	case t.Growth < floor:
		t.Reason = fmt.Sprintf("steady: grows %s, below the floor of %s, though its size since boot averages %s", units.PerDay(t.Growth), units.PerDay(floor), units.PerDay(t.MedianRate))
	case t.Growth < t.MedianRate/2:
		t.Reason = fmt.Sprintf("mostly a steady size: grows %s against an average of %s since boot", units.PerDay(t.Growth), units.PerDay(t.MedianRate))
	default:
		t.Flagged = true
		t.Reason = fmt.Sprintf("grows %s (%s), among the top %d of its pool in %.0f%% of the dumps", units.PerDay(t.Growth), t.Evidence, o.TopK, 100*t.TopShare)
	}
}

// rankTrends puts flagged trends first by growth, then the rest by rate
// (or growth for snapshots), numbers the flagged and keeps maxTrends.
func rankTrends(ts []*Trend) []*Trend {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Flagged != b.Flagged {
			return a.Flagged
		}
		if a.Flagged {
			return a.Growth > b.Growth
		}
		if a.MedianRate != b.MedianRate {
			return a.MedianRate > b.MedianRate
		}
		return a.Growth > b.Growth
	})
	for i, t := range ts {
		if t.Flagged {
			t.Rank = i + 1
		}
	}
	return ts[:min(len(ts), maxTrends)]
}

// driversFor lists the drivers the dumps' reports name first for a tag,
// the most named first.
func driversFor(ds []*DumpRecord, tag, pool string) []string {
	count := map[string]int{}
	var order []string
	for _, d := range ds {
		for _, l := range d.Leading {
			if l.Tag == tag && l.Pool == pool && l.Driver != "" {
				if count[l.Driver] == 0 {
					order = append(order, l.Driver)
				}
				count[l.Driver]++
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
	return order
}

// fitUsable reports whether uptimes spread enough for a fit: three
// points at least, the shortest uptime under three quarters of the
// longest.
func fitUsable(xs []float64) bool {
	if len(xs) < 3 {
		return false
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return hi > 0 && lo < 0.75*hi
}

// fitLine is an ordinary least-squares fit y = a + b x, with R².
func fitLine(xs, ys []float64) (slope, intercept, r2 float64) {
	n := float64(len(xs))
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return 0, my, 0
	}
	slope = sxy / sxx
	intercept = my - slope*mx
	if syy > 0 {
		r2 = sxy * sxy / (sxx * syy)
	}
	return slope, intercept, r2
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
