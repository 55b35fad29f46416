package peimage_test

import (
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
)

// BenchmarkInDump reads a driver's headers from a dump's memory, as the
// module list does for every module, against the baseline of reading
// the header page alone (what any reader must do): compare the two
// ns/op of one run.
func BenchmarkInDump(b *testing.B) {
	db := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeBitmapFull, Build: 19041})
	img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag("Leak")}})
	if err != nil {
		b.Fatal(err)
	}
	base := db.AddModule(dumptest.Module{Name: "drv.sys", Image: img})
	f := openDump(b, db)
	b.Run("page", func(b *testing.B) {
		page := make([]byte, dumpfile.PageSize)
		for b.Loop() {
			if _, err := f.ReadVirtual(base, page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("headers", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.ImageHeaders(base); err != nil {
				b.Fatal(err)
			}
		}
	})
}
