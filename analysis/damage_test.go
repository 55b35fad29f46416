package analysis_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/damage"
	"github.com/poolblame/poolblame/pooltag"
)

// TestDamageLowersConfidence: each kind of damage to a generated sample
// (package pool/damage) is named by the check it trips, caps the
// confidence at what that check allows, and never leaves it above the
// good sample's. Kinds that lose nothing (the size word, on a table
// whose size can be inferred; the nonpaged maximum on a build that has
// none) change nothing.
func TestDamageLowersConfidence(t *testing.T) {
	// The Windows 11 sample's bug check (0x19) is pool corruption, which
	// alone allows low; damage is measured on it as a manual crash (0xE2).
	samples := map[string]struct {
		drivers  string
		good     analysis.Confidence
		bugCheck uint32 // 0: as generated
	}{
		"win2003-x86-isil": {"drivers-2003", analysis.High, 0},
		"win11-x64-ctfl":   {"drivers-win11", analysis.Medium, 0xE2},
	}
	tests := []struct {
		sample, kind string
		at           string // the tag whose entry is damaged; "": the largest nonpaged tag
		flag         string // a check that must not pass; "": none may change
		max          analysis.Confidence
		driver       string // the one driver named (culprit or suspect); "": none
	}{
		{"win2003-x86-isil", "cpus-zero", "", pool.CheckCPUCount, analysis.Medium, "isil.sys"},
		{"win2003-x86-isil", "cpus-huge", "", pool.CheckCPUCount, analysis.Medium, "isil.sys"},
		// The largest nonpaged tag, ISil, is the leak; isil.sys also owns
		// I100, which leads the tags left, against the pool's maximum.
		{"win2003-x86-isil", "percpu-page-zeroed", "", pool.CheckTablePages, analysis.Low, "isil.sys"},
		{"win2003-x86-isil", "tracker-page-zeroed", "", pool.CheckPerCPUAgree, analysis.Low, "isil.sys"},
		{"win2003-x86-isil", "max-pointer-unreadable", "", pool.CheckNonPagedMax, analysis.Medium, "isil.sys"},
		// The kernel is found through the module list's first entry.
		{"win2003-x86-isil", "kernbase-garbled", "", pool.CheckKernBase, analysis.Medium, "isil.sys"},
		{"win2003-x86-isil", "table-size-word-zeroed", "", "", analysis.High, "isil.sys"},
		// ISil's counters survive its overwritten key and still lead:
		// the leak may be the damaged entry.
		{"win2003-x86-isil", "tracker-key-overwritten", "", pool.CheckPerCPUAgree, analysis.NoConfidence, ""},
		{"win2003-x86-isil", "tracker-bytes-inflated", "", pool.CheckNonPagedBounds, analysis.Low, "isil.sys"},
		// CPU 1's table is found in memory and summed; which CPU it is
		// stays unknown.
		{"win2003-x86-isil", "percpu-slot-nulled", "", pool.CheckPerCPUTables, analysis.Medium, "isil.sys"},
		{"win2003-x86-isil", "bugcheck-pool-corruption", "", analysis.CheckBugCheck, analysis.Low, "isil.sys"},
		// A tag beside the leak damaged: the leak still leads.
		{"win2003-x86-isil", "percpu-page-zeroed", "SavE", pool.CheckTablePages, analysis.Low, "isil.sys"},
		{"win2003-x86-isil", "tracker-page-zeroed", "SavE", pool.CheckPerCPUAgree, analysis.Low, "isil.sys"},
		{"win2003-x86-isil", "tracker-key-overwritten", "SavE", pool.CheckPerCPUAgree, analysis.Low, "isil.sys"},
		{"win2003-x86-isil", "tracker-bytes-inflated", "SavE", pool.CheckNonPagedBounds, analysis.Low, "isil.sys"},
		{"win11-x64-ctfl", "bugcheck-pool-corruption", "", analysis.CheckBugCheck, analysis.Low, "contosoflt.sys"},
		{"win11-x64-ctfl", "cpus-zero", "", pool.CheckCPUCount, analysis.Medium, "contosoflt.sys"},
		{"win11-x64-ctfl", "cpus-huge", "", pool.CheckCPUCount, analysis.Medium, "contosoflt.sys"},
		// The largest nonpaged tag is smNp (rdyboost.sys, Microsoft's),
		// not the leak: CtFl leads the tags left.
		{"win11-x64-ctfl", "percpu-page-zeroed", "", pool.CheckTablePages, analysis.Low, "contosoflt.sys"},
		{"win11-x64-ctfl", "tracker-page-zeroed", "", pool.CheckPerCPUAgree, analysis.Low, "contosoflt.sys"},
		{"win11-x64-ctfl", "max-pointer-unreadable", "", "", analysis.Medium, "contosoflt.sys"},
		{"win11-x64-ctfl", "kernbase-garbled", "", pool.CheckKernBase, analysis.Medium, "contosoflt.sys"},
		{"win11-x64-ctfl", "table-size-word-zeroed", "", "", analysis.Medium, "contosoflt.sys"},
		// smNp's surviving counters lead: no driver.
		{"win11-x64-ctfl", "tracker-key-overwritten", "", pool.CheckPerCPUAgree, analysis.NoConfidence, ""},
		{"win11-x64-ctfl", "tracker-bytes-inflated", "", pool.CheckNonPagedBounds, analysis.Low, "contosoflt.sys"},
		{"win11-x64-ctfl", "percpu-slot-nulled", "", pool.CheckPerCPUTables, analysis.Medium, "contosoflt.sys"},
		// The leaking tag itself damaged: rdyboost.sys (Microsoft's) is
		// not blamed while CtFl could hold more, and no one else is.
		{"win11-x64-ctfl", "percpu-page-zeroed", "CtFl", pool.CheckTablePages, analysis.NoConfidence, ""},
		{"win11-x64-ctfl", "tracker-page-zeroed", "CtFl", pool.CheckPerCPUAgree, analysis.NoConfidence, ""},
		{"win11-x64-ctfl", "tracker-key-overwritten", "CtFl", pool.CheckPerCPUAgree, analysis.NoConfidence, ""},
		{"win11-x64-ctfl", "tracker-bytes-inflated", "CtFl", pool.CheckNonPagedBounds, analysis.NoConfidence, ""},
	}
	for _, tt := range tests {
		t.Run(tt.sample+"/"+tt.kind+"@"+tt.at, func(t *testing.T) {
			s := samples[tt.sample]
			name := filepath.Join("..", "testdata", tt.sample+".dmp")
			good, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.bugCheck != 0 {
				if good, err = damage.SetBugCheck(name, good, s.bugCheck); err != nil {
					t.Fatal(err)
				}
			}
			k, ok := damage.ByName(tt.kind)
			if tt.at != "" {
				k, ok = damage.At(tt.kind, pooltag.MustTag(tt.at))
			}
			if !ok {
				t.Fatalf("no damage kind %q", tt.kind)
			}
			d, err := damage.Apply(name, good, k)
			if err != nil {
				t.Fatal(err)
			}
			f, err := dumpfile.NewFile(name, dumpfile.Bytes(d), int64(len(d)))
			if err != nil {
				t.Fatal(err)
			}
			r, err := analysis.Analyze(context.Background(), analysis.FromDump(f),
				analysis.Options{DriverDirs: []string{filepath.Join("..", "testdata", s.drivers)}})
			if err != nil {
				t.Fatal(err)
			}
			c := r.Verdict.Confidence
			if c > tt.max || c > s.good {
				t.Errorf("confidence %v, want at most %v (good sample: %v); reasons %q", c, tt.max, s.good, r.Verdict.Reasons)
			}
			if tt.flag == "" && c != s.good {
				t.Errorf("damage that loses nothing moved the confidence from %v to %v: %q", s.good, c, r.Verdict.Reasons)
			}
			if tt.flag != "" {
				found := false
				for _, k := range r.Checks {
					if k.Name == tt.flag {
						found = k.Status != analysis.Passed
					}
				}
				if !found {
					t.Errorf("check %s passed or missing: %+v", tt.flag, r.Checks)
				}
			}
			var named []string
			for _, c := range append(r.Verdict.Culprits, r.Verdict.Suspects...) {
				named = append(named, c.Driver)
			}
			switch {
			case tt.driver == "" && len(named) > 0:
				t.Errorf("named %v, want no driver on data that contradicts itself", named)
			case tt.driver == "" && !hasFinding(r, analysis.DataContradicts) && !hasFinding(r, analysis.TagsExcluded):
				t.Errorf("no driver named, but the verdict does not say the data contradicts itself: %+v", r.Verdict.Findings)
			case tt.driver != "" && (len(named) != 1 || named[0] != tt.driver):
				t.Errorf("named %v, want %s", named, tt.driver)
			}
			// A driver named on sums that failed a check is named on the
			// tags left after the damaged ones, and says which those are.
			if tt.driver != "" && sumFlag[tt.flag] {
				if !hasFinding(r, analysis.TagsExcluded) || r.Verdict.Excluded == nil {
					t.Errorf("driver named on damaged sums without the tags left out: %+v", r.Verdict.Findings)
				}
				if c > analysis.Low && r.Verdict.Excluded.CouldHoldLeak {
					t.Errorf("confidence %v while the tags left out could hold the leak", c)
				}
			}
			if p := r.Pool; p != nil && p.HTTPSys != nil && p.HTTPSys.Below && (tt.driver == "" || sumFlag[tt.flag]) {
				t.Errorf("HTTP.SYS claim made on damaged sums")
			}
		})
	}
}

// sumFlag are the checks whose failure means the tag sums are wrong.
var sumFlag = map[string]bool{pool.CheckTablePages: true, pool.CheckPerCPUAgree: true, pool.CheckNonPagedBounds: true}

func hasFinding(r *analysis.Result, k analysis.FindingKind) bool {
	for _, f := range r.Verdict.Findings {
		if f.Kind == k {
			return true
		}
	}
	return false
}
