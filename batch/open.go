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
	zstd zstdAll
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
	case zstdFile:
		if f, cleanup, handled, err := decodeZstdInMemory(ctx, in, sp); handled {
			return f, cleanup, err
		}
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
		return nil, nil, fmt.Errorf("%s: unreadable zip: %w", in.path, err)
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
			return nil, nil, fmt.Errorf("%s: %w", in.name(), err)
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
		return nil, nil, fmt.Errorf("%s: %w", in.name(), err)
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
	buf, ok := sp.mem.take(in.size)
	if !ok {
		return extractFile(ctx, in, src, sp)
	}
	// The decoders write straight into the buffer (io.Copy finds their
	// WriteTo); the writer checks for cancellation.
	w := &spillWriter{ctx: ctx, b: buf, sp: sp, name: in.name()}
	sink := newDumpSink(w)
	_, err := io.Copy(sink, src)
	err = sink.finish(err)
	if sink.err != nil { // not a dump: refused on its first bytes
		if w.file != nil {
			w.file.Close()
			os.Remove(w.file.Name())
		} else {
			sp.mem.give(buf)
		}
		return nil, nil, fmt.Errorf("%s: %w", in.name(), sink.err)
	}
	if w.file == nil {
		if w.fileErr != nil {
			sp.mem.give(buf)
			return nil, nil, &machineError{fmt.Errorf("%s: cannot create a temporary file to decompress it: %w", in.name(), w.fileErr)}
		}
		if err != nil {
			sp.mem.give(buf)
			return nil, nil, readError(ctx, in, int64(len(w.b)), err)
		}
		f, err := dumpfile.NewFile(in.name(), bytes.NewReader(w.b), int64(len(w.b)))
		if err != nil {
			sp.mem.give(buf)
			return nil, nil, err
		}
		return f, func() { f.Close(); sp.mem.give(buf) }, nil
	}
	remove := func() { w.file.Close(); os.Remove(w.file.Name()) }
	switch {
	case w.fileErr != nil:
		remove()
		return nil, nil, &machineError{fmt.Errorf("%s: decompressing into %s failed: %w", in.name(), sp.dir, w.fileErr)}
	case err != nil:
		remove()
		return nil, nil, readError(ctx, in, w.n, err)
	}
	f, err := dumpfile.NewFile(in.name(), w.file, w.n)
	if err != nil {
		remove()
		return nil, nil, err
	}
	return f, func() { f.Close(); remove() }, nil
}

// extractFile decompresses src into a temporary file.
func extractFile(ctx context.Context, in *input, src io.Reader, sp *spool) (*dumpfile.File, func(), error) {
	// The header first: a stream that is no dump is refused before any
	// disk is taken, and the space reserved is what the header declares,
	// not a size field of the archive (gzip's is the size modulo 4 GiB).
	head := make([]byte, dumpfile.StartSize)
	k, err := io.ReadFull(ctxReader{ctx, src}, head)
	head = head[:k]
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, readError(ctx, in, int64(k), err)
	}
	declared, err := dumpfile.CheckStart(head)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", in.name(), err)
	}
	size := int64(-1)
	if declared > 0 {
		size = int64(min(declared, 1<<62))
	}
	release, err := sp.disk.reserve(in.name(), size)
	if err != nil {
		return nil, nil, &machineError{err}
	}
	defer release()
	tmp, err := os.CreateTemp(sp.dir, "dump-*.dmp")
	if err != nil {
		return nil, nil, &machineError{fmt.Errorf("%s: cannot create a temporary file to decompress it: %w", in.name(), err)}
	}
	remove := func() { tmp.Close(); os.Remove(tmp.Name()) }
	sink := newDumpSink(checkedFile{tmp, &diskCheck{budget: sp.disk, name: in.name()}})
	_, err = io.Copy(sink, io.MultiReader(bytes.NewReader(head), ctxReader{ctx, src}))
	n, err := sink.n, sink.finish(err)
	if sink.err != nil {
		remove()
		return nil, nil, fmt.Errorf("%s: %w", in.name(), sink.err)
	}
	if err != nil {
		remove()
		var pe *os.PathError
		var se *SpaceError
		if errors.As(err, &se) {
			return nil, nil, &machineError{err}
		}
		if errors.As(err, &pe) { // a write failed: the disk, not the dump
			return nil, nil, &machineError{fmt.Errorf("%s: decompressing into %s failed: %w", in.name(), sp.dir, err)}
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

// spillWriter collects a stream in a buffer of fixed capacity; the write
// that does not fit moves the buffer's content to a temporary file, gives
// the buffer back to the budget, and the rest goes to the file. The
// decoders keep a failed write's error for good, so the switch happens
// inside Write, never through an error. It stops when the run is
// cancelled.
type spillWriter struct {
	ctx     context.Context
	b       []byte
	sp      *spool
	name    string
	file    *os.File
	n       int64 // bytes written to the file
	check   *diskCheck
	fileErr error // the temporary file could not be created or written
}

func (w *spillWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.file == nil && len(p) <= cap(w.b)-len(w.b) {
		w.b = append(w.b, p...)
		return len(p), nil
	}
	if w.file == nil {
		f, err := os.CreateTemp(w.sp.dir, "dump-*.dmp")
		if err != nil {
			w.fileErr = err
			return 0, err
		}
		w.file = f
		w.check = &diskCheck{budget: w.sp.disk, name: w.name}
		held := w.b
		w.b = nil
		if err := w.write(held); err != nil {
			return 0, err
		}
		w.sp.mem.give(held)
	}
	if err := w.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *spillWriter) write(p []byte) error {
	if err := w.check.before(len(p)); err != nil {
		w.fileErr = err
		return err
	}
	n, err := w.file.Write(p)
	w.n += int64(n)
	if err != nil {
		w.fileErr = err
	}
	return err
}

// readError names a failure to read the compressed stream after n bytes.
func readError(ctx context.Context, in *input, n int64, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: %s data is damaged after %d bytes: %w", in.name(), in.container, n, err)
}

// memBudget shares the memory dumps may be decompressed into among the
// workers. Buffers are kept for the next dump once released: a fresh
// 64 MiB buffer per dump cost a page fault per 4 KiB and more time than
// the decompression. Buffers in use and kept together never exceed the
// budget.
type memBudget struct {
	mu     sync.Mutex
	budget int64
	inUse  int64
	kept   [][]byte
	nkept  int64 // bytes in kept
}

// defaultMemoryBudget caps the budget Options.MemoryBudget 0 chooses.
const defaultMemoryBudget = 1 << 30

func newMemBudget(n int64) *memBudget {
	if n == 0 {
		n = 256 << 20
		if avail, ok := availableMemory(); ok {
			n = min(int64(avail/4), defaultMemoryBudget)
		}
	}
	return &memBudget{budget: max(n, 0)}
}

// take returns an empty buffer of capacity n when n (>= 0) bytes fit the
// budget beside the buffers in use.
func (b *memBudget) take(n int64) ([]byte, bool) {
	if b == nil || n < 0 {
		return nil, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inUse+n > b.budget {
		return nil, false
	}
	best := -1
	for i, k := range b.kept {
		if int64(cap(k)) >= n && int64(cap(k)) <= b.budget-b.inUse && (best < 0 || cap(k) < cap(b.kept[best])) {
			best = i
		}
	}
	if best >= 0 {
		buf := b.kept[best]
		b.kept = append(b.kept[:best], b.kept[best+1:]...)
		b.nkept -= int64(cap(buf))
		b.inUse += int64(cap(buf))
		return buf[:0], true
	}
	// Drop kept buffers until a new one fits.
	for len(b.kept) > 0 && b.inUse+b.nkept+n > b.budget {
		b.nkept -= int64(cap(b.kept[0]))
		b.kept = b.kept[1:]
	}
	b.inUse += n
	return make([]byte, 0, n), true
}

// give returns a buffer from take, kept for the next dump.
func (b *memBudget) give(buf []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inUse -= int64(cap(buf))
	if b.inUse+b.nkept+int64(cap(buf)) <= b.budget {
		b.kept = append(b.kept, buf[:0])
		b.nkept += int64(cap(buf))
	}
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
