package dumptest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// BenchmarkWriteFile4GiB writes a bitmap dump padded to 4 GiB of stored
// pages; the padding must cost neither memory nor disk.
func BenchmarkWriteFile4GiB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.dmp")
	for b.Loop() {
		db := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, StoredPages: 1 << 20})
		db.Write(db.Alloc(16, 16), []byte("pool marker"))
		if err := db.WriteFile(path); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if fi.Size() < 4<<30 {
		b.Fatalf("file is %#x bytes, want over 4 GiB", fi.Size())
	}
}

// BenchmarkBytesSmall is the usual test dump: a kernel, a few modules,
// some pool memory.
func BenchmarkBytesSmall(b *testing.B) {
	for b.Loop() {
		db := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64})
		for _, n := range []string{"a.sys", "b.sys", "c.sys"} {
			db.AddModule(dumptest.Module{Name: n})
		}
		for range 100 {
			db.Alloc(0x100, 16)
		}
		if _, err := db.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
