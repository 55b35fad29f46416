package batch

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// A snapshot is read the same from a plain file, a .gz, a .zst and a zip
// member; a zip member that is gone or a damaged archive is an error
// naming the file.
func TestOpenText(t *testing.T) {
	const text = "Memory: 1048576K Avail: 524288K\n"
	dir := t.TempDir()
	write := func(name string, f func(w io.Writer) io.Closer) string {
		p := filepath.Join(dir, name)
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		c := f(out)
		if c != nil {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("a.txt", func(w io.Writer) io.Closer { io.WriteString(w, text); return nil })
	gz := write("a.txt.gz", func(w io.Writer) io.Closer { z := gzip.NewWriter(w); io.WriteString(z, text); return z })
	zs := write("a.txt.zst", func(w io.Writer) io.Closer {
		z, err := zstd.NewWriter(w)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(z, text)
		return z
	})
	zp := write("a.zip", func(w io.Writer) io.Closer {
		z := zip.NewWriter(w)
		m, err := z.Create("snaps/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(m, text)
		return z
	})
	bad := write("bad.zip", func(w io.Writer) io.Closer { io.WriteString(w, "PK\x03\x04 not a zip"); return nil })
	tests := []struct {
		in      input
		wantErr string
	}{
		{input{path: plain, container: plainFile}, ""},
		{input{path: gz, container: gzipFile}, ""},
		{input{path: zs, container: zstdFile}, ""},
		{input{path: zp, member: "snaps/a.txt", container: zipFile}, ""},
		{input{path: zp, member: "snaps/gone.txt", container: zipFile}, "member snaps/gone.txt is gone"},
		{input{path: bad, member: "x", container: zipFile}, "unreadable zip"},
		{input{path: filepath.Join(dir, "none.gz"), container: gzipFile}, "none.gz"},
	}
	for _, tc := range tests {
		rc, err := openText(&tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %s: error %v, want %q", tc.in.path, tc.in.member, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.in.path, err)
		}
		b, err := io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil || !bytes.Equal(b, []byte(text)) {
			t.Errorf("%s: read %q, %v", tc.in.path, b, err)
		}
	}
}

// A machine's failure (disk, temporary folder) keeps its cause.
func TestMachineErrorChain(t *testing.T) {
	cause := errors.New("no space left on device")
	var err error = &machineError{err: cause}
	if !errors.Is(err, cause) || err.Error() != cause.Error() {
		t.Errorf("machine error %v does not keep its cause", err)
	}
}

func TestGroupByNames(t *testing.T) {
	for _, g := range []GroupBy{GroupAuto, GroupFolder, GroupNone} {
		back, err := ParseGroupBy(g.String())
		if err != nil || back != g {
			t.Errorf("%v: parsed back as %v, %v", g, back, err)
		}
	}
	if s := GroupBy(9).String(); s != "GroupBy(9)" {
		t.Errorf("unknown GroupBy: %q", s)
	}
}
