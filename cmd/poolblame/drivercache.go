package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/poolblame/poolblame/pe"
)

// toolVersion names this build for the driver cache: the module version
// and VCS revision when the build records them, and the executable's size
// and time when it does not or the tree was modified (a development
// build), so that records of other code are never read.
func toolVersion() string {
	v := "unknown"
	exact := false
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		rev, modified := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		v += " " + rev
		exact = (rev != "" && !modified) || (bi.Main.Version != "" && bi.Main.Version != "(devel)")
	}
	if !exact {
		if exe, err := os.Executable(); err == nil {
			if fi, err := os.Stat(exe); err == nil {
				v += fmt.Sprintf(" %s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return v
}

// openDriverCache opens the driver cache in the user's cache folder, or
// returns nil with --no-cache. A cache that cannot be opened costs speed,
// not results: one warning, and the run goes on without it.
func openDriverCache(noCache bool, stderr io.Writer) *pe.Cache {
	if noCache {
		return nil
	}
	root, err := pe.DefaultCacheDir()
	if err == nil {
		var c *pe.Cache
		if c, err = pe.OpenCache(root, toolVersion()); err == nil {
			return c
		}
	}
	fmt.Fprintf(stderr, "poolblame: warning: driver cache not used: %v\n", err)
	return nil
}
