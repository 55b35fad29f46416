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

// The 2003 sample holds the tracker but not the pool pages: the scan
// cannot confirm the tracker, says why, and the verdict drops to Medium.
func TestScanSample(t *testing.T) {
	f, err := dumpfile.Open("../testdata/win2003-x86-isil.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Analyze(context.Background(), FromDump(f), Options{DriverDirs: []string{"../testdata/drivers-2003"}, ScanPool: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Scan == nil || r.Scan.Err != "" || len(r.Scan.Checks) == 0 {
		t.Fatalf("scan %+v", r.Scan)
	}
	k, ok := r.Scan.Check(pooltag.MustTag("ISil"))
	if !ok || k.Agreement != poolscan.Unconfirmed || !strings.Contains(k.Text, "no pool page") {
		t.Errorf("ISil check %+v", k)
	}
	if r.Verdict.Confidence != Medium {
		t.Errorf("confidence %v (reasons %q)", r.Verdict.Confidence, r.Verdict.Reasons)
	}
	if len(r.Scan.Contents) == 0 {
		t.Errorf("no contents")
	}
}
