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

// hfield names a header field or area. Fields are named by constant, not
// by string, so a misspelt name is a compile error rather than a zero.
type hfield int

const (
	hMajorVersion hfield = iota
	hMinorVersion
	hDirectoryTableBase
	hPfnDataBase
	hPsLoadedModuleList
	hPsActiveProcessHead
	hMachineImageType
	hNumberProcessors
	hBugCheckCode
	hBugCheckParameter1
	hBugCheckParameter2
	hBugCheckParameter3
	hBugCheckParameter4
	hPaeEnabled
	hKdSecondaryVersion
	hKdDebuggerDataBlock
	hPhysicalMemoryBlock // area: the physical memory descriptor
	hContextRecord       // area: ends the descriptor's room
	hComment             // area: 128 bytes of text
	hDumpType
	hRequiredDumpSpace
	hSystemTime
	hSystemUpTime
	hMiniDumpFields
	hSecondaryDataState
	hProductType
	hSuiteMask
	hWriterStatus
	hAttributes
	hBootID
	hfieldCount
)

// hfieldNames are the names mindumpdef.h gives the fields, as errors and
// Header.Unset state them.
var hfieldNames = [hfieldCount]string{
	"MajorVersion", "MinorVersion", "DirectoryTableBase", "PfnDataBase",
	"PsLoadedModuleList", "PsActiveProcessHead", "MachineImageType",
	"NumberProcessors", "BugCheckCode", "BugCheckParameter1",
	"BugCheckParameter2", "BugCheckParameter3", "BugCheckParameter4",
	"PaeEnabled", "KdSecondaryVersion", "KdDebuggerDataBlock",
	"PhysicalMemoryBlock", "ContextRecord", "Comment", "DumpType",
	"RequiredDumpSpace", "SystemTime", "SystemUpTime", "MiniDumpFields",
	"SecondaryDataState", "ProductType", "SuiteMask", "WriterStatus",
	"Attributes", "BootId",
}

func (f hfield) String() string { return hfieldNames[f] }

// hloc is where a field sits in one header width. Width 1, 4 or 8 is a
// value; an area has width 0 and is read by its own code.
type hloc struct {
	f     hfield
	off   int
	width int
}

// header32 and header64 are DUMP_HEADER32 and DUMP_HEADER64 (mindumpdef.h;
// offsets verified in volatility3's crash.json/crash64.json and
// kdmp-parser), in file order. They are the only statement of the
// offsets: errors take theirs from here. The 64-bit header has no
// PaeEnabled.
var (
	header32 = []hloc{
		{hMajorVersion, 0x08, 4},
		{hMinorVersion, 0x0C, 4},
		{hDirectoryTableBase, 0x10, 4},
		{hPfnDataBase, 0x14, 4},
		{hPsLoadedModuleList, 0x18, 4},
		{hPsActiveProcessHead, 0x1C, 4},
		{hMachineImageType, 0x20, 4},
		{hNumberProcessors, 0x24, 4},
		{hBugCheckCode, 0x28, 4},
		{hBugCheckParameter1, 0x2C, 4},
		{hBugCheckParameter2, 0x30, 4},
		{hBugCheckParameter3, 0x34, 4},
		{hBugCheckParameter4, 0x38, 4},
		{hPaeEnabled, 0x5C, 1},
		{hKdSecondaryVersion, 0x5D, 1},
		{hKdDebuggerDataBlock, 0x60, 4},
		{hPhysicalMemoryBlock, 0x64, 0},
		{hContextRecord, 0x320, 0},
		{hComment, 0x820, 0},
		{hAttributes, 0x8A0, 4},
		{hBootID, 0x8A4, 4},
		{hDumpType, 0xF88, 4},
		{hMiniDumpFields, 0xF8C, 4},
		{hSecondaryDataState, 0xF90, 4},
		{hProductType, 0xF94, 4},
		{hSuiteMask, 0xF98, 4},
		{hWriterStatus, 0xF9C, 4},
		{hRequiredDumpSpace, 0xFA0, 8},
		{hSystemUpTime, 0xFB8, 8},
		{hSystemTime, 0xFC0, 8},
	}
	header64 = []hloc{
		{hMajorVersion, 0x08, 4},
		{hMinorVersion, 0x0C, 4},
		{hDirectoryTableBase, 0x10, 8},
		{hPfnDataBase, 0x18, 8},
		{hPsLoadedModuleList, 0x20, 8},
		{hPsActiveProcessHead, 0x28, 8},
		{hMachineImageType, 0x30, 4},
		{hNumberProcessors, 0x34, 4},
		{hBugCheckCode, 0x38, 4},
		{hBugCheckParameter1, 0x40, 8},
		{hBugCheckParameter2, 0x48, 8},
		{hBugCheckParameter3, 0x50, 8},
		{hBugCheckParameter4, 0x58, 8},
		{hKdDebuggerDataBlock, 0x80, 8},
		{hPhysicalMemoryBlock, 0x88, 0},
		{hContextRecord, 0x348, 0},
		{hDumpType, 0xF98, 4},
		{hRequiredDumpSpace, 0xFA0, 8},
		{hSystemTime, 0xFA8, 8},
		{hComment, 0xFB0, 0},
		{hSystemUpTime, 0x1030, 8},
		{hMiniDumpFields, 0x1038, 4},
		{hSecondaryDataState, 0x103C, 4},
		{hProductType, 0x1040, 4},
		{hSuiteMask, 0x1044, 4},
		{hWriterStatus, 0x1048, 4},
		{hKdSecondaryVersion, 0x104D, 1},
		{hAttributes, 0x1050, 4},
		{hBootID, 0x1054, 4},
	}
)

// Sizes that are not offsets.
const (
	commentLen   = 128
	headerSize32 = 0x1000
	headerSize64 = 0x2000
)

func headerLayout(is64 bool) []hloc {
	if is64 {
		return header64
	}
	return header32
}

// headerOff is the offset of field f in the header of that width, from
// the tables above; -1 when the width has no such field.
func headerOff(is64 bool, f hfield) int {
	for _, l := range headerLayout(is64) {
		if l.f == f {
			return l.off
		}
	}
	return -1
}

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
	for _, l := range headerLayout(is64) {
		var v uint64
		unset := false
		switch l.width {
		case 0:
			if l.f == hComment {
				h.Comment = cString(b[l.off : l.off+commentLen])
			}
			continue
		case 1:
			v = uint64(b[l.off])
		case 4:
			v = uint64(binary.LittleEndian.Uint32(b[l.off:]))
			unset = v == sigPAGE
		case 8:
			v = binary.LittleEndian.Uint64(b[l.off:])
			unset = uint32(v) == sigPAGE && (uint32(v>>32) == sigPAGE || uint32(v>>32) == 0)
		}
		if unset {
			h.Unset = append(h.Unset, l.f.String())
			v = 0
		}
		h.set(l.f, v)
	}
	return h
}

// set stores one decoded value in its Header field.
func (h *Header) set(f hfield, v uint64) {
	switch f {
	case hMajorVersion:
		h.MajorVersion = uint32(v)
	case hMinorVersion:
		h.MinorVersion = uint32(v)
	case hDirectoryTableBase:
		h.DirectoryTableBase = v
	case hPfnDataBase:
		h.PfnDataBase = v
	case hPsLoadedModuleList:
		h.PsLoadedModuleList = v
	case hPsActiveProcessHead:
		h.PsActiveProcessHead = v
	case hMachineImageType:
		h.MachineImageType = uint32(v)
	case hNumberProcessors:
		h.NumberProcessors = uint32(v)
	case hBugCheckCode:
		h.BugCheckCode = uint32(v)
	case hBugCheckParameter1, hBugCheckParameter2, hBugCheckParameter3, hBugCheckParameter4:
		h.BugCheckParameters[f-hBugCheckParameter1] = v
	case hPaeEnabled:
		h.PaeEnabled = v&1 != 0
	case hKdSecondaryVersion:
		h.KdSecondaryVersion = uint8(v)
	case hKdDebuggerDataBlock:
		h.KdDebuggerDataBlock = v
	case hDumpType:
		h.DumpType = DumpType(v)
	case hRequiredDumpSpace:
		h.RequiredDumpSpace = v
	case hSystemTime:
		if v != 0 {
			h.SystemTime = filetime(v)
		}
	case hSystemUpTime:
		h.SystemUpTime = time.Duration(v) * 100
	case hMiniDumpFields:
		h.MiniDumpFields = uint32(v)
	case hSecondaryDataState:
		h.SecondaryDataState = uint32(v)
	case hProductType:
		h.ProductType = uint32(v)
	case hSuiteMask:
		h.SuiteMask = uint32(v)
	case hWriterStatus:
		h.WriterStatus = uint32(v)
	case hAttributes:
		h.Attributes = uint32(v)
	case hBootID:
		h.BootID = uint32(v)
	}
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
	case MachineARMNT:
		return ArchARM32
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
	case ArchARM32:
		// TTBR0: a 16 KiB aligned first-level table; bits 6:0 are walk
		// attributes (ARM ARM B4.1.154).
		return h.DirectoryTableBase &^ 0x3FFF
	}
	return h.DirectoryTableBase &^ 0xFFF
}

// MaxProcessors is the most processors Windows supports (2048, processor
// groups included, since Windows Server 2022 and Windows 11).
const MaxProcessors = 2048

// CPUs returns NumberProcessors when it is plausible (1 to
// MaxProcessors), and false otherwise: a damaged or hostile header must
// not size anything.
func (h *Header) CPUs() (int, bool) { return PlausibleCPUs(h.NumberProcessors) }

// PlausibleCPUs returns n when it is 1 to MaxProcessors, and false
// otherwise.
func PlausibleCPUs(n uint32) (int, bool) {
	if n < 1 || n > MaxProcessors {
		return 0, false
	}
	return int(n), true
}
