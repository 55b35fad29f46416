package peimage

import (
	"encoding/binary"
	"fmt"
	"io"
)

// File is the headers of one PE image.
type File struct {
	DOS        DOSHeader
	FileHeader FileHeader
	// OptionalHeader is *OptionalHeader32 or *OptionalHeader64, as in
	// debug/pe.
	OptionalHeader any
	// DataDirectory holds min(NumberOfRvaAndSizes, 16) entries.
	DataDirectory []DataDirectory
	Sections      []SectionHeader
}

// NewFile reads the headers of the image r holds. size is how many bytes
// from offset 0 the caller allows to be read: the file's size, or the
// first page of an image in memory, where its headers are. Nothing past
// size is read, and no count in the headers makes it allocate more than
// MaxSections section headers.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	f := &File{}
	var err error
	if f.DOS, err = ReadDOSHeader(r, size); err != nil {
		return nil, err
	}
	if err := f.readNT(r, size); err != nil {
		return nil, err
	}
	if err := f.readOptional(r, size); err != nil {
		return nil, err
	}
	if err := f.readSections(r, size); err != nil {
		return nil, err
	}
	return f, nil
}

// ReadDOSHeader reads the DOS header and checks e_magic, without looking
// further: an MZ file may be another kind of executable.
func ReadDOSHeader(r io.ReaderAt, size int64) (DOSHeader, error) {
	var h DOSHeader
	if size < dosHeaderSize {
		return h, &FormatError{"DOS header", 0, fmt.Sprintf("%d bytes, shorter than a DOS header", max(size, 0))}
	}
	if err := read(r, 0, "DOS header", &h); err != nil {
		return h, err
	}
	if h.Magic != dosMagic {
		return h, &FormatError{"e_magic", 0, fmt.Sprintf("%q, want \"MZ\"", []byte{byte(h.Magic), byte(h.Magic >> 8)})}
	}
	return h, nil
}

// CheckSignature reads the DOS header and the PE signature it points to:
// whether the bytes are a PE image at all, before a parser is trusted
// with them. It returns e_lfanew.
func CheckSignature(r io.ReaderAt, size int64) (int64, error) {
	dos, err := ReadDOSHeader(r, size)
	if err != nil {
		return 0, err
	}
	return checkSignature(r, size, dos)
}

func checkSignature(r io.ReaderAt, size int64, dos DOSHeader) (int64, error) {
	nt := int64(dos.Lfanew)
	if nt+signatureSize+fileHeaderSize > size {
		return 0, &FormatError{"e_lfanew", lfanewOffset, fmt.Sprintf("%#x points past the end of the %d bytes", nt, size)}
	}
	var sig [signatureSize]byte
	if err := read(r, nt, "PE signature", &sig); err != nil {
		return 0, err
	}
	if string(sig[:]) != ntMagic {
		return 0, &FormatError{"PE signature", nt, fmt.Sprintf("%q, want \"PE\\0\\0\"", sig[:])}
	}
	return nt, nil
}

func (f *File) readNT(r io.ReaderAt, size int64) error {
	nt, err := checkSignature(r, size, f.DOS)
	if err != nil {
		return err
	}
	if err := read(r, nt+signatureSize, "file header", &f.FileHeader); err != nil {
		return err
	}
	if n := f.FileHeader.NumberOfSections; n > MaxSections {
		return &FormatError{"NumberOfSections", f.fileHeaderOffset() + fhNumberOfSections, fmt.Sprintf("%d, more than the loader's %d", n, MaxSections)}
	}
	return nil
}

func (f *File) readOptional(r io.ReaderAt, size int64) error {
	opt, optSize := f.OptionalHeaderOffset(), int64(f.FileHeader.SizeOfOptionalHeader)
	sizeField := f.fileHeaderOffset() + fhSizeOfOptionalHeader
	if opt+optSize > size {
		return &FormatError{"SizeOfOptionalHeader", sizeField, fmt.Sprintf("%d bytes at %#x run past the end of the %d bytes", optSize, opt, size)}
	}
	if optSize < 2 {
		return &FormatError{"SizeOfOptionalHeader", sizeField, fmt.Sprintf("%d bytes, no room for the optional header", optSize)}
	}
	var magic uint16
	if err := read(r, opt, "optional header Magic", &magic); err != nil {
		return err
	}
	var h any
	var fixed int64
	switch magic {
	case Magic32:
		h, fixed = &OptionalHeader32{}, opt32Size
	case Magic64:
		h, fixed = &OptionalHeader64{}, opt64Size
	default:
		return &FormatError{"optional header Magic", opt, fmt.Sprintf("%#x, want 0x10b or 0x20b", magic)}
	}
	if optSize < fixed {
		return &FormatError{"SizeOfOptionalHeader", sizeField, fmt.Sprintf("%d bytes, shorter than the %d of the optional header's fixed part", optSize, fixed)}
	}
	if err := read(r, opt, "optional header", h); err != nil {
		return err
	}
	f.OptionalHeader = h
	n := f.common().NumberOfRvaAndSizes
	// The loader reads no more than 16 directories, whatever the count.
	dirs := min(int64(n), MaxDirs)
	if fixed+dirs*directorySize > optSize {
		return &FormatError{"NumberOfRvaAndSizes", opt + fixed - 4, fmt.Sprintf("%d directories do not fit in the %d-byte optional header", n, optSize)}
	}
	f.DataDirectory = make([]DataDirectory, dirs)
	return read(r, opt+fixed, "data directories", f.DataDirectory)
}

func (f *File) readSections(r io.ReaderAt, size int64) error {
	at, n := f.SectionTableOffset(), int64(f.FileHeader.NumberOfSections)
	end := at + n*sectionSize
	if end > size {
		return &FormatError{"NumberOfSections", f.fileHeaderOffset() + fhNumberOfSections,
			fmt.Sprintf("%d section headers at %#x run past the end of the %d bytes", n, at, size)}
	}
	// The headers the loader maps end at SizeOfHeaders; a table past it
	// overlaps the first section's bytes.
	if h := int64(f.SizeOfHeaders()); end > h {
		return &FormatError{"SizeOfHeaders", f.OptionalHeaderOffset() + optSizeOfHeaders,
			fmt.Sprintf("%#x, but the section table ends at %#x", h, end)}
	}
	f.Sections = make([]SectionHeader, n)
	return read(r, at, "section table", f.Sections)
}

// read decodes the little-endian structure v at off. The caller has
// checked that it lies within the bytes it may read, so an error is the
// reader's own (a page a dump does not hold) and keeps its chain.
func read(r io.ReaderAt, off int64, field string, v any) error {
	buf := make([]byte, binary.Size(v))
	if _, err := r.ReadAt(buf, off); err != nil {
		return fmt.Errorf("%s at offset %#x unreadable: %w", field, off, err)
	}
	_, err := binary.Decode(buf, binary.LittleEndian, v)
	return err
}

func (f *File) fileHeaderOffset() int64 { return int64(f.DOS.Lfanew) + signatureSize }

// OptionalHeaderOffset is the offset of the optional header.
func (f *File) OptionalHeaderOffset() int64 { return f.fileHeaderOffset() + fileHeaderSize }

// SectionTableOffset is the offset of the first section header.
func (f *File) SectionTableOffset() int64 {
	return f.OptionalHeaderOffset() + int64(f.FileHeader.SizeOfOptionalHeader)
}

// Is64 says whether the image is PE32+.
func (f *File) Is64() bool {
	_, ok := f.OptionalHeader.(*OptionalHeader64)
	return ok
}

// ImageBase is the optional header's ImageBase. In an image read from
// memory the loader has set it to the address the image was relocated to.
func (f *File) ImageBase() uint64 {
	switch h := f.OptionalHeader.(type) {
	case *OptionalHeader32:
		return uint64(h.ImageBase)
	case *OptionalHeader64:
		return h.ImageBase
	}
	return 0
}

// ImageBaseOffset is the offset of the ImageBase field, 4 bytes wide in
// PE32, 8 in PE32+.
func (f *File) ImageBaseOffset() int64 {
	if f.Is64() {
		return f.OptionalHeaderOffset() + optImageBase64
	}
	return f.OptionalHeaderOffset() + optImageBase32
}

// SizeOfImage is the optional header's SizeOfImage.
func (f *File) SizeOfImage() uint32 { return f.common().SizeOfImage }

// SizeOfHeaders is the optional header's SizeOfHeaders.
func (f *File) SizeOfHeaders() uint32 { return f.common().SizeOfHeaders }

// CheckSum is the optional header's CheckSum.
func (f *File) CheckSum() uint32 { return f.common().CheckSum }

// commonFields are the optional header's fields that PE32 and PE32+ share.
type commonFields struct{ SizeOfImage, SizeOfHeaders, CheckSum, NumberOfRvaAndSizes uint32 }

func (f *File) common() commonFields {
	switch h := f.OptionalHeader.(type) {
	case *OptionalHeader32:
		return commonFields{h.SizeOfImage, h.SizeOfHeaders, h.CheckSum, h.NumberOfRvaAndSizes}
	case *OptionalHeader64:
		return commonFields{h.SizeOfImage, h.SizeOfHeaders, h.CheckSum, h.NumberOfRvaAndSizes}
	}
	return commonFields{}
}

// Directory returns data directory i, and false when the image has fewer
// directories.
func (f *File) Directory(i int) (DataDirectory, bool) {
	if i < 0 || i >= len(f.DataDirectory) {
		return DataDirectory{}, false
	}
	return f.DataDirectory[i], true
}

// DirectoryOffset is the offset of data directory i's entry.
func (f *File) DirectoryOffset(i int) int64 {
	fixed := int64(opt32Size)
	if f.Is64() {
		fixed = opt64Size
	}
	return f.OptionalHeaderOffset() + fixed + int64(i)*directorySize
}
