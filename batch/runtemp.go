package batch

import (
	"fmt"
	"os"
	"path/filepath"
)

// runTempPrefix names the temporary folder of one run. The folder holds a
// lock file its run keeps locked while alive (the lock goes with the
// process, even when it is killed), so a later run recognises a folder
// whose run is gone and removes it: decompressed dumps of a killed batch
// do not stay on the disk.
const (
	runTempPrefix = "poolblame-run-"
	runLockName   = ".lock"
)

// newRunTemp creates this run's temporary folder in parent ("" for the
// system's), after removing the folders of runs that are gone. It
// returns the folder, a release that removes it, and the folders removed.
func newRunTemp(parent string) (dir string, release func(), cleared []string, err error) {
	if parent == "" {
		parent = os.TempDir()
	}
	olds, _ := filepath.Glob(filepath.Join(parent, runTempPrefix+"*"))
	for _, old := range olds {
		if abandoned(old) && os.RemoveAll(old) == nil {
			cleared = append(cleared, old)
		}
	}
	dir, err = os.MkdirTemp(parent, runTempPrefix)
	if err != nil {
		return "", nil, cleared, err
	}
	unlock, err := lockRun(filepath.Join(dir, runLockName))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, cleared, fmt.Errorf("%s: %w", dir, err)
	}
	return dir, func() { os.RemoveAll(dir); unlock() }, cleared, nil
}
