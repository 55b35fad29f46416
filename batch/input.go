package batch

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/walk"
	"github.com/poolblame/poolblame/pool/snapshot"
)

// kind is what an input holds.
type kind int

const (
	kindDump kind = iota + 1
	kindSnapshot
	kindHTTPErr
	kindPerfmon
)

// Containers a dump or snapshot can come in.
const (
	plainFile = ""
	zipFile   = "zip"
	gzipFile  = "gzip"
	zstdFile  = "zstd"
)

// headSize is how much of an input is read to recognise it: a 64-bit
// dump header, which is also what the re-run key hashes.
const headSize = 0x2000

// input is one dump, snapshot or log found among the paths: a file, or a
// member of a zip.
type input struct {
	path      string // the file on disk
	member    string // the path inside a zip
	container string
	folder    string
	kind      kind
	modTime   time.Time
	size      int64 // bytes of the dump itself, when known; -1 otherwise
	key       string
	err       error // set when the input is known to be unreadable
	order     int
}

func (in *input) name() string {
	if in.member != "" {
		return in.path + ":" + in.member
	}
	return in.path
}

// Signatures recognised at the start of a file.
var (
	sigDump32 = []byte("PAGEDUMP")
	sigDump64 = []byte("PAGEDU64")
	sigZip    = []byte("PK\x03\x04")
	sigZipEnd = []byte("PK\x05\x06") // an empty zip
	sigGzip   = []byte{0x1f, 0x8b}
	sigZstd   = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// looksLikeDump reports a kernel dump signature, or a file that calls
// itself a dump by name; the dump reader says what is wrong with the latter.
func looksLikeDump(head []byte, name string) bool {
	return bytes.HasPrefix(head, sigDump32) || bytes.HasPrefix(head, sigDump64) ||
		strings.EqualFold(path.Ext(strings.ReplaceAll(name, `\`, "/")), ".dmp")
}

// textKind recognises snapshot text and HTTP.SYS logs.
func textKind(head []byte) (kind, bool) {
	switch snapshot.Detect(head) {
	case snapshot.Poolmon, snapshot.PoolmonLog, snapshot.Poolused, snapshot.VMText:
		return kindSnapshot, true
	case snapshot.HTTPErr:
		return kindHTTPErr, true
	case snapshot.PerfmonLog:
		return kindPerfmon, true
	}
	return 0, false
}

// discovery collects the inputs of a run.
type discovery struct {
	inputs   []*input
	unusable []string // paths in folders that are not files to read, with why
	ignored  int
	seen     map[string]bool // absolute paths already taken
}

// discover expands paths (files, folders walked recursively, globs) into
// inputs. A path that names nothing is an error; inside folders, files
// that are neither dumps, archives nor snapshots are counted as ignored.
// Named files that cannot be recognised become failed inputs.
func discover(paths []string) (*discovery, error) {
	d := &discovery{seen: map[string]bool{}}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			if !hasMeta(p) {
				return nil, err
			}
			matches, gerr := filepath.Glob(p)
			if gerr != nil {
				return nil, fmt.Errorf("%s: %w", p, gerr)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: no file matches", p)
			}
			for _, m := range matches {
				if err := d.add(m, true); err != nil {
					return nil, err
				}
			}
			continue
		}
		if fi.IsDir() {
			if err := d.walk(p); err != nil {
				return nil, err
			}
			continue
		}
		if err := d.add(p, true); err != nil {
			return nil, err
		}
	}
	for i, in := range d.inputs {
		in.order = i
	}
	return d, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// walk adds the files under root, following links to folders and files
// (each folder once). A path that cannot be used is named: an unreadable
// folder or a broken link is a failed input, a FIFO or device a note.
func (d *discovery) walk(root string) error {
	return walk.Dir(root, func(p string, _ fs.FileInfo) error {
		return d.add(p, false)
	}, func(p string, why error) {
		var pe *fs.PathError
		if errors.As(why, &pe) || strings.Contains(why.Error(), "broken symbolic link") {
			// An unreadable subfolder or file is one failed input, not the end.
			d.inputs = append(d.inputs, &input{path: p, folder: filepath.Dir(p), kind: kindDump, size: -1,
				err: fmt.Errorf("%s: %w", p, unwrapPath(why))})
			return
		}
		d.unusable = append(d.unusable, fmt.Sprintf("%s: %v", p, why))
	})
}

// unwrapPath drops a PathError's own copy of the path (the message names
// it once). Only when the PathError is the whole message: a wrapper that
// adds words keeps them.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Error() == err.Error() {
		return pe.Err
	}
	return err
}

// add recognises one file. explicit files that are not recognised are
// failed inputs; others found in folders are ignored.
func (d *discovery) add(p string, explicit bool) error {
	fi, err := os.Stat(p)
	if err != nil {
		// Gone or unreadable since it was listed: one failed input.
		d.inputs = append(d.inputs, &input{path: p, folder: filepath.Dir(p), kind: kindDump, size: -1, err: err})
		return nil
	}
	if fi.IsDir() {
		return d.walk(p)
	}
	if !fi.Mode().IsRegular() {
		// Opening a FIFO would block the run: name what the path is.
		d.inputs = append(d.inputs, &input{path: p, folder: filepath.Dir(p), kind: kindDump, size: -1,
			err: fmt.Errorf("%s: %w", p, dumpfile.CheckRegular(fi))})
		return nil
	}
	if abs, err := filepath.Abs(p); err == nil {
		if d.seen[abs] {
			return nil
		}
		d.seen[abs] = true
	}
	base := &input{path: p, folder: filepath.Dir(p), modTime: fi.ModTime(), size: fi.Size()}
	head, err := readHead(p)
	if err != nil {
		base.kind, base.err = kindDump, err
		d.inputs = append(d.inputs, base)
		return nil
	}
	switch {
	case bytes.HasPrefix(head, sigZip), bytes.HasPrefix(head, sigZipEnd):
		d.addZip(base, explicit)
		return nil
	case bytes.HasPrefix(head, sigGzip), bytes.HasPrefix(head, sigZstd):
		d.addCompressed(base, head, explicit)
		return nil
	case looksLikeDump(head, p):
		base.kind = kindDump
		base.key = dumpKey(head, fmt.Sprint(fi.Size()))
	default:
		k, ok := textKind(head)
		if !ok {
			if explicit {
				base.kind = kindDump
				base.err = fmt.Errorf("%s: not a crash dump (no PAGEDUMP/PAGEDU64 signature), archive, pool snapshot or HTTP.SYS log", p)
				d.inputs = append(d.inputs, base)
			} else {
				d.ignored++
			}
			return nil
		}
		base.kind = k
	}
	d.inputs = append(d.inputs, base)
	return nil
}

func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readUpTo(f, headSize)
}

// readUpTo reads at most n bytes; a shorter stream is not an error.
func readUpTo(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, n)
	got, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:got], nil
}

// dumpKey is the re-run key: the SHA-256 of the header bytes and a size.
func dumpKey(head []byte, size string) string {
	h := sha256.Sum256(head[:min(len(head), headSize)])
	return fmt.Sprintf("%x-%s", h, size)
}

// addCompressed recognises a .gz or .zst file by its decompressed start.
func (d *discovery) addCompressed(in *input, head []byte, explicit bool) {
	in.container = gzipFile
	if bytes.HasPrefix(head, sigZstd) {
		in.container = zstdFile
	}
	fileSize := in.size
	in.size = -1
	dec, closeDec, err := openCompressed(in.path, in.container)
	if err != nil {
		in.kind, in.err = kindDump, err
		d.inputs = append(d.inputs, in)
		return
	}
	inner, err := readUpTo(dec, headSize)
	closeDec()
	if err != nil {
		in.kind, in.err = kindDump, fmt.Errorf("%s: %s data is damaged: %w", in.path, in.container, err)
		d.inputs = append(d.inputs, in)
		return
	}
	innerName := strings.TrimSuffix(strings.TrimSuffix(in.path, ".gz"), ".zst")
	switch {
	case bytes.HasPrefix(inner, sigZip), bytes.HasPrefix(inner, sigGzip), bytes.HasPrefix(inner, sigZstd):
		in.kind, in.err = kindDump, fmt.Errorf("%s: an archive inside a compressed file: decompress it first", in.path)
	case looksLikeDump(inner, innerName):
		in.kind = kindDump
		in.key = dumpKey(inner, fmt.Sprintf("z%d", fileSize))
		if in.container == gzipFile {
			in.size = gzipSize(in.path, fileSize)
		} else {
			in.size = zstdSize(in.path)
		}
	default:
		k, ok := textKind(inner)
		if !ok {
			if !explicit {
				d.ignored++
				return
			}
			in.kind, in.err = kindDump, fmt.Errorf("%s: holds neither a crash dump nor a pool snapshot", in.path)
		} else {
			in.kind = k
		}
	}
	d.inputs = append(d.inputs, in)
}

// openCompressed opens a .gz or .zst file as a stream of its content.
func openCompressed(p, container string) (io.Reader, func(), error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	r, closeDec, err := decompressor(f, container)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	return r, func() { closeDec(); f.Close() }, nil
}

func decompressor(r io.Reader, container string) (io.Reader, func(), error) {
	switch container {
	case gzipFile:
		// klauspost's decoder: as fast as gzip -d, where the standard
		// library's took 1.26 times as long.
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip header: %w", err)
		}
		return z, func() { z.Close() }, nil
	case zstdFile:
		// One decoder goroutine: workers already run in parallel.
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd header: %w", err)
		}
		return z, z.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown container %q", container)
}

// gzipSize is the uncompressed size a gzip trailer records (ISIZE, the
// size modulo 4 GiB); -1 when it cannot be right (the file holds several
// members or more than 4 GiB, and ISIZE is then smaller than the file).
func gzipSize(p string, fileSize int64) int64 {
	f, err := os.Open(p)
	if err != nil || fileSize < 18 {
		return -1
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadAt(b[:], fileSize-4); err != nil {
		return -1
	}
	n := int64(binary.LittleEndian.Uint32(b[:]))
	if n < fileSize/1032 { // deflate never shrinks data by more than ~1032:1
		return -1
	}
	return n
}

// zstdSize is the content size the first zstd frame header records, or -1.
func zstdSize(p string) int64 {
	f, err := os.Open(p)
	if err != nil {
		return -1
	}
	defer f.Close()
	head, err := readUpTo(f, zstd.HeaderMaxSize)
	if err != nil {
		return -1
	}
	var h zstd.Header
	if err := h.Decode(head); err != nil || !h.HasFCS {
		return -1
	}
	if h.FrameContentSize > 1<<62 {
		return -1
	}
	return int64(h.FrameContentSize)
}

// addZip lists the dumps and snapshots inside a zip.
func (d *discovery) addZip(zin *input, explicit bool) {
	zr, err := zip.OpenReader(zin.path)
	if err != nil {
		zin.kind, zin.err = kindDump, fmt.Errorf("%s: unreadable zip: %w", zin.path, err)
		d.inputs = append(d.inputs, zin)
		return
	}
	defer zr.Close()
	found := 0
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		in := &input{path: zin.path, member: zf.Name, container: zipFile,
			folder:  filepath.Join(filepath.Dir(zin.path), filepath.FromSlash(path.Dir(zf.Name))),
			modTime: zf.Modified, size: int64(zf.UncompressedSize64)}
		if in.modTime.IsZero() {
			in.modTime = zin.modTime
		}
		head, err := zipHead(zf)
		if err != nil {
			in.kind, in.err = kindDump, fmt.Errorf("%s: %w", in.name(), err)
			d.inputs = append(d.inputs, in)
			found++
			continue
		}
		switch {
		case bytes.HasPrefix(head, sigZip), bytes.HasPrefix(head, sigGzip), bytes.HasPrefix(head, sigZstd):
			in.kind, in.err = kindDump, fmt.Errorf("%s: an archive inside a zip: extract it first", in.name())
		case looksLikeDump(head, zf.Name):
			in.kind = kindDump
			in.key = dumpKey(head, fmt.Sprintf("%d-%08x", zf.UncompressedSize64, zf.CRC32))
		default:
			k, ok := textKind(head)
			if !ok {
				d.ignored++
				continue
			}
			in.kind = k
		}
		d.inputs = append(d.inputs, in)
		found++
	}
	if found == 0 && explicit {
		zin.kind, zin.err = kindDump, fmt.Errorf("%s: the zip holds no crash dump or pool snapshot", zin.path)
		d.inputs = append(d.inputs, zin)
	}
}

func zipHead(zf *zip.File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readUpTo(rc, headSize)
}
