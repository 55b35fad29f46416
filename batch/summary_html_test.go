package batch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/report"
)

// hostileSummary is a summary with a hostile name in every field the
// page shows: file names, tags, drivers, notes, errors.
func hostileSummary(h string) *Summary {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pts := func(n int) []Point {
		var out []Point
		for i := 0; i < n; i++ {
			out = append(out, Point{Present: true, Time: t0.Add(time.Duration(i) * time.Hour), Bytes: uint64(1+i) << 20, Boot: 1, UptimeSeconds: float64(i * 3600)})
		}
		return out
	}
	tr := &Trend{Tag: h, Pool: "nonpaged", Flagged: true, Rank: 1, Drivers: []string{h + ".sys"}, Reason: h, Points: pts(3)}
	d := &DumpRecord{Path: "/d/" + h + ".dmp", Member: h, Folder: "/d", Status: StatusPartial, Missing: []string{h}, Group: "M1",
		Boot: 1, SystemTime: t0, UptimeSeconds: 3600, TopTag: h, Culprit: h + ".sys", BugCheckName: h,
		NonPaged: &PoolUse{Used: 1 << 20, Max: 2 << 20, Percent: 50},
		Reports:  map[string]string{"text": h + ".txt", "html": "javascript:alert(1)"}}
	bad := &DumpRecord{Path: "/d/" + h + "-2.dmp", Folder: "/d", Status: StatusError, Error: h}
	se := &Series{ID: "S1", Name: h, Trends: []*Trend{{Tag: h, Pool: "paged", Drivers: []string{h}, Reason: h, Points: pts(3)}}, Notes: []string{h}}
	for i := 0; i < 3; i++ {
		se.Snapshots = append(se.Snapshots, &SnapshotInfo{File: h + ".txt", Format: h, TimeSource: h, Time: t0.Add(time.Duration(i) * time.Hour), Tags: 3})
	}
	cl := &CounterLog{ID: "L1", File: h + ".csv", Machine: h, Start: t0, End: t0.Add(2 * time.Hour), Samples: 3, Notes: []string{h},
		Counters: []*CounterTrend{{Counter: h, Bytes: true, Samples: 3, First: 1, Last: 3, Flagged: true, Reason: h,
			Points: []CounterPoint{{t0, 1}, {t0.Add(time.Hour), 2}, {t0.Add(2 * time.Hour), 3}}}}}
	return &Summary{
		Generated: t0, OutDir: "/out",
		Dumps:     []*DumpRecord{d, bad},
		Groups:    []*Group{{ID: "M1", Name: h, Dumps: []*DumpRecord{d}, Boots: 1, Trends: []*Trend{tr}, Notes: []string{h}}},
		Snapshots: []*Series{se}, CounterLogs: []*CounterLog{cl},
		FailedSnapshots: []FailedInput{{File: h, Error: h}},
		Refusals: []*RefusalLog{{File: h + ".log", Total: 5, Hours: []snapshot.HourCount{{Hour: t0, Count: 5}}},
			{File: h + "-2.log", Err: h}},
		Counts: Counts{Dumps: 2, Analysed: 1, Failed: 1, Snapshots: 3, CounterLogs: 1, SnapshotsFailed: 1},
		Notes:  []string{h},
	}
}

// TestSummaryHTMLEscapes: names from the inputs (a tag named <script>, a
// file name with quotes) reach the page as text, never as markup; the
// page stays well formed, keeps every section and chart, and wears the
// report's style sheet.
func TestSummaryHTMLEscapes(t *testing.T) {
	for _, h := range []string{
		`<script>alert(1)</script>`,
		`"><b onmouseover=alert(1)>x</b>`,
		`'&amp;</title></svg><style>`,
	} {
		var b bytes.Buffer
		if err := writeHTML(&b, hostileSummary(h)); err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		page := b.String()
		if strings.Contains(page, h) {
			t.Errorf("%q appears unescaped", h)
		}
		low := strings.ToLower(page)
		if strings.Contains(low, "<script") || strings.Contains(low, "<b ") || strings.Contains(page, `href="javascript`) {
			t.Errorf("%q: markup from the input reached the page", h)
		}
		if n := strings.Count(page, "<style>"); n != 1 {
			t.Errorf("%q: %d <style> elements, want the page's one", h, n)
		}
		for _, want := range []string{"<h2>Dumps</h2>", "<h3>Not fully analysed</h3>", "<h2>Machines and trends</h2>",
			"<h2>Pool snapshots</h2>", "<h4>Performance Monitor log L1", "<h2>Snapshots not read</h2>",
			"<h2>HTTP.SYS connections refused</h2>", "<h2>Notes</h2>", `<tr class="error">`, `<tr class="flag">`} {
			if !strings.Contains(page, want) {
				t.Errorf("%q: the page lacks %q", h, want)
			}
		}
		style, err := report.StyleSheet()
		if err != nil || !strings.Contains(page, string(style)) {
			t.Errorf("%q: the page does not carry the report's style sheet (%v)", h, err)
		}
		p := filepath.Join(t.TempDir(), SummaryHTML)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// The group, the series, the log's bytes and the refusals: four charts.
		checkHTML(t, p, 4)
	}
}
