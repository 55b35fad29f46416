package batch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/report"
)

// One drivers catalog serves every worker: each dump's report names its
// culprit from the folder, marked loaded, and nothing races (go test -race).
func TestSharedDriverCatalog(t *testing.T) {
	out := t.TempDir()
	s, err := Run(context.Background(), Options{
		Paths:      []string{"../testdata/win2003-x86-isil.dmp", "../testdata/win11-x64-ctfl.dmp"},
		DriverDirs: []string{"../testdata/drivers-2003", "../testdata/drivers-win11"},
		OutDir:     out, Workers: 2, Formats: []report.Format{report.JSON},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"win2003-x86-isil.dmp": "isil.sys", "win11-x64-ctfl.dmp": "contosoflt.sys"}
	for _, d := range s.Dumps {
		b, err := os.ReadFile(filepath.Join(out, d.Reports["json"]))
		if err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		var r report.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		// The Windows 11 sample's 0x19 is pool corruption: its driver
		// is a suspect, not a culprit.
		named, got := r.Verdict.Culprits, d.Culprit
		if r.Dump.BugCheck == 0x19 {
			named, got = r.Verdict.Suspects, d.Suspect
		}
		if got != want[filepath.Base(d.Name())] {
			t.Errorf("%s: summary culprit %q, suspect %q", d.Name(), d.Culprit, d.Suspect)
		}
		if len(named) == 0 || named[0].Driver != want[filepath.Base(d.Name())] {
			t.Fatalf("%s: culprits %+v, suspects %+v", d.Name(), r.Verdict.Culprits, r.Verdict.Suspects)
		}
		c := r.LeadingNonPaged[0].Candidates
		if r.LeadingNonPaged[0].Tag == "smNp" {
			c = r.LeadingNonPaged[1].Candidates
		}
		if len(c) == 0 || c[0].Source != analysis.FromFolder || !c[0].Loaded || c[0].SHA256 == "" {
			t.Errorf("%s: first candidate %+v", d.Name(), c)
		}
	}
}

// The driver folders are indexed once per run: the dumps' reports and
// the snapshot tags' drivers read the same index.
func TestFoldersIndexedOnce(t *testing.T) {
	r := &runner{opts: Options{DriverDirs: []string{"../testdata/drivers-2003"}}}
	if _, err := r.driverCatalog(context.Background()); err != nil {
		t.Fatal(err)
	}
	series := []*Series{{Trends: []*Trend{{Tag: "ISil"}, {Tag: "Xyzw"}}}}
	if note := r.snapshotDrivers(context.Background(), series); note != "" {
		t.Fatal(note)
	}
	if r.indexed != 1 {
		t.Errorf("folders indexed %d times, want 1", r.indexed)
	}
	if d := series[0].Trends[0].Drivers; len(d) == 0 || d[0] != "isil.sys" {
		t.Errorf("ISil drivers %q, want isil.sys first", d)
	}
	if d := series[0].Trends[1].Drivers; len(d) != 0 {
		t.Errorf("Xyzw drivers %q, want none", d)
	}
}
