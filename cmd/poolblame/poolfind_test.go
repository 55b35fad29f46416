package main

import (
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// poolDump writes a Windows 7 x64 dump with two classic pool pages
// holding 'Leak', 'Lean' and 'Othr' blocks and one big 'Leak' allocation.
func poolDump(t *testing.T) string {
	t.Helper()
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, Seed: 4})
	for range 2 {
		b.ClassicPoolPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), []dumptest.PoolBlock{
			{Tag: "Leak", Size: 0x60, Data: []byte("secret text")}, {Tag: "Lean", Size: 0x40, Paged: true},
			{Tag: "Othr", Size: 0x40}, {Tag: "Leak", Size: 0x30, Free: true},
		})
	}
	big := b.BigPoolAlloc("Leak", 0x3000, false, []byte("big"))
	b.BigPageTable(64, []dumptest.BigPage{big})
	path := filepath.Join(t.TempDir(), "pool.dmp")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPoolfind(t *testing.T) {
	dump := poolDump(t)
	out, errs, st := runCmd(t, "poolfind", dump, "Lea*", "--contents")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	for _, w := range []string{"Leak 3 in use (2 nonpaged, 0 paged, 0 session, 1 big", "Lean 2 in use (0 nonpaged, 2 paged", "big page table at",
		"67% contain \"secret text\" (ASCII)", "Paged "} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "Othr") || strings.Count(out, " free ") != 0 {
		t.Errorf("other tags or free blocks listed:\n%s", out)
	}

	out, _, st = runCmd(t, "poolfind", dump, "Leak", "--json", "--free")
	var j struct {
		Blocks []struct {
			Address, Tag, Pool, Kind, State string
			Size                            uint64
			Free                            bool
		}
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || st != 0 {
		t.Fatalf("json: %v, status %d\n%s", err, st, out)
	}
	var free, big int
	for _, b := range j.Blocks {
		if b.Tag != "Leak" || b.State != "present" {
			t.Errorf("block %+v", b)
		}
		if b.Free {
			free++
		}
		if b.Kind == "big" && b.Size == 0x3000 {
			big++
		}
	}
	if len(j.Blocks) != 5 || free != 2 || big != 1 {
		t.Errorf("%d blocks, %d free, %d big: %s", len(j.Blocks), free, big, out)
	}

	out, _, st = runCmd(t, "poolfind", dump, "Lean", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || st != 0 || len(rows) != 3 || rows[1][1] != "Lean" || rows[1][3] != "Paged" || !strings.HasPrefix(rows[1][0], "0x") {
		t.Errorf("csv %v %v: %q", err, st, out)
	}
}

func TestPoolfindBadInput(t *testing.T) {
	dump := poolDump(t)
	for _, args := range [][]string{
		{"poolfind", dump},
		{"poolfind", dump, "TooLong"},
		{"poolfind", filepath.Join(t.TempDir(), "missing.dmp"), "Leak"},
	} {
		_, errs, st := runCmd(t, args...)
		if st != exitError || strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("%v: status %d, stderr %q", args, st, errs)
		}
	}
}
