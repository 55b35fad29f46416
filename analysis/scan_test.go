package analysis

import (
	"context"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

// Each agreement of the scan gives the two checks their statuses, and
// through their limits the confidence.
func TestScanChecks(t *testing.T) {
	for _, tc := range []struct {
		a              poolscan.Agreement
		contra, confrm CheckStatus
		conf           Confidence
	}{
		{poolscan.Consistent, Passed, Passed, High},
		{poolscan.Unconfirmed, Passed, Failed, Medium},
		{poolscan.Suspect, Failed, Failed, Low},
	} {
		tag := usage("ATag", 30, callSite("a.sys", OwnerThirdParty))
		r := &Result{Scan: &Scan{Checks: []poolscan.Check{{Tag: pooltag.MustTag("ATag"), Tracker: 100, Found: 3, Agreement: tc.a, Text: "x"}}}}
		g := &graded{res: r, tag: &tag, cand: &tag.Candidates[0]}
		ks := scanChecks(g)
		if len(ks) != 2 || ks[0].Status != tc.contra || ks[1].Status != tc.confrm {
			t.Errorf("%v: checks %+v", tc.a, ks)
		}
		if c, _ := confidence(g, ks); c != tc.conf {
			t.Errorf("%v: confidence %v, want %v", tc.a, c, tc.conf)
		}
	}
	if ks := scanChecks(&graded{res: &Result{}}); ks != nil {
		t.Errorf("checks without a scan: %+v", ks)
	}
}

// The 2003 sample holds the tracker but not the pool pages: the scan has
// nothing to check, says so as an unknown (not a failure), and the
// verdict keeps the confidence it has without the scan.
func TestScanSample(t *testing.T) {
	f, err := dumpfile.Open("../testdata/win2003-x86-isil.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var conf [2]Confidence
	for i, scan := range []bool{false, true} {
		r, err := Analyze(context.Background(), FromDump(f), Options{DriverDirs: []string{"../testdata/drivers-2003"}, ScanPool: scan})
		if err != nil {
			t.Fatal(err)
		}
		conf[i] = r.Verdict.Confidence
		if !scan {
			if r.Scan != nil {
				t.Errorf("scan without ScanPool: %+v", r.Scan)
			}
			continue
		}
		if r.Scan == nil || r.Scan.Err != "" || !strings.HasPrefix(r.Scan.NotRun, "the dump holds no pool pages") || len(r.Scan.Checks) != 0 {
			t.Fatalf("scan %+v", r.Scan)
		}
		n := 0
		for _, k := range r.Checks {
			if k.Name == CheckScanConfirms || k.Name == CheckScanNotContradicted {
				n++
				if k.Status != NotRun || k.Limits(Low) || !strings.Contains(k.Detail, "not run: the dump holds no pool pages") {
					t.Errorf("check %+v", k)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d scan checks", n)
		}
	}
	if conf[0] != High || conf[1] != High {
		t.Errorf("confidence without the scan %v, with it %v; want high both", conf[0], conf[1])
	}
}
