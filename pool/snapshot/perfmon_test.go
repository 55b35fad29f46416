package snapshot

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// perfLog builds a log in PDH's published layout: the header record, then
// one record per sample, each field quoted, values with six decimals as
// typeperf prints them ("1146957824.000000"); a NaN value is written as
// the blank PDH leaves for a missing sample.
func perfLog(sep, zone string, paths []string, start time.Time, step time.Duration, values [][]float64) string {
	var b strings.Builder
	q := func(s string) string { return `"` + s + `"` }
	head := "(PDH-CSV 4.0)"
	if sep == "\t" {
		head = "(PDH-TSV 4.0)"
	}
	if zone != "" {
		head += " " + zone
	}
	fields := []string{q(head)}
	for _, p := range paths {
		fields = append(fields, q(p))
	}
	b.WriteString(strings.Join(fields, sep) + "\r\n")
	for i, row := range values {
		fields = []string{q(start.Add(time.Duration(i) * step).Format("01/02/2006 15:04:05.000"))}
		for _, v := range row {
			if math.IsNaN(v) {
				fields = append(fields, q(" "))
				continue
			}
			fields = append(fields, q(fmt.Sprintf("%.6f", v)))
		}
		b.WriteString(strings.Join(fields, sep) + "\r\n")
	}
	return b.String()
}

func TestPerfmonTypeperf(t *testing.T) {
	paths := []string{
		`\\WEB01\Memory\Pool Nonpaged Bytes`,
		`\\WEB01\Memory\Pool Paged Bytes`,
		`\\WEB01\Processor(_Total)\% Processor Time`,
		`\\WEB01\Process(svchost#2)\Handle Count`,
		`\\WEB01\Process(_Total)\Private Bytes`,
	}
	start := time.Date(2005, 9, 2, 16, 0, 0, 0, time.UTC)
	var rows [][]float64
	for i := 0; i < 25; i++ { // hourly for a day
		paged := 40e6 + float64(i%3)*1e6 // up and down
		handles := 1000 + 50*float64(i)
		if i == 7 {
			handles = math.NaN()
		}
		rows = append(rows, []float64{100e6 + 4e6*float64(i), paged, 12.5, handles, 9e8})
	}
	// typeperf -si 3600 ... > log.csv: a blank line first and its
	// console lines after the records.
	text := "\r\n" + perfLog(",", "", paths, start, time.Hour, rows) + "Exiting, please wait...\r\nThe command completed successfully.\r\n"
	if got := Detect([]byte(text)); got != PerfmonLog {
		t.Errorf("Detect = %v, want perfmon log", got)
	}
	if _, err := Parse(strings.NewReader(text), "log.csv"); err == nil || !strings.Contains(err.Error(), "ParsePerfmon") {
		t.Errorf("Parse: %v, want a pointer to ParsePerfmon", err)
	}
	log, err := ParsePerfmon(strings.NewReader(text), "log.csv")
	if err != nil {
		t.Fatal(err)
	}
	if log.TSV || log.ZoneKnown || len(log.Times) != 25 || len(log.Counters) != 3 || log.Skipped != 2 {
		t.Fatalf("tsv %v zone %v, %d times, %d counters, %d skipped; want csv, no zone, 25, 3, 2", log.TSV, log.ZoneKnown, len(log.Times), len(log.Counters), log.Skipped)
	}
	np := log.Counters[0]
	if np.Machine != "WEB01" || np.Object != "Memory" || np.Name != "Pool Nonpaged Bytes" || np.Instance != "" || !np.Bytes() {
		t.Errorf("counter 0 = %+v", np)
	}
	h := log.Counters[2]
	if h.Instance != "svchost#2" || h.Label() != `Process(svchost#2)\Handle Count` || h.Bytes() || !math.IsNaN(h.Values[7]) {
		t.Errorf("counter 2 = %+v (label %q)", h, h.Label())
	}
	tests := []struct {
		c         *Counter
		perDay    float64
		onlyGrows bool
		samples   int
	}{
		{np, 4e6 * 24, true, 25},
		{log.Counters[1], 0, false, 25}, // tolerance below
		{h, 50 * 24, true, 24},          // the blank sample is skipped, not a zero
	}
	for _, tt := range tests {
		tr := tt.c.Trend(log.Times)
		if math.Abs(tr.PerDay-tt.perDay) > 1e6 || tr.OnlyGrows != tt.onlyGrows || tr.Samples != tt.samples {
			t.Errorf("%s: %+v, want %.0f/day, only grows %v, %d samples", tt.c.Label(), tr, tt.perDay, tt.onlyGrows, tt.samples)
		}
	}
	tr := np.Trend(log.Times)
	if tr.First != 100e6 || tr.Last != 196e6 || !tr.FirstTime.Equal(start) || !tr.LastTime.Equal(start.Add(24*time.Hour)) {
		t.Errorf("Pool Nonpaged Bytes %+v", tr)
	}
	if !strings.Contains(strings.Join(log.Notes, "|"), "taken as UTC") {
		t.Errorf("notes %q should say the times are taken as UTC", log.Notes)
	}
}

func TestPerfmonRelogTSV(t *testing.T) {
	// relog -f tsv: the header names the zone and its bias (UTC = local + bias).
	paths := []string{`\\DB02\Process(sqlservr)\Pool Nonpaged Bytes`, `\\DB02\Process(sqlservr)\Private Bytes`}
	local := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	text := perfLog("\t", "(Pacific Standard Time)(480)", paths, local, 15*time.Minute, [][]float64{{1000, 5e8}, {1200, 4e8}, {1100, 6e8}})
	log, err := ParsePerfmon(strings.NewReader(text), "relog.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if !log.TSV || !log.ZoneKnown || log.Zone != "Pacific Standard Time" || !log.Times[0].Equal(local.Add(8*time.Hour)) {
		t.Errorf("tsv %v zone %q known %v first time %v; want TSV, Pacific, 17:00 UTC", log.TSV, log.Zone, log.ZoneKnown, log.Times[0])
	}
	if tr := log.Counters[0].Trend(log.Times); tr.OnlyGrows || tr.Max != 1200 {
		t.Errorf("a counter that falls back does not only grow: %+v", tr)
	}
}

func TestPerfmonErrors(t *testing.T) {
	head := `"(PDH-CSV 4.0)","\\H\Memory\Pool Nonpaged Bytes"` + "\n"
	tests := []struct{ name, text, want string }{
		{"not pdh", `"Time","Value"` + "\n", "x.csv:1: not a Performance Monitor log"},
		{"empty", "", `x.csv: no "(PDH-CSV 4.0)"`},
		{"bad value", head + `"09/02/2005 16:00:00.000","12x"` + "\n", `x.csv:2: bad \\H\Memory\Pool Nonpaged Bytes field "12x"`},
		{"bad time", head + `"yesterday","12"` + "\n", `x.csv:2: bad sample time field "yesterday"`},
		{"short record", head + `"09/02/2005 16:00:00.000"` + "\n", "x.csv:2: 1 fields, the header has 2"},
		{"bad path", `"(PDH-CSV 4.0)","Pool Nonpaged Bytes"` + "\n", `x.csv:1: bad counter path field`},
		{"bad bias", `"(PDH-CSV 4.0) (Mars)(99999)","\\H\Memory\Pool Paged Bytes"` + "\n", `x.csv:1: bad time zone bias field`},
	}
	for _, tt := range tests {
		_, err := ParsePerfmon(strings.NewReader(tt.text), "x.csv")
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestPerfmonCounterCut: past maxPerfCounters kept counters the rest are
// left out with a note, and the samples still line up with the counters
// kept; a log of a header alone says it has no samples.
func TestPerfmonCounterCut(t *testing.T) {
	const extra = 3
	var paths []string
	for i := range maxPerfCounters + extra {
		paths = append(paths, fmt.Sprintf(`\\H\Process(p%d)\Private Bytes`, i))
	}
	start := time.Date(2005, 9, 2, 16, 0, 0, 0, time.UTC)
	row := make([]float64, len(paths))
	for i := range row {
		row[i] = float64(i)
	}
	for _, tt := range []struct {
		name    string
		samples [][]float64
		notes   []string
	}{
		{"header only", nil, []string{"3 more counters were left out past the first 4096", "no samples"}},
		{"one sample", [][]float64{row}, []string{"3 more counters were left out past the first 4096"}},
	} {
		log, err := ParsePerfmon(strings.NewReader(perfLog(",", "", paths, start, time.Hour, tt.samples)), "big.csv")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(log.Counters) != maxPerfCounters || len(log.Times) != len(tt.samples) || len(log.Notes) != len(tt.notes)+1 {
			t.Fatalf("%s: %d counters, %d times, notes %q", tt.name, len(log.Counters), len(log.Times), log.Notes)
		}
		for _, n := range tt.notes {
			if !strings.Contains(strings.Join(log.Notes, "\n"), n) {
				t.Errorf("%s: notes %q lack %q", tt.name, log.Notes, n)
			}
		}
		if len(tt.samples) > 0 {
			last := log.Counters[maxPerfCounters-1]
			if last.Instance != fmt.Sprintf("p%d", maxPerfCounters-1) || len(last.Values) != 1 || last.Values[0] != maxPerfCounters-1 {
				t.Errorf("%s: last counter kept %s = %v", tt.name, last.Label(), last.Values)
			}
		}
	}
}
