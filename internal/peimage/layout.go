package peimage

// The format's layout facts (PE/COFF specification, winnt.h), in one place.
const (
	dosHeaderSize  = 0x40 // IMAGE_DOS_HEADER
	lfanewOffset   = 0x3C // IMAGE_DOS_HEADER.e_lfanew
	signatureSize  = 4    // "PE\0\0"
	fileHeaderSize = 20   // IMAGE_FILE_HEADER
	sectionSize    = 40   // IMAGE_SECTION_HEADER
	directorySize  = 8    // IMAGE_DATA_DIRECTORY

	// Offsets inside IMAGE_FILE_HEADER.
	fhNumberOfSections     = 2
	fhSizeOfOptionalHeader = 16

	// Sizes of the optional headers without their data directories, and
	// offsets inside them (PE32 / PE32+ where they differ).
	opt32Size        = 96
	opt64Size        = 112
	optImageBase32   = 28
	optImageBase64   = 24
	optSizeOfHeaders = 60
)

// Magic values.
const (
	dosMagic    = 0x5A4D // "MZ"
	ntMagic     = "PE\x00\x00"
	Magic32     = 0x10B // IMAGE_NT_OPTIONAL_HDR32_MAGIC
	Magic64     = 0x20B // IMAGE_NT_OPTIONAL_HDR64_MAGIC
	MaxDirs     = 16    // IMAGE_NUMBEROF_DIRECTORY_ENTRIES
	MaxSections = 96    // the loader's limit, as the PE/COFF specification states it
)

// Data directory indexes (IMAGE_DIRECTORY_ENTRY_*).
const (
	DirExport = 0
	DirImport = 1
	DirIAT    = 12
)

// Section characteristics (IMAGE_SCN_*).
const (
	ScnCntCode        = 0x00000020
	ScnMemDiscardable = 0x02000000
	ScnMemExecute     = 0x20000000
	ScnMemRead        = 0x40000000
	ScnMemWrite       = 0x80000000
)
