package pool_test

import (
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// FuzzAnalyze overwrites bytes of a planted multi-CPU dump (tables,
// kernel data, page tables alike) and runs the whole analysis: it may
// fail or be partial, never panic, and never report more tags than the
// tables can hold.
func FuzzAnalyze(f *testing.F) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 4, Type: dumpfile.TypeBitmapFull}
	b := dumptest.New(cfg)
	_, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: scenarioTags(4), NonPagedMax: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	// Seeds across the file: bitmap, page tables, kernel data, tables.
	fuzzOverwritten(f, b, 0x2038, "OvflOvfl\xff\xff\xff\xff\x01\x00\x00\x00", func(t *testing.T, df *dumpfile.File) {
		r, err := pool.Analyze(df)
		if err != nil {
			return
		}
		max := r.Global.Size
		if r.Expansion != nil {
			max += r.Expansion.Size
		}
		if len(r.Usages) > max {
			t.Fatalf("%d tags from tables of %d entries", len(r.Usages), max)
		}
	})
}

// FuzzReadSessions overwrites bytes of a dump with two sessions (process
// list, session structures, both page directories, tracker tables) and
// reads the session pools: never a panic, never more tags than a table
// holds, and a one-line reason whenever nothing is read.
func FuzzReadSessions(f *testing.F) {
	cfg := dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790, Seed: 11}
	b := dumptest.New(cfg)
	if _, err := pooltest.PlantSessions(b, cfg, []pooltest.SessionSpec{
		{ID: 0, Processes: []string{"csrss.exe", "winlogon.exe"}, Tags: sessionTags(30)},
		{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(3)},
	}); err != nil {
		f.Fatal(err)
	}
	fuzzOverwritten(f, b, 0x1000, "\x00\x10\x00\x89\xff\xff\xff\xff\x01\x00\x00\x00", func(t *testing.T, df *dumpfile.File) {
		sp := pool.ReadSessions(df)
		if !sp.Read && (sp.Reason == "" || strings.Contains(sp.Reason, "\n")) {
			t.Fatalf("not read, reason %q", sp.Reason)
		}
		for _, s := range sp.Sessions {
			if len(s.Usages) > s.TableSize {
				t.Fatalf("session %d: %d tags from a table of %d entries", s.ID, len(s.Usages), s.TableSize)
			}
		}
	})
}

// fuzzOverwritten fuzzes check on copies of the dump b describes with
// data written at off (wrapped to the file's size), for every copy that
// still opens as a dump. The seeds write seed at first and at five points
// spread across the file, the last near its end.
func fuzzOverwritten(f *testing.F, b *dumptest.Builder, first int, seed string, check func(t *testing.T, df *dumpfile.File)) {
	raw, err := b.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	for _, off := range []int{first, len(raw) / 8, len(raw) / 4, len(raw) / 2, len(raw) * 3 / 4, len(raw) - 0x100} {
		f.Add(uint32(off), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, off uint32, data []byte) {
		d := append([]byte(nil), raw...)
		copy(d[int(off)%len(d):], data)
		df, err := dumpfile.NewFile("fuzz.dmp", dumpfile.Bytes(d), int64(len(d)))
		if err != nil {
			return
		}
		check(t, df)
	})
}
