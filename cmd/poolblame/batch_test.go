package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/batch"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// writeLeakDumps writes three dumps of one machine, a day apart in one
// boot, in which tag Grow gains 64 MiB a day and Same stays at 256 MiB;
// the last one gzipped.
func writeLeakDumps(t *testing.T, dir string) {
	t.Helper()
	boot := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		up := time.Duration(24*(i+1)) * time.Hour
		cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 2, Type: dumpfile.TypeBitmapKernel,
			SystemTime: boot.Add(up), Uptime: up, BugCheck: 0x161, Seed: int64(i + 1)}
		b := dumptest.New(cfg)
		grow := uint64(i+1) * 64 << 20
		tags := []pooltest.TagSpec{
			pooltest.Leak("Grow", false, grow/1024, 1024, 5000, 2),
			pooltest.Leak("Same", false, 256<<20/4096, 4096, 5000, 2),
		}
		if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: tags, NonPagedMax: 4 << 30}); err != nil {
			t.Fatal(err)
		}
		data, err := b.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, "live-"+string(rune('a'+i))+".dmp")
		if i < 2 {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.Create(name + ".gz")
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func TestBatchCommand(t *testing.T) {
	dumps := t.TempDir()
	writeLeakDumps(t, dumps)
	out := filepath.Join(t.TempDir(), "out")

	stdout, stderr, st := runCmd(t, "batch", dumps, "-o", out, "-j", "2", "--format", "json,csv", "--temp", t.TempDir())
	if st != exitOK {
		t.Fatalf("status %d, want %d; stderr:\n%s", st, exitOK, stderr)
	}
	if !strings.Contains(stdout, "3 dumps: 3 analysed, 0 skipped") {
		t.Errorf("stdout lacks the counts:\n%s", stdout)
	}
	if !regexp.MustCompile(`(?m)^g1 .*: Grow nonpaged grows 64\.0 MiB/day$`).MatchString(stdout) {
		t.Errorf("stdout does not name the growing tag:\n%s", stdout)
	}
	if strings.Contains(stdout, "Same") {
		t.Errorf("the steady tag is named as growing:\n%s", stdout)
	}
	// Not a terminal: one plain line per dump on stderr.
	if n := strings.Count(stderr, "poolblame: ["); n != 3 {
		t.Errorf("%d progress lines, want 3:\n%s", n, stderr)
	}
	for _, name := range []string{"summary.txt", "summary.jsonl", "summary.html", "index.json"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, ext := range []string{"json", "csv"} {
		m, _ := filepath.Glob(filepath.Join(out, "live-*."+ext))
		if len(m) != 3 {
			t.Errorf("%d .%s reports, want 3: %v", len(m), ext, m)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out, "live-*.html")); len(m) != 0 {
		t.Errorf("html reports written though --format json,csv: %v", m)
	}
	f, err := os.Open(filepath.Join(out, "summary.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines++
	}
	f.Close()
	if lines != 3 {
		t.Errorf("summary.jsonl has %d lines, want 3", lines)
	}

	// Again: everything is in index.json.
	stdout, _, st = runCmd(t, "batch", dumps, "-o", out, "--format", "json,csv")
	if st != exitOK || !strings.Contains(stdout, "3 dumps: 0 analysed, 3 skipped") {
		t.Errorf("re-run: status %d, stdout:\n%s", st, stdout)
	}

	// A corrupt dump among them: listed, and the status says so.
	if err := os.WriteFile(filepath.Join(dumps, "cut.dmp"), []byte("PAGEDU64 and nothing more"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, st = runCmd(t, "batch", dumps, "-o", out, "--format", "json,csv")
	// The failed dump is counted as failed, not analysed: the counts add up.
	if st != exitSomeFailed || !strings.Contains(stdout, "4 dumps: 0 analysed, 3 skipped (already in index.json), 1 failed") {
		t.Errorf("with a corrupt dump: status %d, want %d; stdout:\n%s", st, exitSomeFailed, stdout)
	}
	if !strings.Contains(stderr, "cut.dmp: failed") {
		t.Errorf("stderr does not report the corrupt dump:\n%s", stderr)
	}
}

func TestBatchExitStatus(t *testing.T) {
	tmp := t.TempDir()
	brokenSnap := filepath.Join(tmp, "broken-poolmon.txt")
	if err := os.WriteFile(brokenSnap, []byte(" Tag  Type  Allocs  Frees  Diff  Bytes  Per Alloc\n AfdB Nonp  1 0 1 64 64\n junk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goodSnap := filepath.Join(tmp, "ex9.txt")
	ex9, err := os.ReadFile("../../pool/snapshot/testdata/poolmon-gflags-example9.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goodSnap, ex9, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"no paths", []string{"batch"}, exitError, "usage: poolblame batch"},
		{"missing path", []string{"batch", filepath.Join(tmp, "nothing-here")}, exitError, notExist(t)},
		{"glob matching nothing", []string{"batch", filepath.Join(tmp, "*.dmp")}, exitError, "no file matches"},
		{"bad group-by", []string{"batch", "--group-by", "rack", sample2003}, exitError, "want auto, folder or none"},
		{"bad format", []string{"batch", "--format", "pdf", sample2003}, exitError, "unknown report format"},
		{"bad drivers", []string{"batch", "--drivers", filepath.Join(tmp, "none"), sample2003}, exitError, "drivers folder"},
		{"no pool data anywhere", []string{"batch", "-o", filepath.Join(tmp, "o1"), triageX64}, exitNoPool, "no dump or snapshot held pool data"},
		{"a good dump", []string{"batch", "-o", filepath.Join(tmp, "o2"), "--format", "md", sample2003}, exitOK, "analysed"},
		{"an unreadable snapshot", []string{"batch", "-o", filepath.Join(tmp, "o3"), goodSnap, brokenSnap}, exitSomeFailed, ""},
		{"a snapshot with its time", []string{"batch", "-o", filepath.Join(tmp, "o4"), "--time", "ex9.txt=2005-09-02 18:59", goodSnap}, exitOK, ""},
		{"--time without a file", []string{"batch", "--time", "2005-09-02", goodSnap}, exitError, "want FILE=TIME"},
		{"--time not a time", []string{"batch", "--time", "ex9.txt=yesterday", goodSnap}, exitError, `time "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.args[len(tt.args)-1] == triageX64 {
				needTriage(t)
			}
			_, stderr, st := runCmd(t, tt.args...)
			if st != tt.status || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("status %d, want %d; stderr %q, want it to hold %q", st, tt.status, stderr, tt.stderr)
			}
		})
	}
}

func TestShowProgress(t *testing.T) {
	tests := []struct {
		p    batch.Progress
		bar  bool
		want string
	}{
		{batch.Progress{Done: 2, Total: 4, Item: "a.dmp", State: "analysed"}, false, "poolblame: [2/4] a.dmp: analysed\n"},
		{batch.Progress{Done: 1, Total: 4, Item: "b.dmp", State: "failed", Err: errors.New("b.dmp: bad")}, false, "poolblame: [1/4] b.dmp: failed: b.dmp: bad\n"},
		{batch.Progress{Done: 2, Total: 4, Item: "a.dmp", State: "analysed"}, true, "\r\033[K[###############...............] 2/4 a.dmp (analysed)"},
		{batch.Progress{Done: 4, Total: 4, Item: strings.Repeat("x", 50) + ".dmp", State: "skipped"}, true,
			"\r\033[K[##############################] 4/4 ..." + strings.Repeat("x", 33) + ".dmp (skipped)"},
	}
	for _, tt := range tests {
		var b strings.Builder
		var line *statusLine
		if tt.bar {
			line = &statusLine{w: &b, vt: true}
		}
		showProgress(&b, tt.p, line)
		if b.String() != tt.want {
			t.Errorf("showProgress(%+v, %v) = %q, want %q", tt.p, tt.bar, b.String(), tt.want)
		}
	}
}
