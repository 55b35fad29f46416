//go:build unix || windows

package dumpfile

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// The file is mapped on Unix and on Windows alike, read-only: a write
// through the mapping faults and the file keeps its bytes.
func TestMapFileReadOnly(t *testing.T) {
	want := bytes.Repeat([]byte("PAGEDU64"), 3*4096/8+5) // not a whole number of pages
	p := filepath.Join(t.TempDir(), "evidence.dmp")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	data, unmap, err := mapFile(fh, int64(len(want)))
	if err != nil || data == nil {
		t.Fatalf("mapFile: %v (mapped: %v)", err, data != nil)
	}
	if !bytes.Equal(data, want) {
		t.Fatal("the mapping does not hold the file's bytes")
	}
	func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if recover() == nil {
				t.Error("a write through the mapping did not fault")
			}
		}()
		data[len(data)-1] = 'X'
	}()
	if err := unmap(); err != nil {
		t.Fatalf("unmap: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
		t.Error("the file changed")
	}
	// An empty file has nothing to map.
	empty := filepath.Join(t.TempDir(), "empty.dmp")
	os.WriteFile(empty, nil, 0o644)
	fe, _ := os.Open(empty)
	defer fe.Close()
	if data, unmap, err := mapFile(fe, 0); data != nil || err != nil || unmap() != nil {
		t.Errorf("empty file: %d bytes, %v", len(data), err)
	}
}
