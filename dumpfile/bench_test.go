package dumpfile_test

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// bigDump writes a sparse dump of stored pages (1 GiB) to a temporary
// file: lookups then run against a mapping of realistic size.
func bigDump(b *testing.B, typ dumpfile.DumpType) (*dumpfile.File, plant) {
	b.Helper()
	bld, p := buildPlanted(b, archCases[2], typ, func(c *dumptest.Config) {
		c.StoredPages = 1 << 18
		c.MemoryPages = 1 << 19
	})
	path := filepath.Join(b.TempDir(), "big.dmp")
	if err := bld.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	f, err := dumpfile.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f, p
}

func BenchmarkPhysicalLookup(b *testing.B) {
	for _, tc := range []struct {
		name string
		typ  dumpfile.DumpType
	}{{"bitmap", dumpfile.TypeBitmapFull}, {"runs", dumpfile.TypeFull}, {"rdmp", dumpfile.TypeRDMPFull}} {
		b.Run(tc.name, func(b *testing.B) {
			f, _ := bigDump(b, tc.typ)
			rng := rand.New(rand.NewSource(1))
			pfns := make([]uint64, 4096)
			for i := range pfns {
				pfns[i] = uint64(rng.Int63n(int64(f.DescribedPages())))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.HasPage(pfns[i&4095])
			}
		})
	}
}

func BenchmarkTranslate(b *testing.B) {
	f, p := bigDump(b, dumpfile.TypeBitmapFull)
	vas := []uint64{p.cross, p.large, p.trans, p.cross + 0x1000}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Translate(vas[i&3]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadVirtualPage(b *testing.B) {
	f, p := bigDump(b, dumpfile.TypeBitmapFull)
	buf := make([]byte, dumpfile.PageSize)
	b.SetBytes(dumpfile.PageSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ReadVirtual(p.cross&^0xFFF, buf); err != nil {
			b.Fatal(err)
		}
	}
}
