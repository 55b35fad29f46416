package trend

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFitLine(t *testing.T) {
	tests := []struct {
		xs, ys          []float64
		slope, icpt, r2 float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 10, 0, 1},
		{[]float64{1, 2, 3}, []float64{5, 5, 5}, 0, 5, 0},
		{[]float64{1, 2, 3, 4}, []float64{3, 5, 4, 6}, 0.8, 2.5, 0.64},
		{[]float64{2, 2, 2}, []float64{1, 2, 3}, 0, 2, 0}, // no spread: no slope
	}
	for _, tt := range tests {
		s, i, r := FitLine(tt.xs, tt.ys)
		if math.Abs(s-tt.slope) > 1e-9 || math.Abs(i-tt.icpt) > 1e-9 || math.Abs(r-tt.r2) > 1e-9 {
			t.Errorf("FitLine(%v, %v) = %v, %v, %v; want %v, %v, %v", tt.xs, tt.ys, s, i, r, tt.slope, tt.icpt, tt.r2)
		}
	}
	for _, tt := range []struct {
		xs   []float64
		want bool
	}{{[]float64{1, 2, 3}, true}, {[]float64{1, 2}, false}, {[]float64{4, 4.5, 5}, false}, {[]float64{3, 3.5, 5}, true}} {
		if got := FitUsable(tt.xs); got != tt.want {
			t.Errorf("FitUsable(%v) = %v", tt.xs, got)
		}
	}
}

// sample is a dump of one boot at day d of uptime holding the given bytes
// per tag (nonpaged).
func sample(boot int, day float64, tags map[string]uint64) Sample {
	s := Sample{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(day * 24 * float64(time.Hour))),
		UptimeSeconds: day * 86400, Boot: boot}
	for tag, b := range tags {
		s.Tags = append(s.Tags, Usage{Tag: tag, Pool: "nonpaged", Bytes: b, Outstanding: int64(b / 100)})
	}
	return s
}

func TestFromDumps(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		samples []Sample
		flagged []string
		note    string
	}{
		{"none", nil, nil, "no trend"},
		{"one dump: averages only", []Sample{sample(1, 2, map[string]uint64{"Leak": 40 * mib})}, nil, "one dump with pool data"},
		{"within one boot: the grower is flagged, the big steady tag is not",
			[]Sample{
				sample(1, 1, map[string]uint64{"Leak": 10 * mib, "Flat": 200 * mib}),
				sample(1, 2, map[string]uint64{"Leak": 20 * mib, "Flat": 200 * mib}),
				sample(1, 3, map[string]uint64{"Leak": 30 * mib, "Flat": 200 * mib}),
			}, []string{"Leak"}, ""},
		{"across boots: bytes against uptime",
			[]Sample{
				sample(1, 1, map[string]uint64{"Leak": 5 * mib}),
				sample(2, 4, map[string]uint64{"Leak": 20 * mib}),
				sample(3, 8, map[string]uint64{"Leak": 40 * mib}),
			}, []string{"Leak"}, ""},
		{"below the floor", []Sample{
			sample(1, 1, map[string]uint64{"Slow": 100 << 10}),
			sample(1, 3, map[string]uint64{"Slow": 300 << 10}),
		}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trends, notes := FromDumps(tc.samples, Options{})
			var flagged []string
			for _, tr := range trends {
				if tr.Flagged {
					flagged = append(flagged, tr.Tag)
					if tr.Rank == 0 || tr.Growth <= 0 {
						t.Errorf("%s flagged with rank %d, growth %v", tr.Tag, tr.Rank, tr.Growth)
					}
				}
			}
			if strings.Join(flagged, ",") != strings.Join(tc.flagged, ",") {
				t.Errorf("flagged %q, want %q", flagged, tc.flagged)
			}
			if tc.note != "" && !strings.Contains(strings.Join(notes, "|"), tc.note) {
				t.Errorf("notes %q, want one with %q", notes, tc.note)
			}
		})
	}
}

func TestMedianAndRank(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3 = %v", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4 = %v", m)
	}
	if m := Median(nil); m != 0 {
		t.Errorf("median of none = %v", m)
	}
	var ts []*Trend
	for i := 0; i < MaxTrends+5; i++ {
		ts = append(ts, &Trend{Tag: "T", MedianRate: float64(i)})
	}
	slow, fast := ts[3], ts[7]
	slow.Flagged, slow.Growth = true, 1
	fast.Flagged, fast.Growth = true, 2
	r := Rank(ts)
	if len(r) != MaxTrends || r[0] != fast || r[1] != slow || r[0].Rank != 1 || r[1].Rank != 2 || r[2].MedianRate != float64(MaxTrends+4) {
		t.Errorf("rank: %d kept, first %+v", len(r), r[0])
	}
}
