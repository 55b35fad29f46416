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
	tests := []struct {
		name  string
		path  string
		force bool
		want  error  // nil: written
		text  string // in the error
	}{
		{"the dump itself", dump, true, ErrInput, "never written over"},
		{"a driver", driver, true, ErrInput, "in the input folder"},
		{"a file the run did not create", other, false, ErrExists, "--force"},
		{"the same, forced", other, true, nil, ""},
		{"an earlier run's output", owned, false, nil, ""},
		{"a new file", filepath.Join(dir, "new.txt"), false, nil, ""},
		{"a new file in the drivers folder", filepath.Join(dir, "drv", "report.txt"), false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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

// Every name that reaches an input's file is refused with ErrInput, in
// one line naming the path and, when the names differ, the input as it
// was given; the file is left as it was.
func TestGuardInputNames(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	rel := filepath.Join("real", "D.dmp")
	abs := filepath.Join(dir, rel)
	if err := os.Mkdir("real", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rel, []byte("dump"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(rel, "hard.dmp"); err != nil {
		t.Fatal(err)
	}
	// Windows needs a privilege for symbolic links, and Wine only imitates
	// them: those cases run where links are the system's own.
	symOK := runtime.GOOS != "windows" && os.Symlink(rel, "sym.dmp") == nil && os.Symlink("real", "linked") == nil
	dot := "." + string(filepath.Separator) + rel
	viaLink := filepath.Join("linked", "D.dmp")
	absViaLink := filepath.Join(dir, viaLink)
	same := func(out, in string) string {
		return out + " is an input of this run (the same file as " + in + "): never written over"
	}
	tests := []struct {
		name       string
		input, out string
		symlink    bool
		want       string
	}{
		{"the same name", rel, rel, false, rel + " is an input of this run: never written over"},
		{"the same name, not clean", rel, dot, false, dot + " is an input of this run: never written over"},
		{"absolute for relative", rel, abs, false, same(abs, rel)},
		{"relative for absolute", abs, rel, false, same(rel, abs)},
		{"a hard link", rel, "hard.dmp", false, same("hard.dmp", rel)},
		{"the input named by a hard link", "hard.dmp", abs, false, same(abs, "hard.dmp")},
		{"a symbolic link", rel, "sym.dmp", true, same("sym.dmp", rel)},
		{"a linked folder on the path", rel, viaLink, true, same(viaLink, rel)},
		{"the input named through a linked folder", absViaLink, rel, true, same(rel, absViaLink)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.symlink && !symOK {
				t.Skip("symbolic links are not available here")
			}
			g := &Guard{Force: true}
			g.AddInput(tt.input)
			for _, op := range []struct {
				name string
				do   func() error
			}{
				{"Check", func() error { return g.Check(tt.out) }},
				{"WriteFile", func() error { return g.WriteFile(tt.out, []byte("report")) }},
			} {
				if err := op.do(); !errors.Is(err, ErrInput) || err.Error() != tt.want {
					t.Errorf("%s: %v\nwant %s (ErrInput)", op.name, err, tt.want)
				}
			}
			if b, _ := os.ReadFile(abs); string(b) != "dump" {
				t.Fatalf("the input now holds %q", b)
			}
		})
	}
}
