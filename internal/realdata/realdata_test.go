package realdata

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test so that Path's skips and failures can be
// observed; like testing.T it stops the goroutine that skips or fails.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(f string, a ...any) {
	r.skipped = fmt.Sprintf(f, a...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.failed = fmt.Sprintf(f, a...)
	runtime.Goexit()
}

func callPath(t *testing.T, rel string) (string, *recorder) {
	r := &recorder{TB: t}
	var got string
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = Path(r, rel)
	}()
	<-done
	return got, r
}

func TestPath(t *testing.T) {
	tests := []struct {
		name    string
		env     string // "" leaves the variable unset
		shared  bool   // ../shared/realdata beside the module root
		want    string // path relative to the temp folder, when found
		skipped bool
		failed  string
	}{
		{name: "fresh clone", skipped: true},
		{name: "beside the checkout", shared: true, want: "shared/realdata/dumps/a.dmp"},
		{name: "named, relative to the module root", env: "../data", want: "data/dumps/a.dmp"},
		{name: "named, absolute", env: "ABS/data", want: "data/dumps/a.dmp"},
		{name: "named but absent", env: "../nowhere", failed: "not a folder"},
		{name: "named, file missing", env: "../empty", failed: "dumps/a.dmp missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			repo := filepath.Join(base, "repo")
			for _, d := range []string{"repo/pkg", "data/dumps", "empty"} {
				os.MkdirAll(filepath.Join(base, d), 0o755)
			}
			os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644)
			os.WriteFile(filepath.Join(base, "data/dumps/a.dmp"), []byte("x"), 0o644)
			if tt.shared {
				os.MkdirAll(filepath.Join(base, "shared/realdata/dumps"), 0o755)
				os.WriteFile(filepath.Join(base, "shared/realdata/dumps/a.dmp"), []byte("x"), 0o644)
			}
			t.Chdir(filepath.Join(repo, "pkg"))
			t.Setenv(EnvVar, strings.Replace(tt.env, "ABS", base, 1))
			got, r := callPath(t, "dumps/a.dmp")
			if tt.skipped != (r.skipped != "") {
				t.Errorf("skipped = %q", r.skipped)
			}
			if tt.skipped && (strings.Count(r.skipped, "\n") != 0 || !strings.Contains(r.skipped, EnvVar) || !strings.Contains(r.skipped, "dumps/a.dmp")) {
				t.Errorf("skip line %q should name the file and %s", r.skipped, EnvVar)
			}
			if tt.failed == "" && r.failed != "" || tt.failed != "" && !strings.Contains(r.failed, tt.failed) {
				t.Errorf("failed = %q, want %q", r.failed, tt.failed)
			}
			if tt.want != "" && got != filepath.Join(base, filepath.FromSlash(tt.want)) {
				t.Errorf("Path = %q, want %s under %s", got, tt.want, base)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "data"), 0o755)
	os.WriteFile(filepath.Join(base, "data", "s.txt"), nil, 0o644)
	t.Setenv(EnvVar, filepath.Join(base, "data"))
	if p, ok := Lookup("s.txt"); !ok || p != filepath.Join(base, "data", "s.txt") {
		t.Errorf("Lookup(s.txt) = %q, %v", p, ok)
	}
	if _, ok := Lookup("none.txt"); ok {
		t.Error("Lookup(none.txt) found a missing file")
	}
}
