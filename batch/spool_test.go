package batch

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// TestSpool: a compressed dump goes into memory when its recorded size
// fits the budget, into a temporary file when it does not, and into a
// file too, intact, when it turns out larger than recorded; the budget
// counts what was written and is whole again after cleanup.
func TestSpool(t *testing.T) {
	dump, err := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 2, MemoryPages: 0x4000}).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(dump)
	zw.Close()
	n := int64(len(dump))
	tests := []struct {
		name     string
		budget   int64
		recorded int64 // the size the container claims; -1 unknown
		inMemory bool
	}{
		{"fits", 2 * n, n, true},
		{"too big for the budget", n - 1, n, false},
		{"size unknown", 2 * n, -1, false},
		{"larger than recorded", 2 * n, n / 3, false},
		{"no memory budget", -1, n, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := &spool{dir: dir, disk: newDiskBudget(dir), mem: newMemBudget(tt.budget)}
			held := func() int64 { return sp.mem.inUse }
			in := &input{path: "x.dmp.gz", container: gzipFile, size: tt.recorded}
			src, err := decompressorFor(t, gz.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			f, cleanup, err := extract(context.Background(), in, src, sp)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := os.ReadDir(dir)
			if inMem := len(files) == 0; inMem != tt.inMemory {
				t.Errorf("in memory %v (%d temporary files), want %v", inMem, len(files), tt.inMemory)
			}
			if want := map[bool]int64{true: n}[tt.inMemory]; held() != want {
				t.Errorf("%d bytes of the budget in use, want %d", held(), want)
			}
			if f.Size() != n || f.PresentPages() == 0 {
				t.Errorf("%d bytes, %d pages present; want %d bytes", f.Size(), f.PresentPages(), n)
			}
			cleanup()
			if held() != 0 || sp.mem.nkept > max(tt.budget, 0) {
				t.Errorf("after cleanup %d in use, %d kept", held(), sp.mem.nkept)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("%d temporary files left", len(files))
			}
		})
	}
}

func decompressorFor(t *testing.T, b []byte) (io.Reader, error) {
	t.Helper()
	r, closeDec, err := decompressor(bytes.NewReader(b), gzipFile)
	if err == nil {
		t.Cleanup(closeDec)
	}
	return r, err
}
