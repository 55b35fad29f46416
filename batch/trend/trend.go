// Package trend follows pool tags over several moments of one machine:
// dumps (bytes against uptime, growth within one boot) and snapshot
// series. It judges which tags grow consistently, from typed samples of
// analyses, and knows nothing of reports or files.
package trend

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/poolblame/poolblame/units"
)

// Options are the thresholds of the trend analysis (see package batch's
// documentation).
type Options struct {
	TopK        int     // rank a tag must reach in its pool; 0: 5
	Consistency float64 // share of dumps or intervals; 0: 0.75
	FloorPerDay float64 // bytes per day; 0: 1 MiB
}

// WithDefaults fills the zero thresholds.
func (o Options) WithDefaults() Options {
	if o.TopK <= 0 {
		o.TopK = 5
	}
	if o.Consistency <= 0 || o.Consistency > 1 {
		o.Consistency = 0.75
	}
	if o.FloorPerDay <= 0 {
		o.FloorPerDay = 1 << 20
	}
	return o
}

// MaxTrends bounds the trends kept per group or series: the candidates
// beyond it rank too low to matter.
const MaxTrends = 20

// Trend is one tag's course over a group of dumps or a snapshot series.
type Trend struct {
	Tag    string
	Pool   string
	Points []Point

	// MedianRate is the median of bytes per day of uptime over the dumps
	// (0 for snapshots, whose uptime is unknown).
	MedianRate float64
	// TopShare is the share of dumps (snapshot intervals) in which the
	// tag ranks among the TopK of its pool by rate (by growth).
	TopShare float64
	// Fit of bytes against uptime across boots: slope in bytes per day,
	// intercept in bytes; FitPoints 0 when no fit could be made.
	Slope, Intercept, R2 float64
	FitPoints            int
	// WithinBoot are the growth rates between consecutive dumps of one
	// boot (snapshot intervals), bytes per day (per step).
	WithinBoot []float64

	Growth   float64 // bytes per day (per step)
	Evidence string  // what Growth rests on
	Flagged  bool
	Rank     int // 1-based among flagged; 0 when not flagged
	Reason   string
	Drivers  []string // candidate drivers, the most named first
}

// Measured reports whether Growth rests on more than one moment.
func (t *Trend) Measured() bool { return len(t.WithinBoot) > 0 || t.FitPoints > 0 }

// Point is a tag's use in one dump or snapshot.
type Point struct {
	Time          time.Time
	UptimeSeconds float64
	Boot          int
	Present       bool // false: the tag is not among the kept ones here
	Bytes         uint64
	Outstanding   int64
	RatePerDay    float64 // bytes / days of uptime; 0 when unknown
}

// Usage is one tag's use in one pool at one moment, as an analysis gave
// it.
type Usage struct {
	Tag         string // as displayed, padding trimmed
	Pool        string // "nonpaged" or "paged" (analysis.PoolType's names)
	Bytes       uint64
	Outstanding int64
}

// Sample is one dump of a machine: its moment and the tags it kept.
type Sample struct {
	Time          time.Time
	UptimeSeconds float64 // > 0
	Boot          int     // dumps of one boot share it
	Partial       bool    // the dump's pool data is partial
	Tags          []Usage
}

// FromDumps computes the trends of one machine's dumps, in time order,
// ranked (see Rank), with notes on what limits them.
func FromDumps(ds []Sample, o Options) (trends []*Trend, notes []string) {
	o = o.WithDefaults()
	switch n := len(ds); {
	case n == 0:
		return nil, []string{"no dump of this group has pool data with an uptime: no trend"}
	case n == 1:
		notes = append(notes, "one dump with pool data: its rates are averages since boot, which cannot tell growth from a steady size")
	}
	partial := 0
	for _, d := range ds {
		if d.Partial {
			partial++
		}
	}
	if partial > 0 {
		notes = append(notes, fmt.Sprintf("%d of the dumps have partial pool data: a tag missing from one is unknown there, not zero", partial))
	}

	// Per dump: the tags, and each tag's rank in its pool by rate (which
	// within one dump is its rank by bytes).
	byDump := make([]map[key]Usage, len(ds))
	ranks := make([]map[key]int, len(ds))
	var cands []key
	isCand := map[key]bool{}
	for i, d := range ds {
		byDump[i], ranks[i] = map[key]Usage{}, map[key]int{}
		for _, pool := range []string{"nonpaged", "paged"} {
			var ts []Usage
			for _, t := range d.Tags {
				if t.Pool == pool {
					ts = append(ts, t)
				}
			}
			sort.SliceStable(ts, func(a, b int) bool { return ts[a].Bytes > ts[b].Bytes })
			for r, t := range ts {
				k := key{t.Tag, t.Pool}
				byDump[i][k], ranks[i][k] = t, r
				if r < o.TopK && !isCand[k] {
					isCand[k] = true
					cands = append(cands, k)
				}
			}
		}
	}
	for _, k := range cands {
		trends = append(trends, dumpTrend(k, ds, byDump, ranks, o))
	}
	return Rank(trends), notes
}

// key names one tag in one pool.
type key struct{ tag, pool string }

// dumpTrend is one tag's course over the dumps.
func dumpTrend(k key, ds []Sample, byDump []map[key]Usage, ranks []map[key]int, o Options) *Trend {
	t := &Trend{Tag: k.tag, Pool: k.pool}
	var rates, xs, ys []float64
	top := 0
	for i, d := range ds {
		p := Point{Time: d.Time, UptimeSeconds: d.UptimeSeconds, Boot: d.Boot}
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
	t.MedianRate = Median(rates)
	if FitUsable(xs) {
		t.Slope, t.Intercept, t.R2 = FitLine(xs, ys)
		t.FitPoints = len(xs)
	}
	// Within one boot the counters did not restart: the change between
	// two dumps is growth measured, not inferred.
	for i := 1; i < len(t.Points); i++ {
		a, b := t.Points[i-1], t.Points[i]
		if a.Present && b.Present && a.Boot == b.Boot && b.UptimeSeconds > a.UptimeSeconds {
			t.WithinBoot = append(t.WithinBoot, (float64(b.Bytes)-float64(a.Bytes))/((b.UptimeSeconds-a.UptimeSeconds)/86400))
		}
	}
	judgeDumpTrend(t, len(ds), o)
	return t
}

// judgeDumpTrend sets a trend's growth, evidence and flag.
func judgeDumpTrend(t *Trend, n int, o Options) {
	switch {
	case len(t.WithinBoot) > 0:
		t.Growth = Median(t.WithinBoot)
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
	case !t.Measured():
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

// Rank puts flagged trends first by growth, then the rest by rate
// (or growth for snapshots), numbers the flagged and keeps MaxTrends.
func Rank(ts []*Trend) []*Trend {
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
	return ts[:min(len(ts), MaxTrends)]
}

// FitUsable reports whether uptimes spread enough for a fit: three
// points at least, the shortest uptime under three quarters of the
// longest.
func FitUsable(xs []float64) bool {
	if len(xs) < 3 {
		return false
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return hi > 0 && lo < 0.75*hi
}

// FitLine is an ordinary least-squares fit y = a + b x, with R².
func FitLine(xs, ys []float64) (slope, intercept, r2 float64) {
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

// Median returns the median of v (the mean of the middle two when v has an
// even length), 0 when v is empty; v is not reordered.
func Median(v []float64) float64 {
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
