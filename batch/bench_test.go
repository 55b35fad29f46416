package batch

import (
	"context"
	"fmt"
	"github.com/poolblame/poolblame/internal/outfile"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/report"
)

const benchDumps = 16

// writeBenchDumps writes n dumps of one machine with a server-sized
// tracker table (2049 entries, 400 tags on 8 CPUs) and a few drivers
// to scan.
func writeBenchDumps(b *testing.B, dir string, n int) []string {
	b.Helper()
	var paths []string
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		up := time.Duration(24+i*7) * time.Hour
		cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 8, SystemTime: start.Add(time.Duration(i*72)*time.Hour + up),
			Uptime: up, BugCheck: 0x19, Seed: int64(1000 + i)}
		bld := dumptest.New(cfg)
		var tags []pooltest.TagSpec
		for k := 0; k < 400; k++ {
			tags = append(tags, pooltest.Leak(fmt.Sprintf("T%03d", k), k%3 == 0, uint64(100+k*37), uint64(64+k%64*16), uint64(5000+k), 8))
		}
		if _, err := pooltest.Plant(bld, cfg, pooltest.Scenario{TableSize: 2049, Tags: tags, NonPagedMax: 8 << 30}); err != nil {
			b.Fatal(err)
		}
		for d := 0; d < 6; d++ {
			img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag(fmt.Sprintf("T%03d", d*7))}, TimeDateStamp: uint32(0x60000000 + d)})
			if err != nil {
				b.Fatal(err)
			}
			bld.AddModule(dumptest.Module{Name: fmt.Sprintf("drv%d.sys", d), Image: img})
		}
		p := filepath.Join(dir, fmt.Sprintf("bench-%02d.dmp", i))
		if err := bld.WriteFile(p); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// BenchmarkBatch compares a batch run with one worker per core against
// report.Build run on each dump one after another, and against what N
// single runs of the report command do (Build, then the JSON report
// written to a file). Each reports ns/dump.
func BenchmarkBatch(b *testing.B) {
	dir := b.TempDir()
	paths := writeBenchDumps(b, dir, benchDumps)
	b.Run(fmt.Sprintf("batch-j%d", runtime.GOMAXPROCS(0)), func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			out := filepath.Join(b.TempDir(), fmt.Sprint(i))
			s, err := Run(context.Background(), Options{Paths: []string{dir}, OutDir: out, Formats: []report.Format{report.JSON}})
			if err != nil || s.Counts.Analysed != benchDumps {
				b.Fatalf("%v, %+v", err, s.Counts)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDumps), "ns/dump")
	})
	b.Run("sequential-runs", func(b *testing.B) {
		out := b.TempDir()
		for b.Loop() {
			for i, p := range paths {
				f, err := dumpfile.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				r, err := report.Build(context.Background(), f, report.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := writeReport(&outfile.Guard{}, filepath.Join(out, fmt.Sprint(i, ".json")), r, report.JSON); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDumps), "ns/dump")
	})
	b.Run("sequential-build", func(b *testing.B) {
		for b.Loop() {
			for _, p := range paths {
				f, err := dumpfile.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				r, err := report.Build(context.Background(), f, report.Options{})
				if err != nil || r.Pool == nil {
					b.Fatalf("%s: %v %s", p, err, r.PoolError)
				}
				f.Close()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDumps), "ns/dump")
	})
}
