package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// typeperfCSV writes a log as "typeperf -f CSV -o FILE" does: a header
// record, then one record per sample, local time first, every field
// quoted, six decimals.
func typeperfCSV(machine string, counters []string, start time.Time, step time.Duration, value func(c, i int) float64, n int) []byte {
	var b strings.Builder
	b.WriteString(`"(PDH-CSV 4.0)"`)
	for _, c := range counters {
		fmt.Fprintf(&b, `,"\\%s\%s"`, machine, c)
	}
	b.WriteString("\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `"%s"`, start.Add(time.Duration(i)*step).Format("01/02/2006 15:04:05.000"))
		for c := range counters {
			fmt.Fprintf(&b, `,"%.6f"`, value(c, i))
		}
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

func TestCounterLogs(t *testing.T) {
	root := t.TempDir()
	web := filepath.Join(root, "WEB01")
	db := filepath.Join(root, "db")
	for _, d := range []string{web, db} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2005, 9, 1, 0, 0, 0, 0, time.UTC)
	counters := []string{`Memory\Pool Nonpaged Bytes`, `Memory\Pool Paged Bytes`, `Process(w3wp)\Handle Count`, `Process(lsass)\Private Bytes`}
	// Two days, every 30 minutes: nonpaged pool gains 12 MiB a day without
	// a dip; paged pool saws up and down; w3wp's handles climb by 10 a
	// sample; lsass stays flat.
	value := func(c, i int) float64 {
		switch c {
		case 0:
			return float64(100<<20) + float64(12<<20)*float64(i)/48
		case 1:
			return float64(40<<20) + float64(i%4)*float64(1<<20)
		case 2:
			return 800 + 10*float64(i)
		}
		return 50 << 20
	}
	write(t, filepath.Join(web, "pool.csv"), typeperfCSV("WEB01", counters, start, 30*time.Minute, value, 97))
	ex9, err := os.ReadFile("../pool/snapshot/testdata/poolmon-gflags-example9.txt")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(web, "poolmon.txt"), ex9)
	write(t, filepath.Join(db, "db.csv"), typeperfCSV("DB02", counters[:1], start, time.Hour, func(c, i int) float64 { return float64(1 << 30) }, 5))
	write(t, filepath.Join(db, "broken.csv"), []byte(`"(PDH-CSV 4.0)","\\DB02\Memory\Pool Nonpaged Bytes"`+"\n"+`"09/01/2005 00:00:00.000","many"`+"\n"))

	out := filepath.Join(root, "out")
	s, err := Run(context.Background(), Options{Paths: []string{web, db}, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.CounterLogs) != 2 || s.Counts.CounterLogs != 2 || s.Counts.SnapshotsFailed != 1 {
		t.Fatalf("%d logs, counts %+v; want 2 read and broken.csv failed", len(s.CounterLogs), s.Counts)
	}
	var w *CounterLog
	for _, l := range s.CounterLogs {
		if l.Machine == "WEB01" {
			w = l
		}
	}
	if w == nil || w.Samples != 97 || !w.Start.Equal(start) || !w.End.Equal(start.Add(48*time.Hour)) {
		t.Fatalf("WEB01 log %+v", w)
	}
	want := map[string]struct {
		flagged bool
		perDay  float64
	}{
		`Memory\Pool Nonpaged Bytes`:   {true, 12 << 20},
		`Memory\Pool Paged Bytes`:      {false, 0},
		`Process(w3wp)\Handle Count`:   {true, 480},
		`Process(lsass)\Private Bytes`: {false, 0},
	}
	for _, c := range w.Counters {
		wc, ok := want[c.Counter]
		if !ok {
			t.Errorf("unexpected counter %q", c.Counter)
			continue
		}
		if c.Flagged != wc.flagged || (wc.flagged && (c.PerDay < wc.perDay*0.999 || c.PerDay > wc.perDay*1.001)) {
			t.Errorf("%s: flagged %v, %.0f/day (%s); want %v, %.0f/day", c.Counter, c.Flagged, c.PerDay, c.Reason, wc.flagged, wc.perDay)
		}
		if len(c.Points) == 0 || len(c.Points) > maxCounterPoints {
			t.Errorf("%s: %d chart points", c.Counter, len(c.Points))
		}
	}
	if fl := w.Flagged(); len(fl) != 2 || w.Counters[0] != fl[0] {
		t.Errorf("flagged counters %v should come first", fl)
	}
	txt, _ := os.ReadFile(filepath.Join(out, SummaryText))
	for _, s := range []string{"PERFORMANCE MONITOR LOGS", `Memory\Pool Nonpaged Bytes: only grows: 100.0 MiB to 124.0 MiB`, "broken.csv:2: bad"} {
		if !strings.Contains(string(txt), s) {
			t.Errorf("summary.txt lacks %q:\n%s", s, txt)
		}
	}
	page, _ := os.ReadFile(filepath.Join(out, SummaryHTML))
	// WEB01's log is drawn in the section of the snapshots of its folder;
	// DB02's, with no snapshot or dump beside it, in a section of its own.
	html := string(page)
	series, logs := strings.Index(html, "<h2>Pool snapshots</h2>"), strings.Index(html, "<h2>Performance Monitor logs</h2>")
	webAt, dbAt := strings.Index(html, "pool.csv"), strings.Index(html, "db.csv")
	if series < 0 || logs < 0 || !(series < webAt && webAt < logs && logs < dbAt) {
		t.Errorf("WEB01's log should sit under the pool snapshots (%d < %d < %d), DB02's under its own heading (%d < %d)", series, webAt, logs, logs, dbAt)
	}
	checkHTML(t, filepath.Join(out, SummaryHTML), 3)
}
