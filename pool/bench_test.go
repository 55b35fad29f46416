package pool_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// writeSparse writes a 4-CPU Windows 10 dump with a 2049-entry tracker
// table, padded to stored pages with zero pages (file holes).
func writeSparse(b *testing.B, stored uint64) string {
	b.Helper()
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 4, Type: dumpfile.TypeBitmapFull,
		StoredPages: stored, MemoryPages: max(2*stored, 1<<18)}
	bld := dumptest.New(cfg)
	if _, err := pooltest.Plant(bld, cfg, pooltest.Scenario{TableSize: 2049, Tags: scenarioTags(4), NonPagedMax: 1 << 30}); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "sparse.dmp")
	if err := bld.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkPoolused compares a full pool analysis (open, KDBG, tracker
// table, per-CPU tables, limits) with opening the dump alone, on a small
// and on a 4 GiB dump: neither may grow with the dump's size.
func BenchmarkPoolused(b *testing.B) {
	for _, size := range []struct {
		name   string
		stored uint64
	}{{"4MiB", 1 << 10}, {"4GiB", 1 << 20}} {
		path := writeSparse(b, size.stored)
		b.Run("header/"+size.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f, err := dumpfile.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run("poolused/"+size.name, func(b *testing.B) { openAndAnalyze(b, path, 4) })
	}
}

// BenchmarkUnlistedTables compares finding the per-CPU tables through
// ExPoolTagTables with finding them by walking the kernel's mappings
// (the array hidden): the walk reads every mapped system page once, so
// it costs the mapped memory, not the file's size.
func BenchmarkUnlistedTables(b *testing.B) {
	for _, hide := range []bool{false, true} {
		cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 4, Type: dumpfile.TypeBitmapFull,
			StoredPages: 1 << 20, MemoryPages: 1 << 21}
		bld := dumptest.New(cfg)
		// 64 MiB of other mapped pool for the walk to look through.
		for va := uint64(0xFFFFE00000000000); va < 0xFFFFE00004000000; va += dumptest.PageSize {
			bld.Map(va, []byte{byte(va >> 12), 1, 2, 3})
		}
		if _, err := pooltest.Plant(bld, cfg, pooltest.Scenario{TableSize: 2049, Tags: scenarioTags(4), NonPagedMax: 1 << 30, HidePerCPU: hide}); err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "d.dmp")
		if err := bld.WriteFile(path); err != nil {
			b.Fatal(err)
		}
		name := "listed"
		if hide {
			name = "found-in-memory"
		}
		b.Run(name, func(b *testing.B) { openAndAnalyze(b, path, 4) })
	}
}

// BenchmarkSessionPool compares reading the session pools of a Windows 7
// x64 dump with 1 and 64 sessions (process list walk, one walk of each
// session's page tables over session space, one table each) with the
// system pools' analysis of the same dump: the session read costs in
// sessions, not in dump size.
func BenchmarkSessionPool(b *testing.B) {
	for _, n := range []int{1, 64} {
		cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 2, StoredPages: 1 << 12}
		bld := dumptest.New(cfg)
		if _, err := pooltest.Plant(bld, cfg, pooltest.Scenario{Tags: scenarioTags(2)}); err != nil {
			b.Fatal(err)
		}
		var ss []pooltest.SessionSpec
		for id := range n {
			ss = append(ss, pooltest.SessionSpec{ID: uint32(id), Processes: []string{"csrss.exe", "winlogon.exe", "explorer.exe"}, Tags: sessionTags(60)})
		}
		if _, err := pooltest.PlantSessions(bld, cfg, ss); err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "sessions.dmp")
		if err := bld.WriteFile(path); err != nil {
			b.Fatal(err)
		}
		f, err := dumpfile.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("poolused/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := pool.Analyze(f); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("session/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if sp := pool.ReadSessions(f); len(sp.Sessions) != n {
					b.Fatalf("%d sessions: %s", len(sp.Sessions), sp.Reason)
				}
			}
		})
		f.Close()
	}
}

// openAndAnalyze opens the dump at path and analyses its pools b.N times,
// failing b unless every analysis sums cpus per-CPU tables.
func openAndAnalyze(b *testing.B, path string, cpus int) {
	for i := 0; i < b.N; i++ {
		f, err := dumpfile.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pool.Analyze(f)
		if err != nil || len(r.PerCPU) != cpus {
			b.Fatalf("%v, %d per-CPU tables, want %d", err, len(r.PerCPU), cpus)
		}
		f.Close()
	}
}
