//go:build unix

package walk

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

func TestDir(t *testing.T) {
	top := t.TempDir()
	real := filepath.Join(top, "real")
	mk := func(p string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(real, "a.sys"))
	mk(filepath.Join(real, "sub", "b.sys"))
	mk(filepath.Join(top, "elsewhere", "c.sys"))
	os.Symlink(filepath.Join(top, "elsewhere"), filepath.Join(real, "linked"))         // a linked folder
	os.Symlink(filepath.Join(top, "elsewhere", "c.sys"), filepath.Join(real, "d.sys")) // a linked file
	os.Symlink(real, filepath.Join(real, "sub", "loop"))                               // back to the top
	os.Symlink(filepath.Join(top, "gone"), filepath.Join(real, "broken.sys"))
	if err := syscall.Mkfifo(filepath.Join(real, "pipe.sys"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(top, "link")
	os.Symlink(real, link) // the root itself is a link

	var files, skipped []string
	err := Dir(link, func(p string, fi fs.FileInfo) error {
		files = append(files, strings.TrimPrefix(p, link+"/"))
		return nil
	}, func(p string, why error) {
		skipped = append(skipped, strings.TrimPrefix(p, link+"/")+": "+why.Error())
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if got := strings.Join(files, " "); got != "a.sys d.sys linked/c.sys sub/b.sys" {
		t.Errorf("files %q", got)
	}
	want := []string{"broken.sys: a broken symbolic link", "pipe.sys: is a named pipe (FIFO)", "sub/loop: leads back to"}
	if len(skipped) != len(want) {
		t.Fatalf("skipped %q", skipped)
	}
	for i, w := range want {
		if !strings.HasPrefix(skipped[i], w) {
			t.Errorf("skipped[%d] = %q, want %q...", i, skipped[i], w)
		}
	}
}
