//go:build unix

package batch

import (
	"os"
	"syscall"
)

// lockRun creates and locks the run's lock file for as long as the run
// lives.
func lockRun(p string) (unlock func(), err error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// abandoned reports a run folder whose lock nobody holds: its run ended
// without removing it (killed). A folder without a lock file is left
// alone: it may be a run that is starting.
func abandoned(dir string) bool {
	f, err := os.OpenFile(dir+string(os.PathSeparator)+runLockName, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false // its run holds it
	}
	return true
}
