package batch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
)

// OpenDump opens the one dump a single-dump command names, in the forms a
// batch accepts: a dump file, a .gz or .zst file holding one, or a zip
// holding exactly one dump. A compressed dump is decompressed into memory
// when it fits the batch's default budget, else into a temporary file in
// tmpDir ("": the system's temporary folder); cleanup releases either; a dump stored uncompressed in a zip is read where it lies. A
// plain file goes straight to dumpfile.Open, whose errors name what is
// wrong with it.
func OpenDump(ctx context.Context, path, tmpDir string) (f *dumpfile.File, cleanup func(), err error) {
	if !isContainer(path) {
		f, err := dumpfile.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	d, err := discover([]string{path})
	if err != nil {
		return nil, nil, err
	}
	var dumps []*input
	for _, in := range d.inputs {
		if in.err != nil {
			return nil, nil, in.err
		}
		if in.kind == kindDump {
			dumps = append(dumps, in)
		}
	}
	switch {
	case len(dumps) == 0:
		return nil, nil, fmt.Errorf("%s: holds no crash dump (pool snapshots go to poolblame batch)", path)
	case len(dumps) > 1:
		names := make([]string, 0, 3)
		for _, in := range dumps[:min(3, len(dumps))] {
			names = append(names, in.member)
		}
		more := ""
		if len(dumps) > 3 {
			more = ", ..."
		}
		return nil, nil, fmt.Errorf("%s: holds %d crash dumps (%s%s): give it to poolblame batch, or extract the one you mean",
			path, len(dumps), strings.Join(names, ", "), more)
	}
	// A folder of this run's own, which a later run removes if this one
	// is killed.
	dir, release, _, terr := newRunTemp(tmpDir)
	if terr != nil {
		return nil, nil, fmt.Errorf("temporary folder: %w", terr)
	}
	df, done, err := openDump(ctx, dumps[0], &spool{dir: dir, disk: newDiskBudget(dir), mem: newMemBudget(0)})
	if err != nil {
		release()
		return nil, nil, err
	}
	return df, func() { done(); release() }, nil
}

// isContainer reports a zip, gzip or zstd signature at the start of path;
// anything unreadable is left to dumpfile.Open to name.
func isContainer(path string) bool {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return false // a FIFO would block the read below
	}
	head, err := readHead(path)
	if err != nil {
		return false
	}
	for _, sig := range [][]byte{sigZip, sigZipEnd, sigGzip, sigZstd} {
		if bytes.HasPrefix(head, sig) {
			return true
		}
	}
	return false
}
