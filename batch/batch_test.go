package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/report"
	"github.com/poolblame/poolblame/units"
)

// sample2003 is the shipped Server 2003 sample, used by tests on every system.
const sample2003 = "../testdata/win2003-x86-isil.dmp"

// runArchive runs a batch over an archive into out.
func runArchive(t *testing.T, ar archive, out string, mut func(*Options)) *Summary {
	t.Helper()
	tmp := out + ".tmp"
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Paths: []string{ar.dir}, OutDir: out, Workers: 2, TempDir: tmp,
		Now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	if mut != nil {
		mut(&o)
	}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Decompressed dumps are gone once the run is over.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary folder not emptied: %v", left)
	}
	return s
}

func groupOf(t *testing.T, s *Summary, build uint32, withPool bool) *Group {
	t.Helper()
	for _, g := range s.Groups {
		d := g.Dumps[0]
		if d.Build == build && (d.Status != StatusNoPool) == withPool {
			return g
		}
	}
	t.Fatalf("no group of build %d (pool data %v) among %d groups", build, withPool, len(s.Groups))
	return nil
}

func findTrend(g *Group, tag string) *Trend {
	for _, tr := range g.Trends {
		if tr.Tag == tag {
			return tr
		}
	}
	return nil
}

func TestArchive(t *testing.T) {
	root := t.TempDir()
	ar := writeArchive(t, filepath.Join(root, "archive"))
	out := filepath.Join(root, "out")
	s := runArchive(t, ar, out, nil)

	t.Run("counts", func(t *testing.T) {
		c := s.Counts
		// Failed dumps are not "analysed": the counts add up to the dumps.
		want := Counts{Dumps: ar.dumps, Analysed: ar.dumps - 1, Failed: 1, NoPool: 1, Ignored: 1}
		if c != want {
			t.Errorf("counts %+v, want %+v", c, want)
		}
	})

	t.Run("reports", func(t *testing.T) {
		n := 0
		for _, d := range s.Dumps {
			if d.Status == StatusError {
				if len(d.Reports) != 0 {
					t.Errorf("%s: failed dump has reports %v", d.Name(), d.Reports)
				}
				continue
			}
			if len(d.Reports) != len(DefaultFormats) {
				t.Errorf("%s: reports %v, want %d formats", d.Name(), d.Reports, len(DefaultFormats))
			}
			for f, name := range d.Reports {
				fi, err := os.Stat(filepath.Join(out, name))
				if err != nil || fi.Size() == 0 {
					t.Errorf("%s: %s report %s: %v", d.Name(), f, name, err)
				}
			}
			n++
		}
		if n != ar.reports || n < 20 {
			t.Errorf("%d dumps with reports, want %d (at least 20)", n, ar.reports)
		}
		// The JSON report of a compressed dump names the dump, not the
		// temporary file it was read from.
		for _, d := range s.Dumps {
			if d.Container != zstdFile {
				continue
			}
			var r report.Report
			data, err := os.ReadFile(filepath.Join(out, d.Reports["json"]))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
			if r.Dump.File != d.Path {
				t.Errorf("zst dump's report names %q, want %q", r.Dump.File, d.Path)
			}
		}
	})

	t.Run("summary lists failures", func(t *testing.T) {
		txt, err := os.ReadFile(filepath.Join(out, SummaryText))
		if err != nil {
			t.Fatal(err)
		}
		var corrupt, triage string
		for line := range strings.Lines(string(txt)) {
			if strings.Contains(line, ar.corrupt+": error: ") {
				corrupt = line
			}
			if strings.Contains(line, ar.triage+": no pool data") {
				triage = line
			}
		}
		if corrupt == "" || !strings.Contains(corrupt, "broken.dmp") {
			t.Errorf("summary.txt does not list %s with its error:\n%s", ar.corrupt, txt)
		}
		if triage == "" {
			t.Errorf("summary.txt does not list %s with \"no pool data\":\n%s", ar.triage, txt)
		}
	})

	t.Run("groups and boots", func(t *testing.T) {
		a, b := groupOf(t, s, 19041, true), groupOf(t, s, 22621, true)
		// The triage dump describes no memory: it joins A by its other
		// facts, a boot of its own.
		if len(a.Dumps) != 12 || a.Boots != 7 {
			t.Errorf("machine A: %d dumps in %d boots, want 12 in 7", len(a.Dumps), a.Boots)
		}
		if len(s.Groups) != 2 {
			t.Errorf("%d groups, want 2", len(s.Groups))
		}
		if len(b.Dumps) != 10 || b.Boots != 5 {
			t.Errorf("machine B: %d dumps in %d boots, want 10 in 5", len(b.Dumps), b.Boots)
		}
		for _, g := range []*Group{a, b} {
			for i := 1; i < len(g.Dumps); i++ {
				if g.Dumps[i].SystemTime.Before(g.Dumps[i-1].SystemTime) {
					t.Errorf("%s: dumps out of time order at %d", g.ID, i)
				}
			}
		}
	})

	t.Run("trend finds the leak, not the large flat tag", func(t *testing.T) {
		checkTrends(t, s)
	})

	t.Run("jsonl", func(t *testing.T) {
		f, err := os.Open(filepath.Join(out, SummaryJSONL))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		lines, errs := 0, 0
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("line %d: %v", lines+1, err)
			}
			if rec["schema"] != RecordSchema {
				t.Errorf("line %d: schema %v", lines+1, rec["schema"])
			}
			if rec["status"] == StatusError {
				errs++
				if rec["error"] == "" {
					t.Errorf("line %d: error status without error", lines+1)
				}
			}
			lines++
		}
		if lines != ar.dumps || errs != 1 {
			t.Errorf("%d lines, %d errors; want %d and 1", lines, errs, ar.dumps)
		}
	})

	t.Run("html", func(t *testing.T) {
		checkHTML(t, filepath.Join(out, SummaryHTML), 2)
	})

	t.Run("re-run skips all", func(t *testing.T) {
		again := runArchive(t, ar, out, nil)
		c := again.Counts
		if c.Analysed != 0 || c.Skipped != ar.dumps-1 || c.Failed != 1 || c.NoPool != 1 {
			t.Errorf("re-run counts %+v: want 0 analysed, %d skipped, 1 failed", c, ar.dumps-1)
		}
		// The trends rest on index.json alone now, and say the same.
		checkTrends(t, again)
	})

	t.Run("changed file analysed again", func(t *testing.T) {
		data, err := os.ReadFile(ar.plainDmp)
		if err != nil {
			t.Fatal(err)
		}
		// A different comment: the header, hence the key, changes.
		copy(data[0xFB0:], "changed")
		write(t, ar.plainDmp, data)
		again := runArchive(t, ar, out, nil)
		if c := again.Counts; c.Analysed != 1 || c.Skipped != ar.dumps-2 {
			t.Errorf("after a change: %+v, want 1 analysed, %d skipped", c, ar.dumps-2)
		}
	})

	t.Run("other settings analyse again", func(t *testing.T) {
		again := runArchive(t, ar, out, func(o *Options) { o.Top = 5 })
		if c := again.Counts; c.Analysed != ar.dumps-1 || c.Failed != 1 || c.Skipped != 0 {
			t.Errorf("top 5 instead of 10: %+v, want all %d readable ones analysed", c, ar.dumps-1)
		}
		if !strings.Contains(strings.Join(again.Notes, "\n"), "other settings") {
			t.Errorf("notes %q do not say why everything was analysed again", again.Notes)
		}
	})

	t.Run("new format renders again", func(t *testing.T) {
		again := runArchive(t, ar, out, func(o *Options) { o.Top = 5; o.Formats = []report.Format{report.JSON, report.CSV} })
		// Every readable dump lacks its CSV report; the corrupt one is
		// remembered as failed (taken from the index, counted as failed).
		if c := again.Counts; c.Analysed != ar.dumps-1 || c.Skipped != 0 || c.Failed != 1 {
			t.Errorf("new format: %+v, want %d analysed, 1 failed", c, ar.dumps-1)
		}
	})
}

// checkTrends asserts the archive's expected trends.
func checkTrends(t *testing.T, s *Summary) {
	t.Helper()
	a, b := groupOf(t, s, 19041, true), groupOf(t, s, 22621, true)
	fl := a.Flagged()
	if len(fl) == 0 || fl[0].Tag != "Leak" || fl[0].Rank != 1 {
		for _, tr := range a.Trends {
			t.Logf("A: %s %s flagged=%v growth=%s rate=%s top=%.2f: %s", tr.Tag, tr.Pool, tr.Flagged, units.PerDay(tr.Growth), units.PerDay(tr.MedianRate), tr.TopShare, tr.Reason)
		}
		t.Fatalf("machine A: flagged %v, want Leak first", tagsOf(fl))
	}
	if len(fl) != 1 {
		t.Errorf("machine A: flagged %v, want Leak alone", tagsOf(fl))
	}
	leak := fl[0]
	// Growth within a boot is measured: it must be the planted rate.
	if g := leak.Growth / float64(leakPerDy); g < 0.97 || g > 1.03 {
		t.Errorf("Leak grows %s, want about %s", units.PerDay(leak.Growth), units.PerDay(float64(leakPerDy)))
	}
	if len(leak.WithinBoot) != 5 || leak.FitPoints != 11 {
		t.Errorf("Leak: %d within-boot intervals, fit over %d dumps; want 5 and 11", len(leak.WithinBoot), leak.FitPoints)
	}
	if len(leak.Drivers) == 0 || leak.Drivers[0] != "leakflt.sys" {
		t.Errorf("Leak drivers %v, want leakflt.sys", leak.Drivers)
	}
	flat := findTrend(a, "Flat")
	if flat == nil || flat.Flagged {
		t.Fatalf("Flat: %+v, want listed and not flagged", flat)
	}
	// Flat is the largest tag and leads by rate since boot...
	if flat.TopShare != 1 || flat.MedianRate <= leak.MedianRate {
		t.Errorf("Flat: top share %.2f, median rate %s (Leak %s): the test no longer sets the trap", flat.TopShare, units.PerDay(flat.MedianRate), units.PerDay(leak.MedianRate))
	}
	// ...but does not grow.
	if !strings.Contains(flat.Reason, "steady") {
		t.Errorf("Flat reason %q, want it called steady", flat.Reason)
	}
	if fb := b.Flagged(); len(fb) != 0 {
		t.Errorf("machine B flags %v, want nothing", tagsOf(fb))
	}
}

func tagsOf(ts []*Trend) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Tag)
	}
	return out
}

// checkHTML asserts the page is self-contained and well formed, with at
// least the given number of charts.
func checkHTML(t *testing.T, path string, charts int) {
	t.Helper()
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"http://", "https://", "src=", "@import", "url("} {
		if bytes.Contains(page, []byte(ref)) {
			t.Errorf("summary.html holds %q: it must not load anything", ref)
		}
	}
	if n := bytes.Count(page, []byte("<svg ")); n < charts {
		t.Errorf("summary.html has %d charts, want at least %d", n, charts)
	}
	if !bytes.Contains(page, []byte("<polyline ")) {
		t.Error("summary.html draws no line")
	}
	// Written as well-formed markup, it parses as XML: every element
	// closed, every attribute quoted, every entity known.
	d := xml.NewDecoder(bytes.NewReader(page))
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("summary.html is not well formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Errorf("unclosed elements %v", stack)
	}
}

// TestCancelled: an interrupted run still writes the summary of what it
// did, names what it did not, and remembers nothing it did not finish.
func TestCancelled(t *testing.T) {
	dir := t.TempDir()
	m := &machine{name: "A", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 2}}
	for i := 0; i < 3; i++ {
		p := plannedDump{m: m, boot: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), uptime: time.Duration(i+1) * 24 * time.Hour}
		write(t, filepath.Join(dir, fmt.Sprintf("d%d.dmp", i)), buildDump(t, p, i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "out")
	s, err := Run(ctx, Options{Paths: []string{dir}, OutDir: out})
	if !errors.Is(err, context.Canceled) || s == nil {
		t.Fatalf("Run = %v, %v; want a summary and context.Canceled", s, err)
	}
	for _, d := range s.Dumps {
		if d.Status != StatusError || !strings.Contains(d.Error, "interrupted") {
			t.Errorf("%s: %s %q, want it not analysed", d.Name(), d.Status, d.Error)
		}
	}
	if _, err := os.Stat(filepath.Join(out, SummaryText)); err != nil {
		t.Errorf("no summary after an interrupted run: %v", err)
	}
	// The index marks the folder as the tool's; it holds nothing unfinished.
	if ix, note := loadIndex(out, settingsOf(Options{})); note != "" || len(ix.Entries) != 0 {
		t.Errorf("index.json remembers %d dumps though nothing was finished (%s)", len(ix.Entries), note)
	}
}
