package dumpfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync/atomic"
)

// File is an open crash dump.
type File struct {
	Header
	Bitmap *BitmapHeader // bitmap and summary dumps
	RDMP   *RDMPHeader   // types 8, 9, 10
	Triage *Triage       // type 4

	// Warnings say what is wrong but still readable: truncation, an
	// encrypted dump, 5-level paging.
	Warnings []string

	name        string
	size        int64
	data        []byte // the mapped file, or nil
	r           io.ReaderAt
	closer      func() error
	headerBytes []byte
	mem         physMem
	arch        Arch
	paging      *pagingMode
	memErr      error                 // set when physical memory cannot be read at all
	nextData    func(off int64) int64 // where data resumes after a hole (-1: none), or nil
	seq         io.ReaderAt           // the open file, for sequential scans by read instead of page faults; nil: use r
	faulted     atomic.Bool           // a read faulted: the file shrank under the mapping
	mapped      bool                  // data is a file mapping: madvise applies (never to a caller's bytes)

	kdbg    *KDBG
	kdbgErr error
	kdbgSet bool
}

// Open opens the named dump read-only and maps it.
func Open(name string) (*File, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := CheckRegular(fi); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fh, err := os.Open(name) // O_RDONLY: a dump is evidence
	if err != nil {
		return nil, err
	}
	// The path may have been swapped since the Stat: check what was opened.
	if fi, err = fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		fh.Close()
		if err == nil {
			err = CheckRegular(fi)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	size := fi.Size()
	data, unmap, err := mapFile(fh, size)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: cannot map: %w", name, err)
	}
	var r io.ReaderAt = fh
	if data != nil {
		r = byteReaderAt(data)
	}
	f, err := newFileWith(name, r, size, data, data != nil, nextDataFunc(fh))
	if err != nil {
		_ = unmap()    // the mapping is only read; err says what went wrong
		_ = fh.Close() // read-only: closing cannot lose data, and err says what went wrong
		return nil, err
	}
	f.seq = fh
	f.closer = func() error {
		e1 := unmap()
		e2 := fh.Close()
		return errors.Join(e1, e2)
	}
	return f, nil
}

// NewFile reads a dump from r, which holds size bytes. name is used in
// error messages.
func NewFile(name string, r io.ReaderAt, size int64) (*File, error) {
	if b, ok := r.(byteReaderAt); ok {
		return newFile(name, r, size, b)
	}
	return newFile(name, r, size, nil)
}

// Close releases the mapping.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c()
}

// Name is the path the dump was opened with.
func (f *File) Name() string { return f.name }

// Size is the size of the dump file in bytes.
func (f *File) Size() int64 { return f.size }

// Arch is the architecture and paging mode.
func (f *File) Arch() Arch { return f.arch }

// PresentPages is the number of physical pages the dump stores.
func (f *File) PresentPages() uint64 { return f.mem.stored() }

// DescribedPages is the number of physical pages the container describes.
func (f *File) DescribedPages() uint64 { return f.mem.described() }

func newFile(name string, r io.ReaderAt, size int64, data []byte) (*File, error) {
	return newFileWith(name, r, size, data, false, nil)
}

func newFileWith(name string, r io.ReaderAt, size int64, data []byte, mapped bool, nextData func(int64) int64) (*File, error) {
	f := &File{name: name, size: size, r: r, data: data, mapped: mapped, nextData: nextData}
	if err := f.guardedInit(); err != nil {
		if errors.Is(err, ErrFileShrank) {
			return nil, err // already names the file
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

func (f *File) guardedInit() (err error) {
	defer f.guard(debug.SetPanicOnFault(true), &err)
	return f.init()
}

func (f *File) init() error {
	if f.size == 0 {
		return errors.New("empty file")
	}
	head, err := f.readAt(0, int(min(f.size, 8)))
	if err != nil {
		return err
	}
	if len(head) < 8 {
		return fmt.Errorf("truncated header: the file is %d bytes", f.size)
	}
	if f.Is64, err = signature(head); err != nil {
		return err
	}
	hsize := int64(headerSize32)
	if f.Is64 {
		hsize = headerSize64
	}
	if f.size < hsize {
		return fmt.Errorf("truncated header: the file is %d bytes, a %s header needs %d", f.size, widthName(f.Is64), hsize)
	}
	if f.headerBytes, err = f.readAt(0, int(hsize)); err != nil {
		return err
	}
	f.Header = *parseHeader(f.headerBytes, f.Is64)
	f.arch = f.Header.Arch()
	if f.arch == ArchUnknown {
		return &FormatError{Off: int64(headerOff(f.Is64, hMachineImageType)), Field: hMachineImageType.String(), Val: f.MachineImageType, Msg: "unknown machine (want 0x14c, 0x1c4, 0x8664 or 0xaa64)"}
	}
	if f.arch.Is64() != f.Is64 {
		return &FormatError{Off: int64(headerOff(f.Is64, hMachineImageType)), Field: hMachineImageType.String(), Val: f.MachineImageType,
			Msg: fmt.Sprintf("does not match the %s header", widthName(f.Is64))}
	}
	parse, ok := containerParsers[f.DumpType]
	if !ok {
		return &FormatError{Off: int64(headerOff(f.Is64, hDumpType)), Field: hDumpType.String(), Val: uint32(f.DumpType), Msg: "unknown dump type"}
	}
	if f.mem, err = parse(f); err != nil {
		return err
	}
	if f.DumpType == TypeTriage {
		if err := f.parseTriage(); err != nil {
			return err
		}
	}
	f.checkWarnings()
	f.paging = pagingModes[f.arch]
	return nil
}

// signature reads the first 8 bytes: PAGEDUMP (32-bit) or PAGEDU64.
func signature(head []byte) (is64 bool, err error) {
	sig, valid := binary.LittleEndian.Uint32(head), binary.LittleEndian.Uint32(head[4:])
	switch {
	case sig == sigMDMP:
		return false, errors.New("user-mode minidump (MDMP), not a kernel crash dump: it holds no kernel pool")
	case sig == sigUSER:
		return false, errors.New("user-mode dump (USERDUMP), not a kernel crash dump")
	case sig == sigPAGE && valid == sigDUMP:
		return false, nil
	case sig == sigPAGE && valid == sigDU64:
		return true, nil
	case sig == sigPAGE && valid == sigZDMP, sig == sigZDMP:
		return false, errors.New("compressed DumpIt/Comae dump (ZDMP): convert it to a plain crash dump first")
	case sig == sigPAGE:
		return false, &FormatError{Off: 4, Field: "ValidDump", Msg: fmt.Sprintf("%q, want DUMP or DU64", head[4:8])}
	}
	return false, fmt.Errorf("not a Windows crash dump (starts with %q, want PAGEDUMP or PAGEDU64)", printable(head))
}

// checkWarnings records what makes the dump partial without making it
// unreadable.
func (f *File) checkWarnings() {
	if f.DumpType == TypeTriage {
		f.memErr = ErrNoPhysicalMemory
		f.Warnings = append(f.Warnings, "triage dump (minidump): it carries no physical memory pages, so no pool data; pool analysis needs a kernel, automatic, active or complete memory dump")
	}
	if f.arch == ArchARM32 && f.DumpType != TypeTriage {
		f.Warnings = append(f.Warnings, unsupportedARM32)
	}
	if f.Attributes&AttrEncryptedDumpData != 0 {
		f.memErr = ErrEncrypted
		f.Warnings = append(f.Warnings, "encrypted dump (Attributes bit 8, EncryptedDumpData): physical memory cannot be read without the key")
	}
	if f.Attributes&AttrInsufficientDumpfileSize != 0 {
		f.Warnings = append(f.Warnings, "the writer reported the dump file was too small for all pages (Attributes bit 2, InsufficientDumpfileSize)")
	}
	// Triage dumps state their own size; their RequiredDumpSpace counts
	// space reserved for secondary data and is larger than real files.
	if t := f.Triage; t != nil && t.SizeOfDump != 0 && int64(t.SizeOfDump) > f.size {
		f.Warnings = append(f.Warnings, fmt.Sprintf("truncated: the file is %d bytes, the triage block says %d", f.size, t.SizeOfDump))
	}
	if f.Triage == nil && f.RequiredDumpSpace != 0 && uint64(f.size) < f.RequiredDumpSpace {
		f.Warnings = append(f.Warnings, fmt.Sprintf("truncated: the file is %d bytes, the header requires %d (%d bytes missing)",
			f.size, f.RequiredDumpSpace, f.RequiredDumpSpace-uint64(f.size)))
	}
	if n := pagesPastEnd(f.mem, f.size); n > 0 {
		f.Warnings = append(f.Warnings, fmt.Sprintf("truncated: %d of %d stored pages lie past the end of the file and read as missing", n, f.mem.stored()))
	}
	if f.arch == ArchAMD64 && (isLA57Address(f.KdDebuggerDataBlock) || isLA57Address(f.PsLoadedModuleList)) {
		f.Warnings = append(f.Warnings, "5-level paging (LA57): kernel addresses are 57 bits wide; virtual memory cannot be translated (not supported)")
	}
}

// ErrEncrypted means the dump's page data is encrypted.
var ErrEncrypted = errors.New("dump data is encrypted")

// ErrLA57 is returned for virtual reads on dumps of machines running
// 5-level paging, which no public tool translates.
var ErrLA57 = errors.New("5-level paging (LA57) is not supported")

// isLA57Address reports a kernel address that is canonical for 57-bit but
// not for 48-bit addressing.
func isLA57Address(va uint64) bool {
	if va == 0 {
		return false
	}
	top48 := va >> 47
	if top48 == 0 || top48 == 1<<17-1 {
		return false
	}
	top57 := va >> 56
	return top57 == 0 || top57 == 0xFF
}

func widthName(is64 bool) string {
	if is64 {
		return "64-bit"
	}
	return "32-bit"
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c >= 0x7F {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

// readAt returns n bytes at off: a slice of the mapping when there is one
// (no copy), else a fresh buffer.
func (f *File) readAt(off int64, n int) ([]byte, error) {
	// off > size-n, not off+n > size: a FirstPage or range offset near
	// 2^63 would overflow the sum and pass.
	if off < 0 || n < 0 || int64(n) > f.size || off > f.size-int64(n) {
		return nil, fmt.Errorf("%d bytes at offset %#x lie past the end of the %d-byte file", n, off, f.size)
	}
	if f.data != nil {
		return f.data[off : off+int64(n) : off+int64(n)], nil
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// byteReaderAt is an in-memory dump (a mapping, or a test's bytes).
type byteReaderAt []byte

func (b byteReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Bytes wraps an in-memory dump for NewFile without copying it.
func Bytes(b []byte) io.ReaderAt { return byteReaderAt(b) }

// ReadableError is nil when the dump's physical memory can be read, and
// otherwise says why not (ErrNoPhysicalMemory, ErrEncrypted).
func (f *File) ReadableError() error { return f.memErr }

// unsupportedARM32 says what an ARM32 kernel dump cannot give.
const unsupportedARM32 = "ARM32 (Windows RT / Windows 10 IoT Core) dump: addresses are translated through its ARMv7 short-descriptor tables (sections, supersections, large and small pages), but Windows' software entries (transition, paged out) are not decoded and the whole-table page walk (pool scan) is not supported; Thumb-2 code in drivers is not decoded for call sites (raw and immediate evidence remain)"
