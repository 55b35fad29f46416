package batch

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/poolblame/poolblame/dumpfile"
)

// A .zst dump is decoded in one call into memory when the size its frame
// records and the compressed file fit the budget; otherwise, or when the
// frames do not match what the first one says, it is streamed as before
// (into memory or a temporary file), with the same result. The checks of
// the stream apply either way.
func TestZstdInMemory(t *testing.T) {
	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(dump))
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	one := enc.EncodeAll(dump, nil)
	half := len(dump) / 2
	two := enc.EncodeAll(dump[half:], enc.EncodeAll(dump[:half], nil))
	trailing := enc.EncodeAll(append(append([]byte{}, dump...), make([]byte, 1<<20)...), nil)
	notDump := enc.EncodeAll(make([]byte, 1<<20), nil)
	c := inMemoryZstd(n, int64(len(one))) // the buffer taken
	plain, err := dumpfile.Open(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	want := pagesDigest(t, plain)
	plain.Close()
	tests := []struct {
		name    string
		data    []byte
		budget  int64
		size    int64 // the size the first frame records, unless it lies
		inUse   int64 // budget held while the dump is open: dump and compressed file in one call, the dump streamed
		tmpFile bool
		wantErr string
	}{
		{"fits", one, 2 * n, -1, c, false, ""},
		{"fits only streamed", one, c - 1, -1, n, false, ""},
		{"too big for the budget", one, n - 1, -1, 0, true, ""},
		{"size field lies", one, 2 * n, n / 3, 0, true, ""},
		{"two frames", two, 4 * n, -1, 0, true, ""},
		{"bytes after the declared end", trailing, 8 * n, -1, inMemoryZstd(n+1<<20, int64(len(trailing))), false, ""},
		{"not a dump", notDump, 4 * n, -1, 0, false, "x.dmp.zst: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(t.TempDir(), "x.dmp.zst")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			in := &input{path: p, container: zstdFile, size: zstdSize(p)}
			if tt.size >= 0 {
				in.size = tt.size
			}
			sp := &spool{dir: dir, disk: newDiskBudget(dir), mem: newMemBudget(tt.budget)}
			f, cleanup, err := openDump(context.Background(), in, sp)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || sp.mem.inUse != 0 {
					t.Fatalf("err %v (want %q), %d bytes of the budget held", err, tt.wantErr, sp.mem.inUse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			files, _ := os.ReadDir(dir)
			if (len(files) > 0) != tt.tmpFile || sp.mem.inUse != tt.inUse {
				t.Errorf("%d temporary files, %d bytes of the budget held; want file %v, %d held", len(files), sp.mem.inUse, tt.tmpFile, tt.inUse)
			}
			if f.Size() != n || pagesDigest(t, f) != want {
				t.Errorf("%d bytes and pages %x, want %d bytes and the dump's pages %x", f.Size(), pagesDigest(t, f), n, want)
			}
			cleanup()
			if sp.mem.inUse != 0 {
				t.Errorf("after cleanup %d bytes held", sp.mem.inUse)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("%d temporary files left", len(files))
			}
		})
	}
}

// pagesDigest is a hash of every page the dump holds, with its number.
func pagesDigest(t *testing.T, f *dumpfile.File) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := f.ReadPages(func(pfn uint64, page []byte) bool {
		h.Write(binary.LittleEndian.AppendUint64(nil, pfn))
		h.Write(page)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
