package dumpfile_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
)

// A bitmap FirstPage near 2^63 overflowed off+n in the read boundary
// (slice bounds panic). Now every page reads as past the end.
func TestFirstPageAtTheTop(t *testing.T) {
	raw := validBitmapDump(t)
	binary.LittleEndian.PutUint64(raw[0x2020:], 0x7FFFFFFFFFFFFFFF)
	f, err := dumpfile.NewFile("top.dmp", dumpfile.Bytes(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(f, "lie past the end of the file") {
		t.Errorf("warnings %q: want every stored page past the end", f.Warnings)
	}
	missing, err := f.Pages(func(uint64, []byte) bool { t.Fatal("a page was read"); return false })
	if err != nil || missing != f.PresentPages() {
		t.Errorf("Pages: %d missing, %v; want all %d", missing, err, f.PresentPages())
	}
	if _, err := f.ReadVirtual(f.PsLoadedModuleList, make([]byte, 8)); !errors.Is(err, dumpfile.ErrTruncated) {
		t.Errorf("read: %v, want ErrTruncated", err)
	}
}

// A huge bitmap size in a large sparse file: the index is bounded by what
// the file stores, not by the size the header claims.
func TestHugeBitmapInSparseFile(t *testing.T) {
	valid := validBitmapDump(t)
	tests := []struct {
		name          string
		apparent      int64
		bits, present uint64
		want          string
	}{
		{"1 TiB file, 2^40 bits", 1 << 40, 1 << 40, 215, "implausible"},
		{"64 GiB file, 2^38 bits", 64 << 30, 1 << 38, 215, "implausible"},
		{"4 GiB file, 2^34 bits claimed stored", 4 << 30, 1 << 34, 1 << 22, "bitmap counts disagree"},
		{"64 GiB file, sparse zero bitmap", 64 << 30, 1 << 30, 1 << 18, "bitmap counts disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := append([]byte(nil), valid[:0x3000]...)
			binary.LittleEndian.PutUint64(raw[0x2020:], uint64(tt.apparent-1<<20)) // FirstPage near the end
			binary.LittleEndian.PutUint64(raw[0x2028:], tt.present)
			binary.LittleEndian.PutUint64(raw[0x2030:], tt.bits)
			clear(raw[0x2038:])
			p := filepath.Join(t.TempDir(), "sparse.dmp")
			if err := os.WriteFile(p, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, tt.apparent); err != nil {
				t.Skipf("no sparse file of %d bytes here: %v", tt.apparent, err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			f, err := dumpfile.Open(p)
			if err == nil {
				f.Close()
				t.Fatal("opened")
			}
			runtime.ReadMemStats(&after)
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), p+": ") {
				t.Errorf("error %q: want the file and %q", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			// Only Linux skips the file's holes (SEEK_DATA); elsewhere every
			// byte of the 4 GiB file is read, and the time is not bounded.
			if d := time.Since(start); d > 10*time.Second && runtime.GOOS == "linux" {
				t.Errorf("took %v", d)
			}
		})
	}
}

// A dump truncated by another process while it is mapped: reads fail with
// an error naming the file instead of SIGBUS killing the process.
func TestFileShrinksWhileMapped(t *testing.T) {
	raw := validBitmapDump(t)
	p := filepath.Join(t.TempDir(), "shrinking.dmp")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = os.Truncate(p, 0x3000)
	if runtime.GOOS == "windows" {
		// Windows refuses to cut a file that has a mapped view.
		if err == nil {
			t.Fatal("the file was truncated while mapped")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, dumpfile.ErrFileShrank) || !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("%s: %v, want ErrFileShrank naming the file", what, err)
		}
	}
	_, err = f.ReadVirtual(f.PsLoadedModuleList, make([]byte, 8))
	check("ReadVirtual", err)
	sum := 0
	_, err = f.Pages(func(_ uint64, page []byte) bool { sum += int(page[100]); return true })
	check("Pages", err)
	t.Log(sum)
	_, err = f.KDBG()
	check("KDBG", err)
	if f.HasPage(0) {
		t.Error("HasPage true for a page cut off")
	}
	// Other panics are not swallowed.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a panic in a Pages callback was swallowed")
			}
		}()
		f.Pages(func(uint64, []byte) bool { panic("callback") })
	}()
}

// Only regular files are opened: a FIFO would block in open for ever,
// and /dev/zero is not an "empty file".
func TestOpenRefusesNonRegular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero on Windows")
	}
	fifo := filepath.Join(t.TempDir(), "pipe.dmp")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	tests := []struct{ path, want string }{
		{fifo, "is a named pipe (FIFO)"},
		{"/dev/zero", "is a character device"},
		{t.TempDir(), "is a directory"},
	}
	for _, tt := range tests {
		done := make(chan error, 1)
		go func() { _, err := dumpfile.Open(tt.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(err.Error(), tt.path+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want the path and %q", tt.path, err, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Open blocked", tt.path)
		}
	}
}
