package analysis_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
)

func analyze(t *testing.T, dump string, o analysis.Options) *analysis.Result {
	t.Helper()
	f, err := dumpfile.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := analysis.Analyze(context.Background(), analysis.FromDump(f), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The sample dumps (scripts/mksamples) and what their descriptions say
// the verdict must be.
func TestAnalyzeSamples(t *testing.T) {
	tests := []struct {
		dump, drivers string
		culprit       string
		tags          []string
		conf          analysis.Confidence
		owner         analysis.Owner
		failed        []string // checks that must fail
	}{
		{"../testdata/win2003-x86-isil.dmp", "../testdata/drivers-2003", "isil.sys", []string{"ISil", "I100"},
			analysis.High, analysis.OwnerThirdParty, nil},
		// Its bug check is 0x19 BAD_POOL_HEADER: pool corruption, so the
		// owner of the leading tags is a suspect, not a culprit.
		{"../testdata/win11-x64-ctfl.dmp", "../testdata/drivers-win11", "contosoflt.sys", []string{"CtFl", "CtFn"},
			analysis.Low, analysis.OwnerThirdParty, []string{analysis.CheckPoolPressure, analysis.CheckBugCheck}},
	}
	for _, tc := range tests {
		t.Run(tc.dump, func(t *testing.T) {
			r := analyze(t, tc.dump, analysis.Options{DriverDirs: []string{tc.drivers}})
			if r.Pool == nil {
				t.Fatalf("no pool analysis: %v", r.PoolErr)
			}
			v := r.Verdict
			if v.Confidence != tc.conf {
				t.Errorf("confidence %v, want %v (reasons %q)", v.Confidence, tc.conf, v.Reasons)
			}
			named := v.Culprits
			if r.Machine.BugCheck == 0x19 {
				if len(v.Culprits) != 0 {
					t.Errorf("culprits %+v named on a pool corruption bug check", v.Culprits)
				}
				named = v.Suspects
			}
			if len(named) != 1 || named[0].Driver != tc.culprit || named[0].Owner != tc.owner {
				t.Fatalf("culprits %+v, suspects %+v, want %s (%v)", v.Culprits, v.Suspects, tc.culprit, tc.owner)
			}
			var tags []string
			for _, tg := range named[0].Tags {
				tags = append(tags, tg.String())
			}
			if len(tags) != len(tc.tags) || tags[0] != tc.tags[0] || tags[1] != tc.tags[1] {
				t.Errorf("culprit tags %q, want %q", tags, tc.tags)
			}
			var failed []string
			for _, k := range r.Checks {
				if k.Status == analysis.Failed {
					failed = append(failed, k.Name)
				}
			}
			if len(failed) != len(tc.failed) || (len(failed) > 0 && (failed[0] != tc.failed[0] || failed[len(failed)-1] != tc.failed[len(tc.failed)-1])) {
				t.Errorf("failed checks %q, want %q", failed, tc.failed)
			}
			own := r.NonPaged[0].Owner()
			if own == nil || own.Count() == 0 || own.Source != analysis.FromFolder || !own.Loaded {
				t.Errorf("leading tag's owner %+v: want a loaded folder file with evidence", own)
			}
			if r.Sources.FilesIndexed == 0 || r.Sources.DumpImagesScanned == 0 {
				t.Errorf("sources %+v: want files indexed and dump images scanned", r.Sources)
			}
		})
	}
}

// TestLeadingDoesNotChangeVerdict: gathering more or fewer rows (down to
// one) leaves the verdict as it is.
func TestLeadingDoesNotChangeVerdict(t *testing.T) {
	base := analyze(t, "../testdata/win11-x64-ctfl.dmp", analysis.Options{DriverDirs: []string{"../testdata/drivers-win11"}})
	for _, n := range []int{1, 3, 25} {
		r := analyze(t, "../testdata/win11-x64-ctfl.dmp", analysis.Options{Leading: n, DriverDirs: []string{"../testdata/drivers-win11"}})
		if r.Verdict.Confidence != base.Verdict.Confidence || len(r.Verdict.Findings) != len(base.Verdict.Findings) ||
			len(r.Verdict.Suspects) != len(base.Verdict.Suspects) || r.Verdict.Suspects[0].Bytes != base.Verdict.Suspects[0].Bytes {
			t.Errorf("Leading %d: verdict %+v, want %+v", n, r.Verdict, base.Verdict)
		}
	}
}

// TestNoDrivers: without folders the dump's own images still name the
// owner, the driver-folders check did not run, and it does not lower a
// call site's confidence.
func TestNoDrivers(t *testing.T) {
	r := analyze(t, "../testdata/win2003-x86-isil.dmp", analysis.Options{})
	own := r.NonPaged[0].Owner()
	if own == nil || own.Source != analysis.FromDumpImage || own.Signature.State != analysis.SignatureNotInMemory {
		t.Fatalf("owner %+v: want the dump image, signature not in memory", own)
	}
	for _, k := range r.Checks {
		if k.Name == analysis.CheckDriverFolders && k.Status != analysis.NotRun {
			t.Errorf("driver folders check %v, want not run", k.Status)
		}
	}
}

func TestNoDumpImages(t *testing.T) {
	r := analyze(t, "../testdata/win11-x64-ctfl.dmp", analysis.Options{NoDumpImages: true})
	if r.Sources.DumpImagesScanned != 0 || r.Sources.FilesIndexed != 0 {
		t.Errorf("NoDumpImages without folders: sources %+v", r.Sources)
	}
	if own := r.NonPaged[0].Owner(); own != nil {
		t.Errorf("no evidence searched, but owner %+v", own)
	}
}

// TestTriageNoPool: a triage dump gives a Result without pool, the reason
// kept as an error chain, and a verdict that names no one; the driver
// folders given are recorded as given but not searched.
func TestTriageNoPool(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeTriage})
	b.AddModule(dumptest.Module{Name: "a.sys"})
	f := pooltest.Open(t, b, "triage.dmp")
	r, err := analysis.Analyze(context.Background(), analysis.FromDump(f), analysis.Options{DriverDirs: []string{"../testdata/drivers-2003"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Sources; len(s.DriverFolders) != 1 || s.NotSearched == "" || s.FilesIndexed != 0 {
		t.Errorf("sources %+v: want the folder given, not searched, and why", s)
	}
	if r.Pool != nil || !errors.Is(r.PoolErr, pool.ErrNoPoolData) {
		t.Errorf("pool %v, error %v: want none, ErrNoPoolData", r.Pool, r.PoolErr)
	}
	if !r.Machine.Triage || r.Verdict.Confidence != analysis.NoConfidence || len(r.Verdict.Culprits) != 0 ||
		r.Verdict.Findings[0].Kind != analysis.NoPoolAnalysis {
		t.Errorf("triage verdict %+v", r.Verdict)
	}
}

// TestARM32FolderNote: an ARM32 driver in a folder makes the report say
// once that Thumb-2 call sites are not decoded.
func TestARM32FolderNote(t *testing.T) {
	dir := t.TempDir()
	img, err := petest.Build(petest.Driver{Machine: petest.ARMNT, AllocTags: []uint32{petest.Tag("ISil")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "arm32.sys"), img, 0o444); err != nil {
		t.Fatal(err)
	}
	r := analyze(t, "../testdata/win2003-x86-isil.dmp", analysis.Options{DriverDirs: []string{dir}, NoDumpImages: true})
	n := 0
	for _, w := range r.Warnings {
		if strings.Contains(w, pe.ThumbNote) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d warnings name the Thumb-2 limit, want 1: %q", n, r.Warnings)
	}
}
