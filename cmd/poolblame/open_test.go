package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Single-dump commands read the dump inside .gz, .zst and .zip files as
// batch does, and name the container when it cannot hold one dump.
func TestCompressedDumps(t *testing.T) {
	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // decompressed copies go here and must be removed
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(dump)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	zst := enc.EncodeAll(dump, nil)
	zipOf := func(method uint16, members map[string][]byte) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		for _, name := range []string{"a.dmp", "b.dmp", "notes.txt"} {
			if data, ok := members[name]; ok {
				f, _ := w.CreateHeader(&zip.FileHeader{Name: "case/" + name, Method: method})
				f.Write(data)
			}
		}
		w.Close()
		return b.Bytes()
	}
	want, errs, st := runCmd(t, "poolused", "--csv", sample2003)
	if st != exitOK {
		t.Fatalf("plain dump: status %d %s", st, errs)
	}
	for _, tt := range []struct{ name, path string }{
		{"gzip", write("isil.dmp.gz", gz.Bytes())},
		{"zstd", write("isil.dmp.zst", zst)},
		{"zip, stored", write("stored.zip", zipOf(zip.Store, map[string][]byte{"a.dmp": dump, "notes.txt": []byte("server 12")}))},
		{"zip, deflated", write("deflated.zip", zipOf(zip.Deflate, map[string][]byte{"a.dmp": dump}))},
	} {
		got, errs, st := runCmd(t, "poolused", "--csv", tt.path)
		if st != exitOK || got != want {
			t.Errorf("%s: status %d, stderr %q, output differs from the plain dump's: %v", tt.name, st, errs, got != want)
		}
		if out, _, st := runCmd(t, "info", tt.path); st != exitOK || !strings.Contains(out, "Windows Server 2003 (build 3790)") {
			t.Errorf("%s: info status %d:\n%s", tt.name, st, out)
		}
	}
	for _, tt := range []struct{ name, path, want string }{
		{"two dumps", write("two.zip", zipOf(zip.Deflate, map[string][]byte{"a.dmp": dump, "b.dmp": dump})),
			"holds 2 crash dumps (case/a.dmp, case/b.dmp): give it to poolblame batch"},
		{"no dump", write("notes.zip", zipOf(zip.Deflate, map[string][]byte{"notes.txt": []byte("x")})), "holds no crash dump"},
		{"damaged gzip", write("cut.dmp.gz", gz.Bytes()[:len(gz.Bytes())/2]), "cut.dmp.gz: gzip data is damaged"},
	} {
		for _, cmd := range []string{"info", "poolused", "report"} {
			_, errs, st := runCmd(t, cmd, tt.path)
			if st != exitError || !strings.Contains(errs, tt.path) || !strings.Contains(errs, tt.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%s, %s: status %d, stderr %q, want one line holding %q", tt.name, cmd, st, errs, tt.want)
			}
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
