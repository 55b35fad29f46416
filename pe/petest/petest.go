// Package petest writes small synthetic Windows kernel drivers for tests:
// native PE32 (x86), PE32+ (x64) and ARM64 images whose code allocates and
// frees pool with known tags through ntoskrnl.exe's ExAllocatePoolWithTag
// and ExFreePoolWithTag, the way compiled drivers do, optionally with a
// version resource.
package petest

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"

	"github.com/tc-hib/winres"
	"github.com/tc-hib/winres/version"
)

// Machine types.
const (
	X86   uint16 = pe.IMAGE_FILE_MACHINE_I386
	X64   uint16 = pe.IMAGE_FILE_MACHINE_AMD64
	ARM64 uint16 = pe.IMAGE_FILE_MACHINE_ARM64
	ARMNT uint16 = pe.IMAGE_FILE_MACHINE_ARMNT // ARM32, Thumb-2 code
)

// Driver describes the image to build.
type Driver struct {
	Machine uint16
	// AllocTags are allocated with ExAllocatePoolWithTag and freed with
	// ExFreePoolWithTag, the tag an immediate in the tag argument.
	AllocTags []uint32
	// WrappedTags are allocated through a local function that takes the
	// tag as its second argument and passes it on.
	WrappedTags []uint32
	// OtherArgTags are loaded as immediates into an argument that is not
	// the tag (the tag argument is 0): immediates, never call sites.
	OtherArgTags []uint32
	// RoutineInRegTags (x86 only) are allocated by a function that loads
	// ExAllocatePoolWithTag from the IAT into edi in its prologue and
	// calls edi on a path reached only by a conditional branch, placed
	// after an early-exit jmp (the shape of npf.sys).
	RoutineInRegTags []uint32
	// EarlyExitTags (x86 only) are allocated through a local stdcall
	// wrapper of four arguments that takes the tag as its fourth and
	// pushes it ("push [ebp+14h]") after an early-exit jmp, on a path
	// reached only by a conditional branch.
	EarlyExitTags []uint32
	// DataTags appear only as bytes in the .data section.
	DataTags      []uint32
	TimeDateStamp uint32
	Version       *Version
	// PDB, when set, adds a debug directory with one CodeView entry: an
	// RSDS record (PDB 7.0: "RSDS", GUID, age, the path NUL-terminated),
	// placed in .rdata as the linker places it.
	PDB *PDB
}

// PDB is the CodeView record to write.
type PDB struct {
	Path string
	GUID [16]byte // as stored: Data1, Data2, Data3 little-endian, then Data4
	Age  uint32
}

// Version is the version resource to attach.
type Version struct {
	CompanyName, FileDescription, ProductName, OriginalFilename, LegalCopyright string
	FileVersion, ProductVersion                                                 [4]uint16
}

// Tag converts a display string of four characters to a tag value.
func Tag(s string) uint32 {
	var b [4]byte
	copy(b[:], "    ")
	copy(b[:], s)
	return binary.LittleEndian.Uint32(b[:])
}

// Layout constants of the generated image.
const (
	fileAlign    = 0x200
	sectAlign    = 0x1000
	headersSize  = 0x400
	peOffset     = 0x80
	poolTypeNPNx = 0x200 // NonPagedPoolNx
	allocSize    = 0x100
)

type imports struct {
	alloc, free uint32 // IAT slot RVAs
}

// Build returns the image bytes.
func Build(d Driver) ([]byte, error) {
	var ptr uint32
	var base uint64
	switch d.Machine {
	case X86, ARMNT:
		ptr, base = 4, 0x10000
	case X64, ARM64:
		ptr, base = 8, 0x140000000
	default:
		return nil, fmt.Errorf("petest: machine %#x not supported", d.Machine)
	}
	if d.Machine != X86 && len(d.RoutineInRegTags)+len(d.EarlyExitTags) > 0 {
		return nil, fmt.Errorf("petest: RoutineInRegTags and EarlyExitTags are x86 shapes; machine %#x", d.Machine)
	}
	// Sections: .text at 0x1000, then .rdata (imports), then .data. The
	// code needs the IAT address, so .rdata's RVA is fixed from an upper
	// bound of the code size.
	const textRVA = 0x1000
	codeMax := uint32(256 + 64*(len(d.AllocTags)+len(d.WrappedTags)+len(d.OtherArgTags)+len(d.RoutineInRegTags)+len(d.EarlyExitTags)))
	rdataRVA := alignUp(textRVA+codeMax, sectAlign)
	rdata, imp, importDir, iatDir := buildImports(rdataRVA, ptr)
	var code []byte
	switch d.Machine {
	case X86:
		code = codeX86(d, textRVA, imp, uint32(base))
	case X64:
		code = codeX64(d, textRVA, imp)
	case ARM64:
		code = codeARM64(d, textRVA, imp)
	case ARMNT:
		code = codeThumb(d, textRVA, imp, uint32(base))
	}
	if uint32(len(code)) > codeMax {
		return nil, fmt.Errorf("petest: code is %d bytes, more than the %d reserved", len(code), codeMax)
	}
	var debugDir pe.DataDirectory
	if d.PDB != nil {
		// .rdata follows the headers and .text in the file.
		rdataRaw := headersSize + alignUp(uint32(len(code)), fileAlign)
		rdata, debugDir = appendCodeView(rdata, rdataRVA, rdataRaw, d.PDB, d.TimeDateStamp)
	}
	data := []byte("synthetic driver data\x00\x00\x00")
	for _, t := range d.DataTags {
		data = binary.LittleEndian.AppendUint32(data, t)
		data = append(data, 0, 0, 0, 0)
	}
	dataRVA := alignUp(rdataRVA+uint32(len(rdata)), sectAlign)
	sizeOfImage := alignUp(dataRVA+uint32(len(data)), sectAlign)

	type sec struct {
		name  string
		rva   uint32
		body  []byte
		flags uint32
	}
	secs := []sec{
		{".text", textRVA, code, pe.IMAGE_SCN_CNT_CODE | pe.IMAGE_SCN_MEM_EXECUTE | pe.IMAGE_SCN_MEM_READ},
		{".rdata", rdataRVA, rdata, pe.IMAGE_SCN_CNT_INITIALIZED_DATA | pe.IMAGE_SCN_MEM_READ},
		{".data", dataRVA, data, pe.IMAGE_SCN_CNT_INITIALIZED_DATA | pe.IMAGE_SCN_MEM_READ | pe.IMAGE_SCN_MEM_WRITE},
	}
	var dirs [16]pe.DataDirectory
	dirs[pe.IMAGE_DIRECTORY_ENTRY_IMPORT] = importDir
	dirs[pe.IMAGE_DIRECTORY_ENTRY_IAT] = iatDir
	dirs[pe.IMAGE_DIRECTORY_ENTRY_DEBUG] = debugDir

	var out bytes.Buffer
	dos := make([]byte, peOffset)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3C:], peOffset)
	out.Write(dos)
	out.WriteString("PE\x00\x00")
	fh := pe.FileHeader{
		Machine:          d.Machine,
		NumberOfSections: uint16(len(secs)),
		TimeDateStamp:    d.TimeDateStamp,
		Characteristics:  pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_LARGE_ADDRESS_AWARE,
	}
	if ptr == 4 {
		fh.SizeOfOptionalHeader = uint16(binary.Size(pe.OptionalHeader32{}))
		fh.Characteristics = pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_32BIT_MACHINE
	} else {
		fh.SizeOfOptionalHeader = uint16(binary.Size(pe.OptionalHeader64{}))
	}
	// binary.Write into a bytes.Buffer of fixed-size structs cannot fail.
	_ = binary.Write(&out, binary.LittleEndian, fh)
	codeSize := alignUp(uint32(len(code)), fileAlign)
	initSize := alignUp(uint32(len(rdata)), fileAlign) + alignUp(uint32(len(data)), fileAlign)
	const native = 1 // IMAGE_SUBSYSTEM_NATIVE
	if ptr == 4 {
		_ = binary.Write(&out, binary.LittleEndian, pe.OptionalHeader32{
			Magic: 0x10B, MajorLinkerVersion: 14, SizeOfCode: codeSize, SizeOfInitializedData: initSize,
			AddressOfEntryPoint: textRVA, BaseOfCode: textRVA, BaseOfData: rdataRVA, ImageBase: uint32(base),
			SectionAlignment: sectAlign, FileAlignment: fileAlign, MajorOperatingSystemVersion: 10,
			MajorImageVersion: 10, MajorSubsystemVersion: 10, SizeOfImage: sizeOfImage, SizeOfHeaders: headersSize,
			Subsystem: native, DllCharacteristics: pe.IMAGE_DLLCHARACTERISTICS_NX_COMPAT,
			SizeOfStackReserve: 0x40000, SizeOfStackCommit: 0x1000, SizeOfHeapReserve: 0x100000,
			SizeOfHeapCommit: 0x1000, NumberOfRvaAndSizes: 16, DataDirectory: dirs,
		})
	} else {
		_ = binary.Write(&out, binary.LittleEndian, pe.OptionalHeader64{
			Magic: 0x20B, MajorLinkerVersion: 14, SizeOfCode: codeSize, SizeOfInitializedData: initSize,
			AddressOfEntryPoint: textRVA, BaseOfCode: textRVA, ImageBase: base,
			SectionAlignment: sectAlign, FileAlignment: fileAlign, MajorOperatingSystemVersion: 10,
			MajorImageVersion: 10, MajorSubsystemVersion: 10, SizeOfImage: sizeOfImage, SizeOfHeaders: headersSize,
			Subsystem: native, DllCharacteristics: pe.IMAGE_DLLCHARACTERISTICS_NX_COMPAT,
			SizeOfStackReserve: 0x40000, SizeOfStackCommit: 0x1000, SizeOfHeapReserve: 0x100000,
			SizeOfHeapCommit: 0x1000, NumberOfRvaAndSizes: 16, DataDirectory: dirs,
		})
	}
	raw := uint32(headersSize)
	for _, s := range secs {
		var h pe.SectionHeader32
		copy(h.Name[:], s.name)
		h.VirtualSize = uint32(len(s.body))
		h.VirtualAddress = s.rva
		h.SizeOfRawData = alignUp(uint32(len(s.body)), fileAlign)
		h.PointerToRawData = raw
		h.Characteristics = s.flags
		_ = binary.Write(&out, binary.LittleEndian, h)
		raw += h.SizeOfRawData
	}
	pad(&out, headersSize)
	for _, s := range secs {
		out.Write(s.body)
		pad(&out, alignUp(uint32(out.Len()), fileAlign))
	}
	img := out.Bytes()
	if d.Version == nil {
		return img, nil
	}
	return addVersion(img, d.Version)
}

// addVersion attaches a VERSIONINFO resource the way rc.exe would, through
// winres, and sets the PE checksum.
func addVersion(img []byte, v *Version) ([]byte, error) {
	vi := version.Info{FileVersion: v.FileVersion, ProductVersion: v.ProductVersion}
	for k, s := range map[string]string{
		version.CompanyName: v.CompanyName, version.FileDescription: v.FileDescription,
		version.ProductName: v.ProductName, version.OriginalFilename: v.OriginalFilename,
		version.LegalCopyright: v.LegalCopyright,
		version.FileVersion:    dotted(v.FileVersion), version.ProductVersion: dotted(v.ProductVersion),
	} {
		if s != "" {
			if err := vi.Set(0x409, k, s); err != nil {
				return nil, err
			}
		}
	}
	var rs winres.ResourceSet
	rs.SetVersionInfo(vi)
	var out bytes.Buffer
	if err := rs.WriteToEXE(&out, bytes.NewReader(img), winres.ForceCheckSum()); err != nil {
		return nil, fmt.Errorf("petest: adding version resource: %w", err)
	}
	return out.Bytes(), nil
}

// appendCodeView appends to .rdata (at rva in memory, raw in the file) an
// IMAGE_DEBUG_DIRECTORY of one entry and the RSDS record it points to.
// IMAGE_DEBUG_DIRECTORY (winnt.h, 28 bytes): Characteristics,
// TimeDateStamp, MajorVersion:2, MinorVersion:2, Type (2: CODEVIEW),
// SizeOfData, AddressOfRawData (RVA), PointerToRawData (file offset).
func appendCodeView(rdata []byte, rva, raw uint32, p *PDB, stamp uint32) ([]byte, pe.DataDirectory) {
	for len(rdata)%4 != 0 {
		rdata = append(rdata, 0)
	}
	dirOff := uint32(len(rdata))
	recOff := dirOff + 28
	rec := append([]byte("RSDS"), p.GUID[:]...)
	rec = binary.LittleEndian.AppendUint32(rec, p.Age)
	rec = append(append(rec, p.Path...), 0)
	ent := make([]byte, 28)
	binary.LittleEndian.PutUint32(ent[4:], stamp)
	binary.LittleEndian.PutUint32(ent[12:], 2) // IMAGE_DEBUG_TYPE_CODEVIEW
	binary.LittleEndian.PutUint32(ent[16:], uint32(len(rec)))
	binary.LittleEndian.PutUint32(ent[20:], rva+recOff)
	binary.LittleEndian.PutUint32(ent[24:], raw+recOff)
	rdata = append(append(rdata, ent...), rec...)
	return rdata, pe.DataDirectory{VirtualAddress: rva + dirOff, Size: 28}
}

func dotted(v [4]uint16) string { return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }

func alignUp(n, a uint32) uint32 { return (n + a - 1) &^ (a - 1) }

func pad(b *bytes.Buffer, to uint32) {
	for uint32(b.Len()) < to {
		b.WriteByte(0)
	}
}

// buildImports lays out .rdata: the IAT, the lookup table, one import
// descriptor for ntoskrnl.exe, and the hint/name entries.
func buildImports(rva, ptr uint32) ([]byte, imports, pe.DataDirectory, pe.DataDirectory) {
	const (
		iatOff   = 0x00
		intOff   = 0x40
		descOff  = 0x80
		namesOff = 0xC0
	)
	b := make([]byte, namesOff)
	names := []string{"ExAllocatePoolWithTag", "ExFreePoolWithTag"}
	var nameRVAs []uint32
	for _, n := range names {
		nameRVAs = append(nameRVAs, rva+uint32(len(b)))
		b = append(b, 0, 0) // hint
		b = append(b, n...)
		b = append(b, 0)
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
	}
	dllRVA := rva + uint32(len(b))
	b = append(b, "ntoskrnl.exe\x00"...)
	for i, n := range nameRVAs {
		put(b[iatOff+uint32(i)*ptr:], uint64(n), ptr)
		put(b[intOff+uint32(i)*ptr:], uint64(n), ptr)
	}
	binary.LittleEndian.PutUint32(b[descOff:], rva+intOff)    // OriginalFirstThunk
	binary.LittleEndian.PutUint32(b[descOff+12:], dllRVA)     // Name
	binary.LittleEndian.PutUint32(b[descOff+16:], rva+iatOff) // FirstThunk
	imp := imports{alloc: rva + iatOff, free: rva + iatOff + ptr}
	return b,
		imp,
		pe.DataDirectory{VirtualAddress: rva + descOff, Size: 40},
		pe.DataDirectory{VirtualAddress: rva + iatOff, Size: 3 * ptr}
}

func put(b []byte, v uint64, size uint32) {
	if size == 8 {
		binary.LittleEndian.PutUint64(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, uint32(v))
	}
}
