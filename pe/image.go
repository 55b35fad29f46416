package pe

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	peparser "github.com/saferwall/pe"
)

// Machine is the PE header's machine type.
type Machine uint16

// The machine types of the drivers the tool reads.
const (
	MachineX86   Machine = 0x014C
	MachineX64   Machine = 0x8664
	MachineARM64 Machine = 0xAA64
	MachineARMNT Machine = 0x01C4 // ARM32: Thumb-2 code
)

func (m Machine) String() string {
	switch m {
	case MachineX86:
		return "x86"
	case MachineX64:
		return "x64"
	case MachineARM64:
		return "arm64"
	case MachineARMNT:
		return "arm (Thumb-2)"
	}
	return fmt.Sprintf("machine %#04x", uint16(m))
}

// MarshalText names the machine in JSON output.
func (m Machine) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Section characteristics that mark code.
const (
	scnCntCode    = 0x00000020
	scnMemExecute = 0x20000000
)

// section is a section header reduced to what the scanners need.
type section struct {
	name    string
	va      uint32
	vsize   uint32
	off     uint32
	rawSize uint32
	code    bool
}

// image is a parsed PE in file layout, with what the code scanners need.
type image struct {
	data     []byte
	machine  Machine
	base     uint64 // ImageBase the code was linked (or, in memory, relocated) for
	ptr      uint32 // pointer size: 4 (PE32) or 8 (PE32+)
	iat      span   // the IAT directory (data directory 12); empty when absent
	sections []section
	slots    map[uint32]int // IAT slot RVA -> index in poolRoutines
	starts   []uint32       // function start RVAs from the exception directory, sorted
	inCode   []span         // data that may lie in code sections (import tables, names), sorted
}

// span is a half-open RVA range.
type span struct{ start, end uint32 }

func newImage(f *peparser.File, data []byte) *image {
	im := &image{data: data, machine: Machine(f.NtHeader.FileHeader.Machine), slots: map[uint32]int{}}
	var dirs [16]peparser.DataDirectory
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case peparser.ImageOptionalHeader64:
		im.base, dirs = oh.ImageBase, oh.DataDirectory
	case peparser.ImageOptionalHeader32:
		im.base, dirs = uint64(oh.ImageBase), oh.DataDirectory
	}
	exc := dirs[peparser.ImageDirectoryEntryException]
	if iat := dirs[peparser.ImageDirectoryEntryIAT]; iat.Size > 0 {
		im.iat = span{iat.VirtualAddress, iat.VirtualAddress + iat.Size}
	}
	// Drivers keep their import tables and names in INIT, an executable
	// section: decoded as code they would yield made-up immediates.
	for i, dd := range dirs {
		if i != int(peparser.ImageDirectoryEntryCertificate) && dd.Size > 0 {
			im.inCode = append(im.inCode, span{dd.VirtualAddress, dd.VirtualAddress + dd.Size})
		}
	}
	for _, s := range f.Sections {
		h := s.Header
		im.sections = append(im.sections, section{
			name:    strings.TrimRight(string(h.Name[:]), "\x00"),
			va:      h.VirtualAddress,
			vsize:   h.VirtualSize,
			off:     h.PointerToRawData,
			rawSize: h.SizeOfRawData,
			code:    h.Characteristics&(scnCntCode|scnMemExecute) != 0,
		})
	}
	ptr := uint32(4)
	if _, ok := f.NtHeader.OptionalHeader.(peparser.ImageOptionalHeader64); ok {
		ptr = 8
	}
	im.ptr = ptr
	for _, imp := range f.Imports {
		im.inCode = append(im.inCode, span{imp.Descriptor.Name, imp.Descriptor.Name + uint32(len(imp.Name)) + 1})
		for _, fn := range imp.Functions {
			im.inCode = append(im.inCode, span{fn.ThunkRVA, fn.ThunkRVA + ptr})
			if fn.OriginalThunkRVA != 0 {
				im.inCode = append(im.inCode, span{fn.OriginalThunkRVA, fn.OriginalThunkRVA + ptr})
			}
			if !fn.ByOrdinal && fn.OriginalThunkValue != 0 && fn.OriginalThunkValue < 1<<31 {
				at := uint32(fn.OriginalThunkValue)
				im.inCode = append(im.inCode, span{at, at + 2 + uint32(len(fn.Name)) + 1})
			}
			if fn.ByOrdinal {
				continue
			}
			if r, ok := lookupRoutine(fn.Name); ok {
				im.slots[fn.ThunkRVA] = r
			}
		}
	}
	im.starts = im.functionStarts(exc)
	sort.Slice(im.inCode, func(i, j int) bool { return im.inCode[i].start < im.inCode[j].start })
	return im
}

// dataEnd returns the end of the data span holding rva, or 0. spans is
// advanced past spans that end before rva, so a linear walk costs O(n).
func dataEnd(spans *[]span, rva uint32) uint32 {
	for len(*spans) > 0 && (*spans)[0].end <= rva {
		*spans = (*spans)[1:]
	}
	end := uint32(0)
	for _, s := range *spans {
		if s.start > rva {
			break
		}
		if s.end > end {
			end = s.end
		}
	}
	return end
}

// bytesAt returns the file bytes that hold the image at rva, up to n
// bytes; fewer (or none) when the section's raw data ends first.
func (im *image) bytesAt(rva uint32, n int) []byte {
	for _, s := range im.sections {
		size := s.vsize
		if size == 0 || s.rawSize < size {
			size = s.rawSize
		}
		if rva < s.va || rva-s.va >= size {
			continue
		}
		start := uint64(s.off) + uint64(rva-s.va)
		end := uint64(s.off) + uint64(size)
		if end > uint64(len(im.data)) {
			end = uint64(len(im.data))
		}
		if start >= end {
			return nil
		}
		if uint64(n) < end-start {
			end = start + uint64(n)
		}
		return im.data[start:end]
	}
	return nil
}

// sectionData returns a section's bytes in the file.
func (im *image) sectionData(s section) []byte {
	size := s.vsize
	if size == 0 || s.rawSize < size {
		size = s.rawSize
	}
	start, end := uint64(s.off), uint64(s.off)+uint64(size)
	if end > uint64(len(im.data)) {
		end = uint64(len(im.data))
	}
	if start >= end {
		return nil
	}
	return im.data[start:end]
}

// functionStarts reads function begin addresses from the exception
// directory (RUNTIME_FUNCTION: 12 bytes on x64, 8 on ARM64). They mark
// where a caller's state cannot flow in from the code before.
func (im *image) functionStarts(dir peparser.DataDirectory) []uint32 {
	var entry uint32
	switch im.machine {
	case MachineX64:
		entry = 12
	case MachineARM64:
		entry = 8
	default:
		return nil
	}
	if dir.Size < entry {
		return nil
	}
	b := im.bytesAt(dir.VirtualAddress, int(dir.Size))
	var starts []uint32
	for i := 0; i+int(entry) <= len(b); i += int(entry) {
		if v := binary.LittleEndian.Uint32(b[i:]); v != 0 {
			starts = append(starts, v)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	return starts
}
