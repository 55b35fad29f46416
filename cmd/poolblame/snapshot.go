package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/poolblame/poolblame/pool/snapshot"
)

// snapshotHead is how much of a file decides whether it is snapshot text.
const snapshotHead = 64 << 10

// openSnapshot reads path as a pool snapshot when its text is one (a
// poolmon screen or log, !poolused or !vm output); it returns nil, nil for
// anything else, which is then opened as a dump. A file holding several
// snapshots is reported on its last, the latest. The time comes from
// timeArg, else the snapshot itself, else the file's name; never from the
// file's modification time, which says when it was copied.
func openSnapshot(path, timeArg string, stderr io.Writer) (*snapshot.Snapshot, error) {
	// Opening a FIFO would block: only regular files are looked at, and
	// the dump reader names what anything else is.
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil // the dump reader names the problem
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, snapshotHead)
	head, err := br.Peek(snapshotHead)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch snapshot.Detect(head) {
	case snapshot.Poolmon, snapshot.PoolmonLog, snapshot.Poolused, snapshot.VMText:
	case snapshot.PerfmonLog:
		return nil, fmt.Errorf("%s: a Performance Monitor log has counters, not pool tags: read it with poolblame batch", path)
	case snapshot.HTTPErr:
		return nil, fmt.Errorf("%s: an HTTP.SYS error log has refusals, not pool tags: give it to poolblame batch --httperr", path)
	default:
		return nil, nil
	}
	snaps, err := snapshot.Parse(br, path)
	if err != nil {
		return nil, err
	}
	s := snaps[len(snaps)-1]
	if len(snaps) > 1 {
		fmt.Fprintf(stderr, "poolblame: %s holds %d snapshots; this report is on the last (poolblame batch compares them)\n", path, len(snaps))
	}
	if timeArg != "" {
		t, err := snapshot.ParseTime(timeArg)
		if err != nil {
			return nil, fmt.Errorf("--time: %w", err)
		}
		s.Time = t
	} else if s.Time.IsZero() {
		if t, _, ok := snapshot.TimeFromName(path); ok {
			s.Time = t
		}
	}
	return s, nil
}
