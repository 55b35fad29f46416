//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO or a device given as the dump is named for what it is, at once,
// by every command that opens a dump.
func TestNonRegularDump(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.dmp")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	for _, c := range []struct{ path, want string }{
		{fifo, "named pipe (FIFO)"}, {"/dev/zero", "character device"},
	} {
		for _, args := range [][]string{{"info", c.path}, {"poolused", c.path}, {"report", c.path}, {"tag", "ISil", "--dump", c.path}} {
			done := make(chan struct{})
			var errs string
			var st int
			go func() { _, errs, st = runCmd(t, args...); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%v: blocked", args)
			}
			if st != exitError || !strings.Contains(errs, c.path) || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%v: status %d, stderr %q", args, st, errs)
			}
			if strings.Contains(errs, "empty file") {
				t.Errorf("%v: called an empty file", args)
			}
		}
	}
}

// A drivers folder reached through a symbolic link is searched, not
// silently empty.
func TestLinkedDriversFolder(t *testing.T) {
	abs, err := filepath.Abs("../../testdata/drivers-2003")
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "drivers")
	if err := os.Symlink(abs, link); err != nil {
		t.Skip(err)
	}
	out, errs, st := runCmd(t, "tag", "ISil", "--drivers", link)
	if st != exitOK || !strings.Contains(out, "isil.sys") {
		t.Errorf("status %d, stderr %q:\n%s", st, errs, out)
	}
}
