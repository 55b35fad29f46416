package batch

import (
	"archive/zip"
	"bytes"
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

// spool is where compressed dumps are decompressed: into memory while
// they fit mem, else into a temporary file in dir.
type spool struct {
	dir  string
	disk *diskBudget
	mem  *memBudget
}

// openDump opens an input's dump for reading: in place when it is a file
// or a stored zip member, else decompressed into memory or a temporary
// file, which cleanup releases.
func openDump(ctx context.Context, in *input, sp *spool) (f *dumpfile.File, cleanup func(), err error) {
	switch in.container {
	case plainFile:
		f, err := dumpfile.Open(in.path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	case zipFile:
		return openZipMember(ctx, in, sp)
	}
	src, closeSrc, err := openCompressed(in.path, in.container)
	if err != nil {
		return nil, nil, err
	}
	defer closeSrc()
	return extract(ctx, in, src, sp)
}

func openZipMember(ctx context.Context, in *input, sp *spool) (*dumpfile.File, func(), error) {
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
	return extract(ctx, in, rc, sp)
}

// extract decompresses a dump into memory when its recorded size fits
// the memory budget, else into a temporary file, and opens it under the
// input's name, so that reports and errors name the dump, not the
// temporary file. The memory taken is what is written, never more than
// the size the container recorded: a dump that turns out larger (a
// damaged or hostile size field) goes on into a temporary file.
func extract(ctx context.Context, in *input, src io.Reader, sp *spool) (*dumpfile.File, func(), error) {
	src = ctxReader{ctx, src}
	var held [][]byte
	if in.size >= 0 && sp.mem.take(in.size) {
		w := &memWriter{b: make([]byte, 0, in.size)}
		_, err := io.Copy(w, src)
		switch {
		case err == nil:
			f, err := dumpfile.NewFile(in.name(), bytes.NewReader(w.b), int64(len(w.b)))
			if err != nil {
				sp.mem.give(in.size)
				return nil, nil, err
			}
			return f, func() { f.Close(); sp.mem.give(in.size) }, nil
		case errors.Is(err, errMemFull):
			// Larger than recorded: what was read goes first into the
			// file, then the rest of the stream.
			held = [][]byte{w.b, w.over}
			defer sp.mem.give(in.size)
		default:
			sp.mem.give(in.size)
			return nil, nil, readError(ctx, in, int64(len(w.b)), err)
		}
	}
	return extractFile(ctx, in, held, src, sp)
}

// extractFile writes held, then the rest of src, into a temporary file.
func extractFile(ctx context.Context, in *input, held [][]byte, src io.Reader, sp *spool) (*dumpfile.File, func(), error) {
	size := in.size
	if held != nil {
		size = -1 // the recorded size was wrong
	}
	release, err := sp.disk.reserve(in.name(), size)
	if err != nil {
		return nil, nil, &machineError{err}
	}
	defer release()
	tmp, err := os.CreateTemp(sp.dir, "dump-*.dmp")
	if err != nil {
		return nil, nil, &machineError{fmt.Errorf("%s: cannot create a temporary file to decompress it: %v", in.name(), err)}
	}
	remove := func() { tmp.Close(); os.Remove(tmp.Name()) }
	var n0 int64
	for _, b := range held {
		if _, err := tmp.Write(b); err != nil {
			remove()
			return nil, nil, &machineError{fmt.Errorf("%s: decompressing into %s failed: %v", in.name(), sp.dir, err)}
		}
		n0 += int64(len(b))
	}
	n, err := io.Copy(tmp, src)
	n += n0
	if err != nil {
		remove()
		var pe *os.PathError
		if errors.As(err, &pe) { // a write failed: the disk, not the dump
			return nil, nil, &machineError{fmt.Errorf("%s: decompressing into %s failed: %v", in.name(), sp.dir, err)}
		}
		return nil, nil, readError(ctx, in, n, err)
	}
	f, err := dumpfile.NewFile(in.name(), tmp, n)
	if err != nil {
		remove()
		return nil, nil, err
	}
	return f, func() { f.Close(); remove() }, nil
}

// readError names a failure to read the compressed stream after n bytes.
func readError(ctx context.Context, in *input, n int64, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: %s data is damaged after %d bytes: %v", in.name(), in.container, n, err)
}

// memBudget shares the memory dumps may be decompressed into among the
// workers.
type memBudget struct {
	mu   sync.Mutex
	left int64
}

// defaultMemoryBudget caps the budget Options.MemoryBudget 0 chooses.
const defaultMemoryBudget = 2 << 30

func newMemBudget(n int64) *memBudget {
	if n == 0 {
		n = 256 << 20
		if avail, ok := availableMemory(); ok {
			n = min(int64(avail/4), defaultMemoryBudget)
		}
	}
	return &memBudget{left: max(n, 0)}
}

// take reserves n bytes if that many are left.
func (b *memBudget) take(n int64) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

func (b *memBudget) give(n int64) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}

// errMemFull says a dump is larger than the memory reserved for it.
var errMemFull = errors.New("larger than its recorded size")

// memWriter collects a stream in a buffer of fixed capacity and refuses
// to grow it: the write that does not fit leaves its excess in over and
// fails.
type memWriter struct{ b, over []byte }

func (w *memWriter) Write(p []byte) (int, error) {
	room := cap(w.b) - len(w.b)
	if len(p) > room {
		w.b = append(w.b, p[:room]...)
		w.over = append([]byte(nil), p[room:]...)
		return len(p), errMemFull
	}
	w.b = append(w.b, p...)
	return len(p), nil
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
