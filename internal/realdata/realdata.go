// Package realdata finds the project's real data (dumps, drivers, snapshots
// kept as evidence) for the tests that need it.
//
// The folder is named by the environment variable POOLBLAME_REALDATA; a
// relative value is taken from the module root, where `go test ./...` is
// usually run. Without the variable the folder is ../shared/realdata beside
// the module root when it is there. A fresh clone has neither: the tests
// that need the data skip with one line saying what was skipped and how to
// run them. When the variable is set, missing data is a failure, so CI
// cannot skip them silently.
package realdata

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the real-data folder.
const EnvVar = "POOLBLAME_REALDATA"

// defaultRel is the folder's place relative to the module root.
const defaultRel = "../shared/realdata"

// Dir returns the real-data folder, whether the environment named it, and
// whether it exists.
func Dir() (dir string, named, ok bool) {
	root, rootErr := moduleRoot()
	if v := os.Getenv(EnvVar); v != "" {
		dir = v
		if !filepath.IsAbs(dir) && rootErr == nil {
			dir = filepath.Join(root, dir)
		}
		return dir, true, isDir(dir)
	}
	if rootErr != nil {
		return "", false, false
	}
	dir = filepath.Join(root, filepath.FromSlash(defaultRel))
	return dir, false, isDir(dir)
}

// Lookup returns the path of rel (slash-separated) inside the real-data
// folder and whether that file exists; it never skips or fails, for the
// callers that only add optional seeds.
func Lookup(rel string) (string, bool) {
	dir, _, ok := Dir()
	if !ok {
		return "", false
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	_, err := os.Stat(p)
	return p, err == nil
}

// Path returns the path of rel inside the real-data folder. When the folder
// is absent and not named by the environment, it skips tb with one line;
// when the environment names it and rel is missing, it fails tb.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	dir, named, ok := Dir()
	if !ok && !named {
		tb.Skipf("skipped: needs real data %s (absent); run with %s=DIR naming the realdata folder", rel, EnvVar)
	}
	if !ok {
		tb.Fatalf("%s=%s: not a folder", EnvVar, dir)
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("real data %s missing from %s: %v", rel, dir, err)
	}
	return p
}

// Read returns the contents of rel inside the real-data folder, skipping or
// failing tb as Path does.
func Read(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// moduleRoot is the nearest folder at or above the working directory that
// holds go.mod: tests run in their package's folder.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}
