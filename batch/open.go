package batch

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/units"
)

// machineError is a failure of the machine running the batch (no space
// to extract, an unwritable temporary folder), not of the dump: it is
// not remembered in index.json, so a re-run tries again.
type machineError struct{ err error }

func (e *machineError) Error() string { return e.err.Error() }
func (e *machineError) Unwrap() error { return e.err }

// SpaceError says a dump could not be extracted for lack of disk space.
type SpaceError struct {
	Dump string
	Dir  string
	Need uint64 // bytes, with a margin
	Free uint64
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("%s: not enough free disk space in %s to decompress it: needs %s, %s free (set the temporary folder elsewhere, or decompress it yourself)",
		e.Dump, e.Dir, units.Bytes(e.Need), units.Bytes(e.Free))
}

// spaceMargin is kept free beyond what extraction needs.
const spaceMargin = 64 << 20

// diskBudget shares the free space of the temporary folder among workers
// that extract at the same time.
type diskBudget struct {
	dir      string
	free     func(dir string) (uint64, bool)
	mu       sync.Mutex
	cond     *sync.Cond
	reserved uint64
	active   int
}

func newDiskBudget(dir string) *diskBudget {
	b := &diskBudget{dir: dir, free: freeDisk}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// reserve waits until n bytes (plus a margin) are free after the other
// extractions' reservations, or fails when they could not be even with
// none running. n < 0 (size unknown) reserves nothing: the write itself
// then tells.
func (b *diskBudget) reserve(name string, n int64) (release func(), err error) {
	if n < 0 {
		return func() {}, nil
	}
	need := uint64(n) + spaceMargin
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		free, ok := b.free(b.dir)
		if !ok || free >= b.reserved+need {
			break
		}
		if b.active == 0 {
			return nil, &SpaceError{Dump: name, Dir: b.dir, Need: need, Free: free}
		}
		b.cond.Wait()
	}
	b.reserved += uint64(n)
	b.active++
	return func() {
		b.mu.Lock()
		b.reserved -= uint64(n)
		b.active--
		b.mu.Unlock()
		b.cond.Broadcast()
	}, nil
}

// openDump opens an input's dump for reading: in place when it is a file
// or a stored zip member, else decompressed into a temporary file, which
// cleanup removes.
func openDump(ctx context.Context, in *input, tmpDir string, disk *diskBudget) (f *dumpfile.File, cleanup func(), err error) {
	switch in.container {
	case plainFile:
		f, err := dumpfile.Open(in.path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	case zipFile:
		return openZipMember(ctx, in, tmpDir, disk)
	}
	src, closeSrc, err := openCompressed(in.path, in.container)
	if err != nil {
		return nil, nil, err
	}
	defer closeSrc()
	return extract(ctx, in, src, tmpDir, disk)
}

func openZipMember(ctx context.Context, in *input, tmpDir string, disk *diskBudget) (*dumpfile.File, func(), error) {
	fh, err := os.Open(in.path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	zr, err := zip.NewReader(fh, fi.Size())
	if err != nil {
		fh.Close()
		return nil, nil, fmt.Errorf("%s: unreadable zip: %v", in.path, err)
	}
	var zf *zip.File
	for _, m := range zr.File {
		if m.Name == in.member {
			zf = m
			break
		}
	}
	if zf == nil {
		fh.Close()
		return nil, nil, fmt.Errorf("%s: member %s is gone", in.path, in.member)
	}
	if zf.Method == zip.Store {
		// Stored: read the dump where it lies in the zip.
		off, err := zf.DataOffset()
		if err != nil {
			fh.Close()
			return nil, nil, fmt.Errorf("%s: %v", in.name(), err)
		}
		size := int64(zf.UncompressedSize64)
		if off+size > fi.Size() {
			fh.Close()
			return nil, nil, fmt.Errorf("%s: member runs past the end of the zip", in.name())
		}
		f, err := dumpfile.NewFile(in.name(), io.NewSectionReader(fh, off, size), size)
		if err != nil {
			fh.Close()
			return nil, nil, err
		}
		return f, func() { f.Close(); fh.Close() }, nil
	}
	defer fh.Close()
	rc, err := zf.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", in.name(), err)
	}
	defer rc.Close()
	return extract(ctx, in, rc, tmpDir, disk)
}

// extract copies a decompressed dump into a temporary file and opens it
// under the input's name, so that reports and errors name the dump, not
// the temporary file.
func extract(ctx context.Context, in *input, src io.Reader, tmpDir string, disk *diskBudget) (*dumpfile.File, func(), error) {
	release, err := disk.reserve(in.name(), in.size)
	if err != nil {
		return nil, nil, &machineError{err}
	}
	defer release()
	tmp, err := os.CreateTemp(tmpDir, "dump-*.dmp")
	if err != nil {
		return nil, nil, &machineError{fmt.Errorf("%s: cannot create a temporary file to decompress it: %v", in.name(), err)}
	}
	remove := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, ctxReader{ctx, src})
	if err != nil {
		remove()
		var pe *os.PathError
		if errors.As(err, &pe) { // a write failed: the disk, not the dump
			return nil, nil, &machineError{fmt.Errorf("%s: decompressing into %s failed: %v", in.name(), tmpDir, err)}
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%s: %s data is damaged after %d bytes: %v", in.name(), in.container, n, err)
	}
	f, err := dumpfile.NewFile(in.name(), tmp, n)
	if err != nil {
		remove()
		return nil, nil, err
	}
	return f, func() { f.Close(); remove() }, nil
}

// ctxReader stops a long copy when the run is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
