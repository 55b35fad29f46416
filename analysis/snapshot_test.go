package analysis

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/pool"
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
	// A snapshot has no module list: "not loaded" would be a claim it
	// cannot make, and there is no dump to take a second of.
	if !own.LoadedUnknown || own.Loaded {
		t.Errorf("owner loaded=%v unknown=%v: want unknown from a snapshot", own.Loaded, own.LoadedUnknown)
	}
	raise := r.Verdict.Raise
	if len(raise) == 0 || raise[len(raise)-1] != laterCaptureShowsGrowth {
		t.Errorf("raise %q: want the later-capture advice last", raise)
	}
	for _, s := range raise {
		if s == secondDumpShowsGrowth {
			t.Errorf("raise %q asks a snapshot for a second dump", raise)
		}
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

// With an earlier snapshot of the same machine (poolblame live) each
// tag's growth is measured between the two, not averaged since boot: it
// may be zero or negative, a tag the earlier one lacked grew from
// nothing, and the growth check looks at the blamed tag.
func TestFromSnapshotMeasuredGrowth(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	snap := func(at time.Duration, us ...pool.Usage) *snapshot.Snapshot {
		return &snapshot.Snapshot{Source: "live", Format: snapshot.Live, Time: t0.Add(at), Usages: us}
	}
	np := func(tag string, bytes uint64) pool.Usage {
		return pool.Usage{Tag: pooltag.MustTag(tag), NonPagedAllocs: bytes / 64, NonPagedBytes: bytes}
	}
	const day = 24 * time.Hour
	tests := []struct {
		name     string
		earlier  *snapshot.Snapshot
		later    *snapshot.Snapshot
		span     time.Duration
		growth   map[string]float64 // bytes per day
		pool     float64
		moments  CheckStatus
		warnPart string
	}{
		{"leading tag grows", snap(0, np("Leak", 60<<20), np("Flat", 20<<20), np("Drop", 10<<20)),
			snap(6*time.Hour, np("Leak", 66<<20), np("Flat", 20<<20), np("Drop", 9<<20), np("New", 1<<20)),
			6 * time.Hour, map[string]float64{"Leak": 24 << 20, "Flat": 0, "Drop": -4 << 20, "New": 4 << 20}, 24 << 20, Passed, ""},
		{"leading tag flat", snap(0, np("Big", 60<<20), np("Grow", 1<<20)),
			snap(day/2, np("Big", 60<<20), np("Grow", 2<<20)),
			day / 2, map[string]float64{"Big": 0, "Grow": 2 << 20}, 2 << 20, Failed, ""},
		{"earlier not earlier", snap(time.Hour, np("Leak", 60<<20)), snap(0, np("Leak", 66<<20)),
			0, map[string]float64{"Leak": 0}, 0, NotRun, "not dated before"},
	}
	for _, tt := range tests {
		tt.later.Earlier = tt.earlier
		r, err := Analyze(context.Background(), FromSnapshot(tt.later), Options{})
		if err != nil || r.Pool == nil {
			t.Fatalf("%s: %v %v", tt.name, err, r.PoolErr)
		}
		if r.Machine.GrowthSpan != tt.span {
			t.Errorf("%s: span %v, want %v", tt.name, r.Machine.GrowthSpan, tt.span)
		}
		for _, row := range r.NonPaged {
			if want, ok := tt.growth[row.Tag.Trimmed()]; !ok || row.GrowthPerDay != want {
				t.Errorf("%s: %s grows %.0f B/day, want %.0f", tt.name, row.Tag, row.GrowthPerDay, want)
			}
		}
		if got := r.Pool.NonPaged.GrowthPerDay; got != tt.pool {
			t.Errorf("%s: nonpaged pool grows %.0f B/day, want %.0f", tt.name, got, tt.pool)
		}
		if c, ok := checkNamed(r, CheckMoments); !ok || c.Status != tt.moments || c.Limit != Medium {
			t.Errorf("%s: %q check %+v, want %v", tt.name, CheckMoments, c, tt.moments)
		}
		if tt.warnPart != "" && !strings.Contains(strings.Join(r.Warnings, "|"), tt.warnPart) {
			t.Errorf("%s: warnings %q lack %q", tt.name, r.Warnings, tt.warnPart)
		}
	}
}
