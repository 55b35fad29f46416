package pe

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pooltag"
)

// benchFolder fills dir with n synthetic drivers and copies of the real
// ones, and returns the total size in bytes.
func benchFolder(b *testing.B, dir string, n, copies int) int64 {
	b.Helper()
	var total int64
	for _, f := range petest.Many(n, 1) {
		img, err := petest.Build(f.Driver)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), img, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(img))
	}
	real, _ := filepath.Glob(filepath.Join(realDrivers, "*.sys"))
	for i := 0; i < copies; i++ {
		for _, p := range real {
			img, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			name := filepath.Join(dir, "copy", string(rune('a'+i%26))+filepath.Base(p))
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(name+string(rune('0'+i/26)), img, 0o644); err != nil {
				b.Fatal(err)
			}
			total += int64(len(img))
		}
	}
	return total
}

// BenchmarkIndex indexes 400 synthetic drivers and 40 copies of each real
// one (560 files), keeping every tag-like value, as --list-tags needs.
func BenchmarkIndex(b *testing.B) {
	dir := b.TempDir()
	total := benchFolder(b, dir, 400, 40)
	b.SetBytes(total)
	b.ResetTimer()
	var drivers int
	for i := 0; i < b.N; i++ {
		cat, err := Index(context.Background(), []string{dir}, IndexOptions{})
		if err != nil {
			b.Fatal(err)
		}
		drivers = len(cat.Drivers)
	}
	b.ReportMetric(float64(drivers), "drivers")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// BenchmarkIndexTags is the same folder searched for two tags, as
// `poolblame tag` does.
func BenchmarkIndexTags(b *testing.B) {
	dir := b.TempDir()
	total := benchFolder(b, dir, 400, 40)
	b.SetBytes(total)
	tags := []pooltag.Tag{tagValue("PMEM")}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cat, err := Index(context.Background(), []string{dir}, IndexOptions{Tags: tags})
		if err != nil {
			b.Fatal(err)
		}
		if len(cat.Find(tags[0])) != 80 {
			b.Fatalf("PMEM in %d drivers, want 80", len(cat.Find(tags[0])))
		}
	}
}

// BenchmarkScan scans each real driver (and an ARM64 fixture) once per
// iteration: the decode path alone, with no file shared or cached.
func BenchmarkScan(b *testing.B) {
	real, _ := filepath.Glob(filepath.Join(realDrivers, "*.sys"))
	files := append(real, filepath.Join("testdata", "contoso_arm64.sys"))
	var imgs [][]byte
	var total int64
	for _, p := range files {
		img, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, img)
		total += int64(len(img))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, img := range imgs {
			if _, err := ScanBytes(files[j], img, FileLayout); err != nil {
				b.Fatal(err)
			}
		}
	}
}
