package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/live"
	"github.com/poolblame/poolblame/live/livetest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
)

// fakeKernel serves built SYSTEM_POOLTAG buffers (pointers of ptrSize
// bytes), one sample every ten minutes: Lk01 grows by 1,000 allocations
// of 453 bytes per sample and holds most of nonpaged pool; Sm01 grows by
// ten of 64 bytes, too small to be among the leading tags; PcNw, twelve
// fillers of 1 MiB and the paged MmSt stay flat.
func fakeKernel(samples, ptrSize int) liveSource {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	n := 0
	sys := &livetest.System{PtrSize: ptrSize, Sample: func(i int) ([]livetest.Tag, error) {
		if i >= samples {
			return nil, errors.New("no more samples")
		}
		n = i
		lk := uint32(80939 + 1000*(i+1))
		sm := uint32(100 + 10*i)
		tags := []livetest.Tag{
			{Name: "Lk01", NonPagedAllocs: lk + 1327427, NonPagedFrees: 1327427, NonPagedUsed: uint64(lk) * 453},
			{Name: "PcNw", NonPagedAllocs: 300000, NonPagedFrees: 96540, NonPagedUsed: 12203296},
			{Name: "Sm01", NonPagedAllocs: sm + 5000, NonPagedFrees: 5000, NonPagedUsed: uint64(sm) * 64},
			{Name: "MmSt", PagedAllocs: 54321, PagedFrees: 52211, PagedUsed: 14403584},
		}
		for f := range 12 {
			tags = append(tags, livetest.Tag{Name: fmt.Sprintf("F%03d", f), NonPagedAllocs: 1024, NonPagedFrees: 512, NonPagedUsed: 1 << 20})
		}
		return tags, nil
	}}
	return liveSource{sys: sys, host: "SRV1",
		wait: func(context.Context, time.Duration) bool { return true },
		now:  func() time.Time { return t0.Add(time.Duration(n) * 10 * time.Minute) }}
}

// plantedDrivers is a drivers folder built with petest: leaky.sys
// allocates Lk01, small.sys Sm01.
func plantedDrivers(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, tag := range map[string]string{"leaky.sys": "Lk01", "small.sys": "Sm01"} {
		img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag(tag)}, TimeDateStamp: 0x60000000,
			Version: &petest.Version{CompanyName: "Fabrikam Inc.", FileDescription: "Fabrikam " + tag, ProductName: "Fabrikam",
				OriginalFilename: name, FileVersion: [4]uint16{1, 2, 3, 4}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// From the system call to the culprit report: three samples of built
// buffers, a drivers folder holding the growing tag, and the report names
// the planted driver with the growth measured between the samples.
func TestLiveReport(t *testing.T) {
	t.Setenv(cacheHomeVar, t.TempDir())
	drivers := plantedDrivers(t)
	for _, ptr := range []int{4, 8} {
		logPath := filepath.Join(t.TempDir(), "live.log")
		var out, errb strings.Builder
		st := runLiveFrom(fakeKernel(3, ptr), []string{"-n", "3", "--log", logPath, "--drivers", drivers}, &out, &errb)
		if st != exitOK {
			t.Fatalf("%d-bit: status %d: %s", ptr*8, st, errb.String())
		}
		got := out.String()
		for _, w := range []string{
			"sample 3, 0h 20m 00s since the first", // the third table
			" Lk01 Nonp     1411366 (   1000)    1327427 (      0)      83939     38024367 ( 453000)       453      2.6 MiB\n",
			"GROWING TAGS over 0h 20m 00s (3 samples)", "Lk01 Nonp       2.6 MiB/h  36.3 MiB now, 83,939 outstanding",
			"poolblame batch " + logPath,
			// Sm01 grows but is not among the leading tags: its driver is
			// named beside the list.
			"DRIVERS USING THE GROWING TAGS THE REPORT DOES NOT LIST", "Sm01 (0x31306d53): 1 driver", "small.sys",
			// The culprit report.
			"Dump       live sampling of SRV1, live snapshot (no dump)",
			"leaky.sys (Fabrikam Inc., 1.2.3.4, third party) owns tag Lk01", "growing about 2.6 MiB per hour over the 0h 20m 00s measured",
			"Culprit: leaky.sys (third party), tags Lk01",
			"grew 62.3 MiB/day (2.6 MiB/h) over the 0h 20m 00s measured",
			"Lk01       83,939     38,024,367   60.5%       453    62.2 MiB  leaky.sys (call-site x2)",
			"PcNw      203,460     12,203,296   19.4%        60         0 B  no driver found",
		} {
			// The report wraps its sentences.
			if !strings.Contains(got, w) && !strings.Contains(strings.Join(strings.Fields(got), " "), w) {
				t.Errorf("%d-bit: output lacks %q:\n%s", ptr*8, w, got)
			}
		}
		if strings.Contains(got, "\033[") {
			t.Error("escapes written to a file")
		}
		grow := got[strings.Index(got, "GROWING"):]
		if strings.Contains(grow[:strings.Index(grow, "\n\n")], "PcNw") {
			t.Error("a flat tag listed as growing")
		}
		// The log holds the three samples as poolmon /n snapshots.
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		snaps, err := snapshot.ParsePoolmonLog(strings.NewReader(string(b)), logPath)
		if err != nil || len(snaps) != 3 {
			t.Fatalf("log: %d snapshots, %v", len(snaps), err)
		}
		if u, _ := snaps[2].Usage(pooltag.MustTag("Lk01")); u.NonPagedBytes != 83939*453 {
			t.Errorf("last logged Lk01: %+v", u)
		}
	}
}

// The checks name what the growth says, and where no drivers are given the
// report says so. A checks line is looked for in the text report.
func TestLiveReportFormats(t *testing.T) {
	t.Setenv(cacheHomeVar, t.TempDir())
	drivers := plantedDrivers(t)

	// JSON on stdout is one document; the tables go to stderr.
	var out, errb strings.Builder
	if st := runLiveFrom(fakeKernel(2, 8), []string{"-n", "2", "--drivers", drivers, "--format", "json"}, &out, &errb); st != exitOK {
		t.Fatalf("json: status %d: %s", st, errb.String())
	}
	var doc struct {
		Dump struct {
			GrowthSeconds float64 `json:"growth_seconds"`
		} `json:"dump"`
		LeadingNonPaged []struct {
			Tag          string  `json:"tag"`
			GrowthPerDay float64 `json:"growth_per_day"`
		} `json:"leading_nonpaged"`
		Verdict struct {
			Confidence string `json:"confidence"`
			Culprits   []struct {
				Driver string `json:"driver"`
			} `json:"culprits"`
		} `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
	}
	if doc.Dump.GrowthSeconds != 600 || len(doc.Verdict.Culprits) != 1 || doc.Verdict.Culprits[0].Driver != "leaky.sys" ||
		doc.Verdict.Confidence != "medium" || len(doc.LeadingNonPaged) < 2 || doc.LeadingNonPaged[0].Tag != "Lk01" ||
		doc.LeadingNonPaged[0].GrowthPerDay != 453000*6*24 || doc.LeadingNonPaged[1].GrowthPerDay != 0 {
		t.Errorf("json report: %+v", doc)
	}
	if !strings.Contains(errb.String(), "GROWING TAGS") {
		t.Errorf("the tables are not on stderr: %q", errb.String())
	}

	// -o writes the report there, in the format of its extension.
	html := filepath.Join(t.TempDir(), "live.html")
	out.Reset()
	errb.Reset()
	if st := runLiveFrom(fakeKernel(2, 8), []string{"-n", "2", "--drivers", drivers, "-o", html}, &out, &errb); st != exitOK {
		t.Fatalf("-o: status %d: %s", st, errb.String())
	}
	b, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(b), "<html") || !strings.Contains(string(b), "leaky.sys") {
		t.Errorf("-o %s: %v, %d bytes", html, err, len(b))
	}
	if !strings.Contains(out.String(), "GROWING TAGS") || !strings.Contains(out.String(), "Report written to "+html) {
		t.Errorf("-o: stdout %q", out.String())
	}
	// An existing -o is refused before any sampling.
	out.Reset()
	errb.Reset()
	if st := runLiveFrom(fakeKernel(2, 8), []string{"-n", "2", "-o", html}, &out, &errb); st != exitError || out.Len() != 0 {
		t.Errorf("existing -o: status %d, stdout %q, stderr %q", st, out.String(), errb.String())
	}

	// One sample: a level, no growth measured, and the check says so.
	out.Reset()
	errb.Reset()
	if st := runLiveFrom(fakeKernel(1, 8), []string{"-n", "1", "--drivers", drivers}, &out, &errb); st != exitOK {
		t.Fatalf("one sample: status %d: %s", st, errb.String())
	}
	for _, w := range []string{"one sample: no growth measured", "Culprit: leaky.sys", "Growth/day", "?  leaky.sys"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("one sample: output lacks %q:\n%s", w, out.String())
		}
	}
}

// A live log is evidence for the other commands: batch reads it as a
// series of snapshots, and the report reads its last.
func TestLiveLogReadBack(t *testing.T) {
	t.Setenv(cacheHomeVar, t.TempDir())
	drivers := plantedDrivers(t)
	logPath := filepath.Join(t.TempDir(), "live.log")
	var out, errb strings.Builder
	if st := runLiveFrom(fakeKernel(3, 8), []string{"-n", "3", "--report-top", "0", "--log", logPath}, &out, &errb); st != exitOK {
		t.Fatalf("status %d: %s", st, errb.String())
	}
	stdout, stderr, st := runCmd(t, logPath, "--drivers", drivers)
	if st != exitOK || !strings.Contains(stdout, "Culprit: leaky.sys") || !strings.Contains(stderr, "holds 3 snapshots") {
		t.Errorf("report on the log: status %d, stderr %q\n%s", st, stderr, stdout)
	}
	dir := t.TempDir()
	stdout, stderr, st = runCmd(t, "batch", "-o", dir, logPath)
	if st != exitOK {
		t.Fatalf("batch of the log: status %d, stderr %q\n%s", st, stderr, stdout)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sum), "Lk01") || !strings.Contains(string(sum), "3 snapshots") {
		t.Errorf("batch summary of the log lacks the growing tag or the three snapshots:\n%s", sum)
	}
}

func TestLiveArgs(t *testing.T) {
	tests := []struct {
		args   []string
		status int
		out    string
		stderr string
	}{
		{[]string{"-n", "2", "--sort", "size"}, exitError, "", `--sort "size"`},
		{[]string{"-n", "2", "-i", "0s"}, exitError, "", "--interval must be positive"},
		{[]string{"-n", "2", "extra"}, exitError, "", "usage: poolblame live"},
		{[]string{"-n", "2", "--format", "pdf"}, exitError, "", "pdf"},
		{[]string{"-n", "2", "--drivers", "no/such/folder"}, exitError, "", "drivers folder"},
		{[]string{"-n", "2", "--log", "x.log", "-o", "x.log"}, exitError, "", "also the --log file"},
		{[]string{"-n", "5", "--report-top", "0"}, exitOK, "sample 3", "sampling stopped: no more samples"},
	}
	for _, tt := range tests {
		var out, errb strings.Builder
		st := runLiveFrom(fakeKernel(3, 8), tt.args, &out, &errb)
		if st != tt.status || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.stderr) {
			t.Errorf("%v: status %d, stdout %q, stderr %q", tt.args, st, out.String(), errb.String())
		}
	}
	// Where the counters cannot be read (outside Windows, or a Windows
	// that does not provide them, as Wine) the command says so in one line;
	// outside Windows the line says it is Windows only.
	if _, err := live.Query(live.Kernel{}); err != nil {
		_, errs, st := runCmd(t, "live", "-n", "1")
		if st != exitError || strings.Count(errs, "\n") != 1 ||
			runtime.GOOS != "windows" && !strings.Contains(errs, "Windows only") {
			t.Errorf("live where counters cannot be read: status %d, stderr %q", st, errs)
		}
	}
}
