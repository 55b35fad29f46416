package analysis

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
)

func readSnapshot(t *testing.T, file string) *snapshot.Snapshot {
	t.Helper()
	f, err := os.Open(filepath.Join("../pool/snapshot/testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	snaps, err := snapshot.Parse(f, file)
	if err != nil {
		t.Fatal(err)
	}
	return snaps[len(snaps)-1]
}

func checkNamed(r *Result, name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// A snapshot gives the leading tags and their drivers, but no dump: the
// verdict never rises above medium, and the checks say why.
func TestFromSnapshot(t *testing.T) {
	tests := []struct {
		file       string
		tag        string
		pool       PoolType
		share      float64 // of the whole pool the source states
		max        uint64
		pressure   CheckStatus
		partial    bool
		warnSubstr string
	}{
		// poolblame's own output for the 2003 sample: !vm lines give the
		// maximum, so the pressure is known (85% of 128 MiB).
		{"poolused-poolblame-isil-verbose.txt", "ISil", NonPaged, 100 * 36678632.0 / float64(111329<<10), 131072 << 10, Passed, true, "tracked by tag"},
		// GFlags Example 9: a poolmon screen, the header's Pool P as the
		// paged total; no maximum anywhere.
		{"poolmon-gflags-example9.txt", "CM", Paged, 100 * 1377312.0 / float64(2180<<10), 0, NotRun, true, "no Nonp rows"},
	}
	for _, tt := range tests {
		s := readSnapshot(t, tt.file)
		r, err := Analyze(context.Background(), FromSnapshot(s), Options{DriverDirs: []string{"../testdata/drivers-2003"}})
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if r.Pool == nil || r.Machine.Snapshot == "" {
			t.Fatalf("%s: pool %v, machine %+v", tt.file, r.PoolErr, r.Machine)
		}
		rows := r.Leading(tt.pool)
		if len(rows) == 0 || rows[0].Tag != pooltag.MustTag(tt.tag) {
			t.Fatalf("%s: leading %s tags %v, want %s first", tt.file, tt.pool, rows, tt.tag)
		}
		if d := rows[0].Share - tt.share; d > 0.01 || d < -0.01 {
			t.Errorf("%s: %s share %.2f%%, want %.2f%% of the pool the source states", tt.file, tt.tag, rows[0].Share, tt.share)
		}
		if got := r.Pool.Pressure(tt.pool).Max; tt.pool == NonPaged && got != tt.max {
			t.Errorf("%s: maximum %d, want %d", tt.file, got, tt.max)
		}
		if c, _ := checkNamed(r, CheckPoolPressure); c.Status != tt.pressure {
			t.Errorf("%s: pool pressure check %v (%s), want %v", tt.file, c.Status, c.Detail, tt.pressure)
		}
		if c, ok := checkNamed(r, CheckMoments); !ok || c.Status == Passed || c.Limit != Medium {
			t.Errorf("%s: %q check %+v, want one that limits to medium", tt.file, CheckMoments, c)
		}
		if c, _ := checkNamed(r, CheckLoaded); c.Status == Failed {
			t.Errorf("%s: a snapshot has no module list; the loaded check must not fail: %+v", tt.file, c)
		}
		if r.Verdict.Confidence > Medium {
			t.Errorf("%s: confidence %v from one snapshot, want at most medium (reasons %q)", tt.file, r.Verdict.Confidence, r.Verdict.Reasons)
		}
		if !strings.Contains(strings.Join(r.Warnings, "|"), tt.warnSubstr) {
			t.Errorf("%s: warnings %q should carry the snapshot's notes (%q)", tt.file, r.Warnings, tt.warnSubstr)
		}
		if r.Pool.Partial != tt.partial {
			t.Errorf("%s: partial %v, want %v", tt.file, r.Pool.Partial, tt.partial)
		}
	}
}

// The culprit of the 2003 case from poolblame's own poolused output and
// the drivers folder: isil.sys, by call-site evidence, medium at most.
func TestFromSnapshotCulprit(t *testing.T) {
	s := readSnapshot(t, "poolused-poolblame-isil-verbose.txt")
	r, err := Analyze(context.Background(), FromSnapshot(s), Options{DriverDirs: []string{"../testdata/drivers-2003"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Verdict.Culprits) == 0 || r.Verdict.Culprits[0].Driver != "isil.sys" {
		t.Fatalf("culprits %+v, want isil.sys", r.Verdict.Culprits)
	}
	if r.Verdict.Confidence != Medium {
		t.Errorf("confidence %v, want medium (reasons %q)", r.Verdict.Confidence, r.Verdict.Reasons)
	}
	own := r.NonPaged[0].Owner()
	if own == nil || own.Identity.Version == "" || own.Signature.State == 0 && own.Signature.Signer == "" {
		t.Errorf("owner %+v: want version and signature from the drivers folder", own)
	}
	// Removing the !vm lines removes the maximum: the confidence cannot rise.
	s.VM = snapshot.VM{}
	r2, err := Analyze(context.Background(), FromSnapshot(s), Options{DriverDirs: []string{"../testdata/drivers-2003"}})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Verdict.Confidence > r.Verdict.Confidence || r2.Pool.NonPaged.Max != 0 {
		t.Errorf("without !vm: confidence %v (was %v), max %d", r2.Verdict.Confidence, r.Verdict.Confidence, r2.Pool.NonPaged.Max)
	}
}

func TestFromSnapshotNoTags(t *testing.T) {
	s := readSnapshot(t, "vm-1-doc.txt")
	r, err := Analyze(context.Background(), FromSnapshot(s), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Pool != nil || r.PoolErr == nil || !strings.Contains(r.PoolErr.Error(), "lists no tags") || r.Verdict.Confidence != NoConfidence {
		t.Errorf("!vm alone: pool %v, err %v, confidence %v", r.Pool, r.PoolErr, r.Verdict.Confidence)
	}
}
