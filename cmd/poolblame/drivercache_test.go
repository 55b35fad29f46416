package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestMain keeps the tests' driver cache out of the user's cache folder.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "poolblame-cache-")
	if err != nil {
		panic(err)
	}
	os.Setenv(cacheHomeVar, dir)
	st := m.Run()
	os.RemoveAll(dir)
	os.Exit(st)
}

// cacheHomeVar is the variable os.UserCacheDir reads first on this
// platform (macOS reads $HOME only, and is not covered).
var cacheHomeVar = map[string]string{"windows": "LocalAppData"}[runtime.GOOS]

func init() {
	if cacheHomeVar == "" {
		cacheHomeVar = "XDG_CACHE_HOME"
	}
}

// TestTagCache: a second run answers from the cache exactly as the first
// did, and --no-cache writes nothing.
func TestTagCache(t *testing.T) {
	t.Setenv(cacheHomeVar, t.TempDir())
	records := func() int {
		m, _ := filepath.Glob(filepath.Join(os.Getenv(cacheHomeVar), "poolblame", "*", "*", "*"))
		return len(m)
	}
	args := []string{"tag", "Tst1", "Wrp2", "--drivers", synthDrivers}
	var first bytes.Buffer
	var errb bytes.Buffer
	if st := run(append(args, "--no-cache"), &first, &errb); st != exitOK || records() != 0 {
		t.Fatalf("--no-cache: exit %d, %d records: %s", st, records(), errb.String())
	}
	for i := 0; i < 2; i++ {
		var out bytes.Buffer
		if st := run(args, &out, &errb); st != exitOK {
			t.Fatalf("run %d: exit %d: %s", i, st, errb.String())
		}
		if out.String() != first.String() {
			t.Errorf("run %d with the cache:\n%s\nwithout:\n%s", i, out.String(), first.String())
		}
		if n := records(); n != 4 {
			t.Errorf("run %d: %d records, want one per distinct image (4)", i, n)
		}
	}
}
