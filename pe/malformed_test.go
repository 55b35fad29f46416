package pe

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corrupt returns a copy of b with a little-endian value written at off.
func corrupt(b []byte, off int, v uint32, size int) []byte {
	c := append([]byte(nil), b...)
	if size == 2 {
		binary.LittleEndian.PutUint16(c[off:], uint16(v))
	} else {
		binary.LittleEndian.PutUint32(c[off:], v)
	}
	return c
}

func TestMalformed(t *testing.T) {
	good := fixture(t, "contoso_x64.sys")
	const nt = 0x80
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	copy(garbage, "MZ")
	tests := []struct {
		name    string
		data    []byte
		wantErr string // substring of the error; "" means a driver with warnings
		warning string // substring of a warning when wantErr is ""
	}{
		{"empty", nil, "shorter than a DOS header", ""},
		{"MZ only", []byte("MZ"), "shorter than a DOS header", ""},
		{"not MZ", append([]byte("ZM"), good[2:]...), "e_magic", ""},
		{"garbage with MZ", garbage, "e_lfanew", ""},
		{"e_lfanew past end", corrupt(good[:0x100], 0x3C, 0x4000, 4), "e_lfanew", ""},
		{"bad PE signature", corrupt(good, nt, 0x4E45, 4), "PE signature", ""},
		{"truncated in headers", good[:0x100], "NT headers", ""},
		{"truncated in sections", good[:0x500], "", "past the end"},
		{"bad optional magic", corrupt(good, nt+24, 0x999, 2), "NT headers", ""},
		{"huge section count", corrupt(good, nt+6, 0xFFFF, 2), "", "of 65535 section headers"},
		{"section past end", corrupt(good, nt+24+240+20, 0x7FFFFF00, 4), "section table", ""},
		{"second section past end", corrupt(good, nt+24+240+40+20, 0x7FFFFF00, 4), "", "first 1 of 4 section headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ScanBytes(tt.name, tt.data, FileLayout)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), tt.name+":") {
					t.Fatalf("error %v, want one naming %q and mentioning %q", err, tt.name, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "internal error") {
					t.Errorf("error is not a clean one-line report: %q", err)
				}
				return
			}
			if err != nil {
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("internal error: %v", err)
				}
				return // rejected cleanly is fine when no warning is expected
			}
			if tt.warning != "" && !strings.Contains(strings.Join(d.Warnings, "; "), tt.warning) {
				t.Errorf("warnings %v, want one about %q", d.Warnings, tt.warning)
			}
		})
	}
}

func TestIndexWarnings(t *testing.T) {
	dir := t.TempDir()
	good := fixture(t, "contoso_x86.sys")
	ne := make([]byte, 0x100)
	copy(ne, "MZ")
	binary.LittleEndian.PutUint32(ne[0x3C:], 0x80)
	copy(ne[0x80:], "NE")
	files := map[string][]byte{
		"good.sys":         good,
		"sub/dir/good.sy_": good, // found by content, not by extension
		"truncated.sys":    good[:0x120],
		"garbage.sys":      append([]byte("MZ"), make([]byte, 10)...),
		"readme.txt":       []byte("not a driver"),
		"win16.drv":        ne,
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := Index(context.Background(), []string{dir, filepath.Join(dir, "sub")}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cat.Files != 6 || len(cat.Drivers) != 2 || len(cat.Warnings) != 2 {
		t.Fatalf("files %d drivers %d warnings %v, want 6, 2 and 2", cat.Files, len(cat.Drivers), cat.Warnings)
	}
	for i, w := range []string{"garbage.sys", "truncated.sys"} {
		if filepath.Base(cat.Warnings[i].Path) != w {
			t.Errorf("warning %d is about %s, want %s", i, cat.Warnings[i].Path, w)
		}
	}
	if _, err := Index(context.Background(), []string{filepath.Join(dir, "missing")}, IndexOptions{}); err == nil {
		t.Error("a missing drivers folder is not an error")
	}
	// Past MaxFileSize a PE file is named, not read; the small ones
	// (truncated.sys, garbage.sys) are read as before, one worker or many.
	for _, workers := range []int{1, 3} {
		cat, err = Index(context.Background(), []string{dir}, IndexOptions{MaxFileSize: 0x200, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var big []string
		for _, w := range cat.Warnings {
			if strings.Contains(w.Err.Error(), "larger than the 512-byte limit") {
				big = append(big, filepath.Base(w.Path))
			}
		}
		if len(cat.Drivers) != 0 || !slices.Equal(big, []string{"good.sys", "good.sy_"}) || len(cat.Warnings) != 4 {
			t.Errorf("%d workers: drivers %d, warnings %v; want the two good files refused by size", workers, len(cat.Drivers), cat.Warnings)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Index(ctx, []string{dir}, IndexOptions{}); err == nil {
		t.Error("a cancelled index returned no error")
	}
}

func FuzzScanBytes(f *testing.F) {
	for _, name := range []string{"contoso_x64.sys", "contoso_x86.sys", "contoso_arm64.sys", "decoy.sys"} {
		b := fixture(f, name)
		f.Add(b, false)
		f.Add(b[:0x300], false)
		f.Add(b, true)
	}
	f.Add([]byte("MZ"), false)
	f.Fuzz(func(t *testing.T, b []byte, mapped bool) {
		layout := FileLayout
		if mapped {
			layout = MappedLayout
		}
		d, err := ScanBytes("fuzz", b, layout)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic in our code: %v", err)
			}
			return
		}
		for _, u := range append(d.Tags(), d.WeakTags()...) {
			if u.Kind() == NoEvidence || !u.Tag.Printable() {
				t.Fatalf("listed tag %s with %+v", u.TagString(), u.Evidence)
			}
		}
	})
}
