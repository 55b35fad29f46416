package peimage

import (
	"encoding/binary"
	"fmt"
)

// DOSHeader mirrors IMAGE_DOS_HEADER.
type DOSHeader struct {
	Magic    uint16 // e_magic, "MZ"
	Cblp     uint16
	Cp       uint16
	Crlc     uint16
	Cparhdr  uint16
	Minalloc uint16
	Maxalloc uint16
	Ss       uint16
	Sp       uint16
	Csum     uint16
	IP       uint16
	CS       uint16
	Lfarlc   uint16
	Ovno     uint16
	Res      [4]uint16
	OEMID    uint16
	OEMInfo  uint16
	Res2     [10]uint16
	Lfanew   uint32 // e_lfanew: file offset of the NT headers
}

// FileHeader mirrors IMAGE_FILE_HEADER.
type FileHeader struct {
	Machine              uint16
	NumberOfSections     uint16
	TimeDateStamp        uint32
	PointerToSymbolTable uint32
	NumberOfSymbols      uint32
	SizeOfOptionalHeader uint16
	Characteristics      uint16
}

// OptionalHeader32 mirrors IMAGE_OPTIONAL_HEADER32 without its data
// directories (File.DataDirectory holds them).
type OptionalHeader32 struct {
	Magic                       uint16
	MajorLinkerVersion          uint8
	MinorLinkerVersion          uint8
	SizeOfCode                  uint32
	SizeOfInitializedData       uint32
	SizeOfUninitializedData     uint32
	AddressOfEntryPoint         uint32
	BaseOfCode                  uint32
	BaseOfData                  uint32
	ImageBase                   uint32
	SectionAlignment            uint32
	FileAlignment               uint32
	MajorOperatingSystemVersion uint16
	MinorOperatingSystemVersion uint16
	MajorImageVersion           uint16
	MinorImageVersion           uint16
	MajorSubsystemVersion       uint16
	MinorSubsystemVersion       uint16
	Win32VersionValue           uint32
	SizeOfImage                 uint32
	SizeOfHeaders               uint32
	CheckSum                    uint32
	Subsystem                   uint16
	DllCharacteristics          uint16
	SizeOfStackReserve          uint32
	SizeOfStackCommit           uint32
	SizeOfHeapReserve           uint32
	SizeOfHeapCommit            uint32
	LoaderFlags                 uint32
	NumberOfRvaAndSizes         uint32
}

// OptionalHeader64 mirrors IMAGE_OPTIONAL_HEADER64 without its data
// directories.
type OptionalHeader64 struct {
	Magic                       uint16
	MajorLinkerVersion          uint8
	MinorLinkerVersion          uint8
	SizeOfCode                  uint32
	SizeOfInitializedData       uint32
	SizeOfUninitializedData     uint32
	AddressOfEntryPoint         uint32
	BaseOfCode                  uint32
	ImageBase                   uint64
	SectionAlignment            uint32
	FileAlignment               uint32
	MajorOperatingSystemVersion uint16
	MinorOperatingSystemVersion uint16
	MajorImageVersion           uint16
	MinorImageVersion           uint16
	MajorSubsystemVersion       uint16
	MinorSubsystemVersion       uint16
	Win32VersionValue           uint32
	SizeOfImage                 uint32
	SizeOfHeaders               uint32
	CheckSum                    uint32
	Subsystem                   uint16
	DllCharacteristics          uint16
	SizeOfStackReserve          uint64
	SizeOfStackCommit           uint64
	SizeOfHeapReserve           uint64
	SizeOfHeapCommit            uint64
	LoaderFlags                 uint32
	NumberOfRvaAndSizes         uint32
}

// DataDirectory mirrors IMAGE_DATA_DIRECTORY.
type DataDirectory struct {
	VirtualAddress uint32
	Size           uint32
}

// SectionHeader mirrors IMAGE_SECTION_HEADER.
type SectionHeader struct {
	Name                 [8]byte
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLinenumbers uint32
	NumberOfRelocations  uint16
	NumberOfLinenumbers  uint16
	Characteristics      uint32
}

// NameString is the section's name up to its first NUL.
func (s *SectionHeader) NameString() string {
	for i, c := range s.Name {
		if c == 0 {
			return string(s.Name[:i])
		}
	}
	return string(s.Name[:])
}

// ExportDirectory mirrors IMAGE_EXPORT_DIRECTORY, which the export data
// directory points to. Its fields are RVAs and counts.
type ExportDirectory struct {
	Characteristics       uint32
	TimeDateStamp         uint32
	MajorVersion          uint16
	MinorVersion          uint16
	Name                  uint32
	Base                  uint32
	NumberOfFunctions     uint32
	NumberOfNames         uint32
	AddressOfFunctions    uint32
	AddressOfNames        uint32
	AddressOfNameOrdinals uint32
}

// ExportDirectorySize is the size of IMAGE_EXPORT_DIRECTORY.
const ExportDirectorySize = 40

// ExportNumberOfNamesOffset is the offset of NumberOfNames inside it.
const ExportNumberOfNamesOffset = 24

// DecodeExportDirectory decodes an IMAGE_EXPORT_DIRECTORY from b, which
// holds at least ExportDirectorySize bytes.
func DecodeExportDirectory(b []byte) (ExportDirectory, error) {
	var d ExportDirectory
	if len(b) < ExportDirectorySize {
		return d, &FormatError{"export directory", 0, fmt.Sprintf("%d bytes, shorter than the %d of IMAGE_EXPORT_DIRECTORY", len(b), ExportDirectorySize)}
	}
	_, err := binary.Decode(b, binary.LittleEndian, &d)
	return d, err
}
