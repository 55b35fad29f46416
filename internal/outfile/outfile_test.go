package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	dir := t.TempDir()
	w := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dump := w("D.dmp", "dump")
	driver := w("drv/isil.sys", "MZ")
	other := w("notes.txt", "mine")
	owned := w("out/summary.txt", "old summary")
	link := filepath.Join(dir, "alias.dmp")
	if err := os.Link(dump, link); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.dmp")
	// Windows needs a privilege for symbolic links, and Wine only imitates
	// them: the case runs where links are the system's own.
	symOK := runtime.GOOS != "windows" && os.Symlink(dump, sym) == nil

	tests := []struct {
		name  string
		path  string
		force bool
		want  error  // nil: written
		text  string // in the error
	}{
		{"the dump itself", dump, true, ErrInput, "never written over"},
		{"a hard link to the dump", link, true, nil, "the input"},
		{"a symbolic link to the dump", sym, true, nil, "the input"},
		{"a driver", driver, true, nil, "input folder"},
		{"a file the run did not create", other, false, ErrExists, "--force"},
		{"the same, forced", other, true, nil, ""},
		{"an earlier run's output", owned, false, nil, ""},
		{"a new file", filepath.Join(dir, "new.txt"), false, nil, ""},
		{"a new file in the drivers folder", filepath.Join(dir, "drv", "report.txt"), false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == sym && !symOK {
				t.Skip("symbolic links are not available here")
			}
			g := &Guard{Force: tt.force}
			g.AddInput(dump)
			g.AddInputDir(filepath.Join(dir, "drv"))
			g.AddOwnedDir(filepath.Join(dir, "out"))
			before, _ := os.ReadFile(dump)
			err := g.WriteFile(tt.path, []byte("report"))
			if tt.text == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(tt.path); string(b) != "report" {
					t.Errorf("wrote %q", b)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.text) || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %q", err, tt.text)
			}
			if after, _ := os.ReadFile(dump); string(after) != string(before) {
				t.Fatal("the dump changed")
			}
			if b, _ := os.ReadFile(driver); string(b) != "MZ" {
				t.Fatal("the driver changed")
			}
		})
	}
	// What the run wrote, it may write again.
	g := &Guard{}
	p := filepath.Join(dir, "twice.txt")
	if err := g.WriteFile(p, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteFile(p, []byte("2")); err != nil {
		t.Fatalf("second write of its own file: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
