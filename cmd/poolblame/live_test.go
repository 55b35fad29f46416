package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/live"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
)

// fakeKernel serves built counters: ISil grows by 1,000 allocations of
// 453 bytes per sample, PcNw stays flat; a sample every ten minutes.
func fakeKernel(samples int) (liveSource, *int) {
	n := 0
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	src := liveSource{
		query: func() ([]live.TagCounters, error) {
			if n >= samples {
				return nil, errors.New("no more samples")
			}
			n++
			isil := uint32(80939 + 1000*n)
			return []live.TagCounters{
				{Tag: pooltag.MustTag("ISil"), NonPagedAllocs: isil + 1327427, NonPagedFrees: 1327427, NonPagedUsed: uint64(isil) * 453},
				{Tag: pooltag.MustTag("PcNw"), NonPagedAllocs: 300000, NonPagedFrees: 96540, NonPagedUsed: 12203296},
			}, nil
		},
		wait: func(context.Context, time.Duration) bool { return true },
		host: "SRV1",
	}
	src.now = func() time.Time { return t0.Add(time.Duration(n-1) * 10 * time.Minute) }
	return src, &n
}

func TestLive(t *testing.T) {
	t.Setenv(cacheHomeVar, t.TempDir())
	logPath := filepath.Join(t.TempDir(), "live.log")
	src, _ := fakeKernel(3)
	var out, errb strings.Builder
	st := runLiveFrom(src, []string{"-n", "3", "--log", logPath, "--drivers", "../../testdata/drivers-2003"}, &out, &errb)
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errb.String())
	}
	got := out.String()
	for _, w := range []string{
		"sample 3, 0h 20m 00s since the first", // the third table
		" ISil Nonp     1411366 (   1000)    1327427 (      0)      83939     38024367 ( 453000)       453      2.6 MiB\n",
		"GROWING TAGS over 0h 20m 00s (3 samples)", "ISil Nonp       2.6 MiB/h  36.3 MiB now, 83,939 outstanding",
		"poolblame batch " + logPath,
		"ISil (0x6c695349): 1 driver", "signed by Intersil Corporation",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "\033[") {
		t.Error("escapes written to a file")
	}
	if strings.Contains(got[strings.Index(got, "GROWING"):], "PcNw Nonp") {
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
	if u, _ := snaps[2].Usage(pooltag.MustTag("ISil")); u.NonPagedBytes != 83939*453 {
		t.Errorf("last logged ISil: %+v", u)
	}
}

func TestLiveArgs(t *testing.T) {
	tests := []struct {
		args   []string
		status int
		out    string
		stderr string
	}{
		{[]string{"-n", "1", "--drivers", "../../testdata/drivers-2003"}, exitOK, "one sample: no growth measured", ""},
		{[]string{"-n", "2", "--sort", "size"}, exitError, "", `--sort "size"`},
		{[]string{"-n", "2", "-i", "0s"}, exitError, "", "--interval must be positive"},
		{[]string{"-n", "2", "extra"}, exitError, "", "usage: poolblame live"},
		{[]string{"-n", "5", "--report-top", "0"}, exitOK, "sample 3", "sampling stopped: no more samples"},
	}
	for _, tt := range tests {
		src, _ := fakeKernel(3)
		var out, errb strings.Builder
		st := runLiveFrom(src, tt.args, &out, &errb)
		if st != tt.status || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.stderr) {
			t.Errorf("%v: status %d, stdout %q, stderr %q", tt.args, st, out.String(), errb.String())
		}
	}
	// Where the counters cannot be read (outside Windows, or a Windows
	// that does not provide them, as Wine) the command says so in one line;
	// outside Windows the line says it is Windows only.
	if _, err := live.Query(); err != nil {
		_, errs, st := runCmd(t, "live", "-n", "1")
		if st != exitError || strings.Count(errs, "\n") != 1 ||
			runtime.GOOS != "windows" && !strings.Contains(errs, "Windows only") {
			t.Errorf("live where counters cannot be read: status %d, stderr %q", st, errs)
		}
	}
}
