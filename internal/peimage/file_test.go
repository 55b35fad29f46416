package peimage_test

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/internal/peimage"
	"github.com/poolblame/poolblame/pe/petest"
)

// Offsets in the images petest builds, stated from the format and
// petest's layout, not taken from the package: e_lfanew is 0x80, so the
// file header is at 0x84, the optional header at 0x98.
const (
	ntAt         = 0x80
	fileHeaderAt = ntAt + 4
	optAt        = fileHeaderAt + 20
)

func build(t testing.TB, machine uint16) []byte {
	t.Helper()
	img, err := petest.Build(petest.Driver{Machine: machine, AllocTags: []uint32{petest.Tag("Leak")}, TimeDateStamp: 0x5F000000})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestAgainstDebugPE reads the builders' images and compares every field
// with what debug/pe reads from the same bytes.
func TestAgainstDebugPE(t *testing.T) {
	for _, m := range []struct {
		name    string
		machine uint16
	}{{"x86", petest.X86}, {"x64", petest.X64}, {"arm64", petest.ARM64}, {"armnt", petest.ARMNT}} {
		t.Run(m.name, func(t *testing.T) {
			img := build(t, m.machine)
			got, err := peimage.NewFile(bytes.NewReader(img), int64(len(img)))
			if err != nil {
				t.Fatal(err)
			}
			want, err := pe.NewFile(bytes.NewReader(img))
			if err != nil {
				t.Fatal(err)
			}
			if got.DOS.Lfanew != ntAt {
				t.Errorf("e_lfanew %#x, want %#x", got.DOS.Lfanew, ntAt)
			}
			fh := want.FileHeader
			if g := got.FileHeader; g.Machine != fh.Machine || g.NumberOfSections != fh.NumberOfSections || g.TimeDateStamp != fh.TimeDateStamp ||
				g.SizeOfOptionalHeader != fh.SizeOfOptionalHeader || g.Characteristics != fh.Characteristics {
				t.Errorf("file header %+v, want %+v", g, fh)
			}
			var base uint64
			var sizeOfImage, sizeOfHeaders, checkSum uint32
			var dirs []pe.DataDirectory
			switch oh := want.OptionalHeader.(type) {
			case *pe.OptionalHeader32:
				base, sizeOfImage, sizeOfHeaders, checkSum, dirs = uint64(oh.ImageBase), oh.SizeOfImage, oh.SizeOfHeaders, oh.CheckSum, oh.DataDirectory[:oh.NumberOfRvaAndSizes]
			case *pe.OptionalHeader64:
				base, sizeOfImage, sizeOfHeaders, checkSum, dirs = oh.ImageBase, oh.SizeOfImage, oh.SizeOfHeaders, oh.CheckSum, oh.DataDirectory[:oh.NumberOfRvaAndSizes]
			}
			if got.Is64() != (m.machine == petest.X64 || m.machine == petest.ARM64) {
				t.Errorf("Is64 %t for %s", got.Is64(), m.name)
			}
			if got.ImageBase() != base || got.SizeOfImage() != sizeOfImage || got.SizeOfHeaders() != sizeOfHeaders || got.CheckSum() != checkSum {
				t.Errorf("ImageBase %#x SizeOfImage %#x SizeOfHeaders %#x CheckSum %#x, want %#x %#x %#x %#x",
					got.ImageBase(), got.SizeOfImage(), got.SizeOfHeaders(), got.CheckSum(), base, sizeOfImage, sizeOfHeaders, checkSum)
			}
			if len(got.DataDirectory) != len(dirs) {
				t.Fatalf("%d directories, want %d", len(got.DataDirectory), len(dirs))
			}
			for i, d := range dirs {
				if g, _ := got.Directory(i); g.VirtualAddress != d.VirtualAddress || g.Size != d.Size {
					t.Errorf("directory %d %+v, want %+v", i, g, d)
				}
			}
			if imp, ok := got.Directory(peimage.DirImport); !ok || imp.VirtualAddress == 0 {
				t.Errorf("no import directory: %+v", imp)
			}
			if _, ok := got.Directory(16); ok {
				t.Error("a 17th directory")
			}
			if len(got.Sections) != len(want.Sections) {
				t.Fatalf("%d sections, want %d", len(got.Sections), len(want.Sections))
			}
			for i, s := range want.Sections {
				g := got.Sections[i]
				if g.NameString() != s.Name || g.VirtualAddress != s.VirtualAddress || g.VirtualSize != s.VirtualSize ||
					g.SizeOfRawData != s.Size || g.PointerToRawData != s.Offset || g.Characteristics != s.Characteristics {
					t.Errorf("section %d %+v, want %+v", i, g, s.SectionHeader)
				}
			}
			// ImageBase sits at 0x18 (PE32+) or 0x1C (PE32) of the optional header.
			at := got.ImageBaseOffset()
			if at != optAt+0x18 && at != optAt+0x1C {
				t.Fatalf("ImageBase offset %#x", at)
			}
			var fromBytes uint64
			if got.Is64() {
				fromBytes = binary.LittleEndian.Uint64(img[at:])
			} else {
				fromBytes = uint64(binary.LittleEndian.Uint32(img[at:]))
			}
			if fromBytes != base {
				t.Errorf("ImageBase at %#x holds %#x, want %#x", at, fromBytes, base)
			}
			if n, err := peimage.CheckSignature(bytes.NewReader(img), int64(len(img))); err != nil || n != ntAt {
				t.Errorf("CheckSignature %#x, %v", n, err)
			}
		})
	}
}

// put returns a copy of b with v written little-endian at off, in size bytes.
func put(b []byte, off int, v uint64, size int) []byte {
	c := bytes.Clone(b)
	switch size {
	case 2:
		binary.LittleEndian.PutUint16(c[off:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(c[off:], uint32(v))
	}
	return c
}

func TestDamaged(t *testing.T) {
	good := build(t, petest.X64)
	const (
		numberOfSections = fileHeaderAt + 2
		sizeOfOptional   = fileHeaderAt + 16
		numberOfRva      = optAt + 108 // PE32+
		sizeOfHeaders    = optAt + 60
		sectionTable     = optAt + 0xF0
	)
	// Two sections at the same RVA: overlapping, but the headers are
	// well formed; the reader reports them as stated.
	overlap := put(put(good, sectionTable+40+12, 0x1000, 4), sectionTable+40+8, 0x3000, 4)
	tests := []struct {
		name   string
		data   []byte
		field  string // "" means the headers read
		offset int64
		msg    string
	}{
		{"empty", nil, "DOS header", 0, "0 bytes"},
		{"shorter than a DOS header", good[:0x3F], "DOS header", 0, "63 bytes"},
		{"not MZ", put(good, 0, 0x4D5A, 2), "e_magic", 0, `"ZM"`},
		{"e_lfanew past the end", put(good, 0x3C, 0xFFFFFFF0, 4), "e_lfanew", 0x3C, "0xfffffff0 points past the end"},
		{"e_lfanew just past the end", good[:ntAt+23], "e_lfanew", 0x3C, "points past the end of the 151 bytes"},
		{"no PE signature", put(good, ntAt, 0x4E45, 4), "PE signature", ntAt, `"EN\x00\x00"`},
		{"huge NumberOfSections", put(good, numberOfSections, 0xFFFF, 2), "NumberOfSections", numberOfSections, "65535, more than the loader's 96"},
		{"sections past SizeOfHeaders", put(good, numberOfSections, 40, 2), "SizeOfHeaders", sizeOfHeaders, "0x400, but the section table ends at 0x7c8"},
		{"sections past the end", good[:sectionTable+3*40-1], "NumberOfSections", numberOfSections, "run past the end"},
		{"SizeOfOptionalHeader past the end", put(good, sizeOfOptional, 0xFFFF, 2), "SizeOfOptionalHeader", sizeOfOptional, "65535 bytes at 0x98 run past the end"},
		{"no optional header", put(good, sizeOfOptional, 0, 2), "SizeOfOptionalHeader", sizeOfOptional, "no room"},
		{"optional header cut short", put(good, sizeOfOptional, 0x60, 2), "SizeOfOptionalHeader", sizeOfOptional, "shorter than the 112"},
		{"bad optional magic", put(good, optAt, 0x999, 2), "optional header Magic", optAt, "0x999, want 0x10b or 0x20b"},
		{"directories past the optional header", put(good, sizeOfOptional, 112+8*4, 2), "NumberOfRvaAndSizes", numberOfRva, "16 directories do not fit in the 144-byte"},
		{"NumberOfRvaAndSizes huge: 16 read", put(good, numberOfRva, 0xFFFFFFFF, 4), "", 0, ""},
		{"NumberOfRvaAndSizes zero", put(good, numberOfRva, 0, 4), "", 0, ""},
		{"overlapping sections", overlap, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := peimage.NewFile(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(f.DataDirectory) > 16 || len(f.Sections) != 3 {
					t.Errorf("%d directories, %d sections", len(f.DataDirectory), len(f.Sections))
				}
				return
			}
			var fe *peimage.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a FormatError", err)
			}
			if fe.Field != tt.field || fe.Offset != tt.offset || !strings.Contains(fe.Msg, tt.msg) {
				t.Errorf("error %q (field %q at %#x), want field %q at %#x saying %q", err, fe.Field, fe.Offset, tt.field, tt.offset, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	f, err := peimage.NewFile(bytes.NewReader(overlap), int64(len(overlap)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := f.Sections[0], f.Sections[1]; a.VirtualAddress != b.VirtualAddress || b.VirtualSize != 0x3000 {
		t.Errorf("overlapping sections read as %+v and %+v", a, b)
	}
	f, err = peimage.NewFile(bytes.NewReader(put(good, numberOfRva, 0, 4)), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Directory(peimage.DirExport); ok || len(f.DataDirectory) != 0 {
		t.Errorf("NumberOfRvaAndSizes 0 gives %d directories", len(f.DataDirectory))
	}
}

// failingReader holds the first limit bytes of an image; past them every
// read fails as a dump's absent page does.
type failingReader struct {
	b     []byte
	limit int64
}

var errGone = errors.New("page gone")

func (r failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.limit {
		return 0, errGone
	}
	return copy(p, r.b[off:]), nil
}

// TestReadErrorsKeepTheirChain: a read that fails is not a format error,
// and callers can still match what the reader said.
func TestReadErrorsKeepTheirChain(t *testing.T) {
	good := build(t, petest.X86)
	for _, limit := range []int64{0, 0x40, ntAt + 4, optAt + 2, optAt + 0xE0} {
		_, err := peimage.NewFile(failingReader{good, limit}, int64(len(good)))
		var fe *peimage.FormatError
		if !errors.Is(err, errGone) || errors.As(err, &fe) {
			t.Errorf("limit %#x: error %v, want the reader's own", limit, err)
		}
	}
}

// TestInDump reads the headers of images mapped in a dump's memory, as
// pool, poolscan, pe and dumpfile do, through dumpfile's reader of kernel
// virtual memory: a generated module, a petest driver and one whose
// header page is paged out.
func TestInDump(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeBitmapFull, Build: 19041})
	gen := b.AddModule(dumptest.Module{Name: "gen.sys", Size: 0x6000, TimeDateStamp: 0x12345678, CheckSum: 0xABCD})
	img := build(t, petest.X64)
	drv := b.AddModule(dumptest.Module{Name: "drv.sys", Image: img})
	gone := b.AddModule(dumptest.Module{Name: "gone.sys", Image: img, PagedOut: []int{0}})
	f := openDump(t, b)
	h, err := f.ImageHeaders(gen)
	if err != nil {
		t.Fatal(err)
	}
	if h.FileHeader.TimeDateStamp != 0x12345678 || h.CheckSum() != 0xABCD || h.SizeOfImage() != 0x6000 || h.ImageBase() != gen {
		t.Errorf("generated module: stamp %#x sum %#x size %#x base %#x", h.FileHeader.TimeDateStamp, h.CheckSum(), h.SizeOfImage(), h.ImageBase())
	}
	h, err = f.ImageHeaders(drv)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Sections) != 3 || h.Sections[2].NameString() != ".data" || h.Sections[2].Characteristics&peimage.ScnMemWrite == 0 {
		t.Errorf("petest driver sections %+v", h.Sections)
	}
	if _, err := f.ImageHeaders(gone); !errors.Is(err, dumpfile.ErrNotMapped) {
		t.Errorf("paged-out header page: %v, want ErrNotMapped", err)
	}
	// The module list reads each module's identity through the same reader.
	mods, err := f.Modules()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, m := range mods {
		switch m.Name {
		case "gen.sys", "drv.sys", "gone.sys":
			seen++
		}
		switch m.Name {
		case "gen.sys":
			if m.HeaderErr != nil || m.TimeDateStamp != 0x12345678 || m.CheckSum != 0xABCD || m.SizeOfImage != 0x6000 {
				t.Errorf("%s: %+v", m.Name, m)
			}
		case "drv.sys":
			if m.HeaderErr != nil || m.TimeDateStamp != 0x5F000000 || m.SizeOfImage != h.SizeOfImage() {
				t.Errorf("%s: %+v", m.Name, m)
			}
		case "gone.sys":
			if !errors.Is(m.HeaderErr, dumpfile.ErrNotMapped) || m.TimeDateStamp != 0 {
				t.Errorf("%s: header error %v, stamp %#x", m.Name, m.HeaderErr, m.TimeDateStamp)
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d of the 3 modules listed", seen)
	}
}

// TestMirrorSizes: the types mirror winnt.h's structures byte for byte.
func TestMirrorSizes(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{
		{peimage.DOSHeader{}, 64}, {peimage.FileHeader{}, 20}, {peimage.OptionalHeader32{}, 96},
		{peimage.OptionalHeader64{}, 112}, {peimage.DataDirectory{}, 8}, {peimage.SectionHeader{}, 40},
	} {
		if got := binary.Size(c.v); got != c.want {
			t.Errorf("%T is %d bytes, want %d", c.v, got, c.want)
		}
	}
}

// TestExportDirectory decodes the export directory of a module that
// dumptest generates with exports, read from the dump's memory, and
// follows its name table.
func TestExportDirectory(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeBitmapFull, Build: 19041})
	base := b.AddModule(dumptest.Module{Name: "ntoskrnl.exe", Size: 0x4000, Exports: []string{"ExFreePoolWithTag", "ExAllocatePoolWithTag"}})
	f := openDump(t, b)
	h, err := f.ImageHeaders(base)
	if err != nil {
		t.Fatal(err)
	}
	de, ok := h.Directory(peimage.DirExport)
	if !ok || de.Size < 40 {
		t.Fatalf("export directory entry %+v", de)
	}
	raw := make([]byte, 40)
	if _, err := f.ReadVirtual(base+uint64(de.VirtualAddress), raw); err != nil {
		t.Fatal(err)
	}
	d, err := peimage.DecodeExportDirectory(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.NumberOfNames != 2 || d.NumberOfFunctions != 2 {
		t.Fatalf("export directory %+v, want 2 names and 2 functions", d)
	}
	var names []string
	for i := range d.NumberOfNames {
		rva, err := f.ReadU32(base + uint64(d.AddressOfNames) + 4*uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		s := make([]byte, 32)
		n, _ := f.ReadVirtual(base+uint64(rva), s)
		if i := bytes.IndexByte(s[:n], 0); i >= 0 {
			names = append(names, string(s[:i]))
		}
	}
	if strings.Join(names, ",") != "ExAllocatePoolWithTag,ExFreePoolWithTag" {
		t.Errorf("names %q, want both routines in sorted order", names)
	}
	if _, err := peimage.DecodeExportDirectory(raw[:39]); err == nil {
		t.Error("39 bytes decoded as an export directory")
	}
}

// openDump opens the dump b describes, from memory.
func openDump(t testing.TB, b *dumptest.Builder) *dumpfile.File {
	t.Helper()
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.NewFile("test.dmp", dumpfile.Bytes(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
