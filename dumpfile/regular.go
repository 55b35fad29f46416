package dumpfile

import (
	"fmt"
	"io/fs"
)

// CheckRegular accepts regular files only, and says what else a path is.
// Opening a FIFO blocks until a writer comes, and a device such as
// /dev/zero reads as an endless or empty file: neither is a dump.
func CheckRegular(fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	return fmt.Errorf("is %s, not a regular file", FileKind(m))
}

// FileKind names a file mode's type: "a directory", "a named pipe
// (FIFO)", "a character device"...
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}
