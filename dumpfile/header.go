package dumpfile

import (
	"encoding/binary"
	"strings"
	"time"
)

// Header is the crash dump header (DUMP_HEADER32 / DUMP_HEADER64). Fields
// that Windows left unset hold the 'PAGE' fill pattern in the file; here
// they read as zero, and Unset names them.
type Header struct {
	Is64                bool
	MajorVersion        uint32 // 0xF for a free build, 0xC for checked
	MinorVersion        uint32 // the build number
	DirectoryTableBase  uint64 // as stored: may carry PCID bits
	PfnDataBase         uint64
	PsLoadedModuleList  uint64
	PsActiveProcessHead uint64
	MachineImageType    uint32
	NumberProcessors    uint32
	BugCheckCode        uint32
	BugCheckParameters  [4]uint64
	PaeEnabled          bool // 32-bit only
	KdSecondaryVersion  uint8
	KdDebuggerDataBlock uint64
	Comment             string
	DumpType            DumpType
	RequiredDumpSpace   uint64
	SystemTime          time.Time // UTC; zero when unset
	SystemUpTime        time.Duration
	MiniDumpFields      uint32
	SecondaryDataState  uint32
	ProductType         uint32
	SuiteMask           uint32
	WriterStatus        uint32
	Attributes          uint32
	BootID              uint32

	// Unset lists the fields that held the 'PAGE' fill pattern.
	Unset []string
}

// Header attribute bits (Attributes field).
const (
	AttrInsufficientDumpfileSize = 1 << 2
	AttrEncryptedDumpData        = 1 << 8
)

// Signatures at the start of the file.
const (
	sigPAGE = 0x45474150 // 'PAGE': also the fill pattern of unset fields
	sigDUMP = 0x504D5544 // 'DUMP'
	sigDU64 = 0x34365544 // 'DU64'
	sigMDMP = 0x504D444D // 'MDMP': user-mode minidump
	sigUSER = 0x52455355 // 'USER': old user-mode dump
	sigZDMP = 0x504D445A // 'ZDMP': Comae/DumpIt compressed dump
	sigKDBG = 0x4742444B // 'KDBG'
)

// field is one header field: its offset in the 32-bit and 64-bit header
// (-1 where the layout has none) and its width in each.
type field struct {
	name         string
	off32, off64 int
	w32, w64     int
}

// headerLayout lists the header fields (mindumpdef.h; offsets verified in
// volatility3's crash.json/crash64.json and kdmp-parser). DumpType is not
// right after Comment in the 32-bit header.
var headerLayout = []field{
	{"MajorVersion", 0x08, 0x08, 4, 4},
	{"MinorVersion", 0x0C, 0x0C, 4, 4},
	{"DirectoryTableBase", 0x10, 0x10, 4, 8},
	{"PfnDataBase", 0x14, 0x18, 4, 8},
	{"PsLoadedModuleList", 0x18, 0x20, 4, 8},
	{"PsActiveProcessHead", 0x1C, 0x28, 4, 8},
	{"MachineImageType", 0x20, 0x30, 4, 4},
	{"NumberProcessors", 0x24, 0x34, 4, 4},
	{"BugCheckCode", 0x28, 0x38, 4, 4},
	{"BugCheckParameter1", 0x2C, 0x40, 4, 8},
	{"BugCheckParameter2", 0x30, 0x48, 4, 8},
	{"BugCheckParameter3", 0x34, 0x50, 4, 8},
	{"BugCheckParameter4", 0x38, 0x58, 4, 8},
	{"PaeEnabled", 0x5C, -1, 1, 0},
	{"KdSecondaryVersion", 0x5D, 0x104D, 1, 1},
	{"KdDebuggerDataBlock", 0x60, 0x80, 4, 8},
	{"DumpType", 0xF88, 0xF98, 4, 4},
	{"RequiredDumpSpace", 0xFA0, 0xFA0, 8, 8},
	{"SystemTime", 0xFC0, 0xFA8, 8, 8},
	{"SystemUpTime", 0xFB8, 0x1030, 8, 8},
	{"MiniDumpFields", 0xF8C, 0x1038, 4, 4},
	{"SecondaryDataState", 0xF90, 0x103C, 4, 4},
	{"ProductType", 0xF94, 0x1040, 4, 4},
	{"SuiteMask", 0xF98, 0x1044, 4, 4},
	{"WriterStatus", 0xF9C, 0x1048, 4, 4},
	{"Attributes", 0x8A0, 0x1050, 4, 4},
	{"BootId", 0x8A4, 0x1054, 4, 4},
}

// Offsets of areas that are not single fields.
const (
	physBlock32, physBlock64 = 0x64, 0x88   // PhysicalMemoryBlock
	context32, context64     = 0x320, 0x348 // ContextRecord: ends the run area
	comment32, comment64     = 0x820, 0xFB0
	commentLen               = 128
	headerSize32             = 0x1000
	headerSize64             = 0x2000
)

// HeaderSize is the size of the header for this width: 0x1000 or 0x2000.
func (h *Header) HeaderSize() int64 {
	if h.Is64 {
		return headerSize64
	}
	return headerSize32
}

// parseHeader decodes the header from its first bytes. The caller has
// checked the signature and that b holds the whole header.
func parseHeader(b []byte, is64 bool) *Header {
	h := &Header{Is64: is64}
	vals := make(map[string]uint64, len(headerLayout))
	for _, f := range headerLayout {
		off, w := f.off32, f.w32
		if is64 {
			off, w = f.off64, f.w64
		}
		if off < 0 {
			continue
		}
		var v uint64
		unset := false
		switch w {
		case 1:
			v = uint64(b[off])
		case 4:
			v = uint64(binary.LittleEndian.Uint32(b[off:]))
			unset = v == sigPAGE
		case 8:
			v = binary.LittleEndian.Uint64(b[off:])
			unset = uint32(v) == sigPAGE && (uint32(v>>32) == sigPAGE || uint32(v>>32) == 0)
		}
		if unset {
			h.Unset = append(h.Unset, f.name)
			v = 0
		}
		vals[f.name] = v
	}
	h.MajorVersion = uint32(vals["MajorVersion"])
	h.MinorVersion = uint32(vals["MinorVersion"])
	h.DirectoryTableBase = vals["DirectoryTableBase"]
	h.PfnDataBase = vals["PfnDataBase"]
	h.PsLoadedModuleList = vals["PsLoadedModuleList"]
	h.PsActiveProcessHead = vals["PsActiveProcessHead"]
	h.MachineImageType = uint32(vals["MachineImageType"])
	h.NumberProcessors = uint32(vals["NumberProcessors"])
	h.BugCheckCode = uint32(vals["BugCheckCode"])
	for i := range h.BugCheckParameters {
		h.BugCheckParameters[i] = vals["BugCheckParameter"+string(rune('1'+i))]
	}
	h.PaeEnabled = vals["PaeEnabled"]&1 != 0
	h.KdSecondaryVersion = uint8(vals["KdSecondaryVersion"])
	h.KdDebuggerDataBlock = vals["KdDebuggerDataBlock"]
	h.DumpType = DumpType(vals["DumpType"])
	h.RequiredDumpSpace = vals["RequiredDumpSpace"]
	if ft := vals["SystemTime"]; ft != 0 {
		h.SystemTime = filetime(ft)
	}
	h.SystemUpTime = time.Duration(vals["SystemUpTime"]) * 100
	h.MiniDumpFields = uint32(vals["MiniDumpFields"])
	h.SecondaryDataState = uint32(vals["SecondaryDataState"])
	h.ProductType = uint32(vals["ProductType"])
	h.SuiteMask = uint32(vals["SuiteMask"])
	h.WriterStatus = uint32(vals["WriterStatus"])
	h.Attributes = uint32(vals["Attributes"])
	h.BootID = uint32(vals["BootId"])

	coff := comment32
	if is64 {
		coff = comment64
	}
	h.Comment = cString(b[coff : coff+commentLen])
	return h
}

// filetime converts a FILETIME (100 ns since 1601) to UTC.
func filetime(ft uint64) time.Time {
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	if ft < epochDiff {
		return time.Time{}
	}
	d := ft - epochDiff
	return time.Unix(int64(d/1e7), int64(d%1e7)*100).UTC()
}

// cString returns the text before the first NUL, or "" when the area still
// holds the 'PAGE' fill pattern.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	s := string(b)
	if strings.HasPrefix(s, "PAGEPAGE") {
		return ""
	}
	return strings.TrimSpace(s)
}

// Arch derives the architecture and paging mode from the header.
func (h *Header) Arch() Arch {
	switch h.MachineImageType {
	case MachineI386:
		if h.PaeEnabled {
			return ArchX86PAE
		}
		return ArchX86
	case MachineAMD64:
		return ArchAMD64
	case MachineARM64:
		return ArchARM64
	}
	return ArchUnknown
}

// DTB is the directory table base with the flag and PCID bits cleared.
func (h *Header) DTB() uint64 {
	switch h.Arch() {
	case ArchX86PAE:
		return h.DirectoryTableBase &^ 0x1F // 32-byte aligned PDPT
	case ArchARM64:
		return h.DirectoryTableBase & 0x0003FFFFFFFFF000
	}
	return h.DirectoryTableBase &^ 0xFFF
}
