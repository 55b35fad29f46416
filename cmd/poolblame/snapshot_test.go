package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const snapFixtures = "../../pool/snapshot/testdata/"

// The culprit report from a snapshot: no dump, the drivers folder only.
func TestReportFromSnapshot(t *testing.T) {
	tmp := t.TempDir()
	csv := filepath.Join(tmp, "pool.csv")
	if err := os.WriteFile(csv, []byte(`"(PDH-CSV 4.0)","\\H\Memory\Pool Nonpaged Bytes"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		stdout []string
		stderr string
	}{
		{"own poolused output", []string{snapFixtures + "poolused-poolblame-isil-verbose.txt", "--drivers", "../../testdata/drivers-2003"}, exitOK,
			[]string{"snapshot", "VERDICT  confidence: MEDIUM", "Culprit: isil.sys (third party)", "108.7 MiB of 128.0 MiB", "maximum from !vm (NonPagedPool Max)",
				"Snapshots of the same machine some hours apart"}, ""},
		{"poolmon screen with --time", []string{snapFixtures + "poolmon-gflags-example9.txt", "--time", "2005-09-02 18:59"}, exitOK,
			[]string{"snapshot", "Time       2005-09-02 18:59:00 UTC", "maximum unknown: not in the snapshot", "the Windows build is unknown"}, ""},
		{"json", []string{snapFixtures + "poolmon-learn-leak-heading.txt", "--format", "json"}, exitOK, []string{`"dump_type": "poolmon snapshot (no dump)"`}, ""},
		{"!vm alone", []string{snapFixtures + "vm-1-doc.txt"}, exitNoPool, nil, "lists no tags"},
		{"--time on a dump", []string{sample2003, "--time", "2005-09-02"}, exitError, nil, "--time is for pool snapshots"},
		{"bad --time", []string{snapFixtures + "poolmon-gflags-example9.txt", "--time", "noon"}, exitError, nil, `time "noon"`},
		{"perfmon log", []string{csv}, exitError, nil, "read it with poolblame batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, st := runCmd(t, tt.args...)
			if st != tt.status || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("status %d, want %d; stderr %q, want %q", st, tt.status, stderr, tt.stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}
