package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// trackedDump writes a Windows 7 x64 dump whose tracker claims tracked
// outstanding 'Leak' blocks of 0x40 bytes and whose pool pages hold 100.
func trackedDump(t *testing.T, tracked uint64) string {
	t.Helper()
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 2, Seed: 31}
	b := dumptest.New(cfg)
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{pooltest.Leak("Leak", false, tracked, 0x40, 10, 2)}, NonPagedMax: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		blocks := make([]dumptest.PoolBlock, 50)
		for i := range blocks {
			blocks[i] = dumptest.PoolBlock{Tag: "Leak", Size: 0x40}
		}
		b.ClassicPoolPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), blocks)
	}
	path := filepath.Join(t.TempDir(), "tracked.dmp")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// The report scans the pool by default; --scan=false skips it. A dump
// whose pool agrees with the tracker says so; one whose tracker claims
// four times what the pool holds is called suspect, which the report
// without the scan cannot see; the 2003 sample, which holds no pool
// pages, says the scan did not run and keeps its high confidence; a pool
// snapshot is not scanned unless --scan is given by name.
func TestReportScansByDefault(t *testing.T) {
	snap := snapFixtures + "poolused-poolblame-isil-verbose.txt"
	tests := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"agrees", []string{trackedDump(t, 100)}, []string{"POOL SCAN", "tracker 100, found 100 in present pages: consistent"}, nil},
		{"agrees, --scan=false", []string{trackedDump(t, 100), "--scan=false"}, nil, []string{"POOL SCAN"}},
		{"damaged tracker", []string{trackedDump(t, 400), "--format", "json"}, []string{`"pool_scan"`, `"tracker": 400`, `"found": 100`, `"agreement": "suspect"`}, nil},
		{"damaged tracker, --scan=false", []string{trackedDump(t, 400), "--format", "json", "--scan=false"}, nil, []string{`"pool_scan"`, "suspect"}},
		{"no pool pages", []string{sample2003, "--drivers", "../../testdata/drivers-2003"},
			[]string{"POOL SCAN", "Not run: the dump holds no pool pages", "VERDICT  confidence: HIGH"}, []string{"pool scan confirms"}},
		{"no pool pages, --scan=false", []string{sample2003, "--drivers", "../../testdata/drivers-2003", "--scan=false"},
			[]string{"VERDICT  confidence: HIGH"}, []string{"POOL SCAN"}},
		{"snapshot", []string{snap, "--drivers", "../../testdata/drivers-2003"}, []string{"VERDICT  confidence: MEDIUM"}, []string{"POOL SCAN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, st := runCmd(t, tc.args...)
			if st != exitOK {
				t.Fatalf("status %d: %s", st, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}
