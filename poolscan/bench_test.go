package poolscan_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/poolscan"
)

// benchDump writes a sparse dump of 1 GiB of stored pages with one pool
// page in 64, the rest zero pages (file holes).
func benchDump(b *testing.B, build uint32) string {
	b.Helper()
	pages := uint64(1 << 18)
	bld := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, StoredPages: pages, MemoryPages: 2 * pages, Seed: 1})
	blocks := make([]dumptest.PoolBlock, 40)
	for i := range blocks {
		blocks[i] = dumptest.PoolBlock{Tag: "Leak", Size: 0x60}
	}
	for range pages / 64 {
		va := bld.Alloc(dumptest.PageSize, dumptest.PageSize)
		if build >= 17763 {
			bld.SegmentHeapPage(va, dumptest.SegmentLFH, 0x40, blocks)
		} else {
			bld.ClassicPoolPage(va, blocks)
		}
	}
	path := filepath.Join(b.TempDir(), "bench.dmp")
	if err := bld.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkScan reports the scan's throughput and, as ratio-to-read, the
// time of reading the same file straight through (as cat does) over the
// scan's time, both measured here.
func BenchmarkScan(b *testing.B) {
	for _, c := range []struct {
		name  string
		build uint32
	}{{"segment-heap", 19041}, {"classic", 7601}} {
		b.Run(c.name, func(b *testing.B) {
			path := benchDump(b, c.build)
			fi, _ := os.Stat(path)
			readAll := func() {
				fh, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, 128<<10)
				// Both wrapped, so the copy goes through buf (io.Discard would
				// read in 8 KiB pieces), as cat reads 128 KiB at a time.
				io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{fh}, buf)
				fh.Close()
			}
			readAll()
			m, _ := poolscan.NewMatcher("Leak")
			b.SetBytes(fi.Size())
			b.ResetTimer()
			var scanNs, catNs int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				t0 := nowNs()
				readAll()
				catNs += nowNs() - t0
				b.StartTimer()
				t1 := nowNs()
				f, err := dumpfile.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := poolscan.Scan(context.Background(), f, poolscan.Options{Tags: m}); err != nil {
					b.Fatal(err)
				}
				f.Close()
				scanNs += nowNs() - t1
			}
			b.ReportMetric(float64(catNs)/float64(scanNs), "ratio-to-read")
		})
	}
}

func nowNs() int64 { return time.Now().UnixNano() }
