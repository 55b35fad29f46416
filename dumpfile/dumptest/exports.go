package dumptest

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
)

// kernelExports are the routines the kernel image exports, in ordinal
// order. ExAllocatePool takes no tag: readers that name IAT slots by
// address must tell it from the tagged routines.
var kernelExports = []string{
	"ExAllocatePoolWithTag",
	"ExFreePoolWithTag",
	"ExAllocatePool2",
	"ExAllocatePoolWithQuotaTag",
	"ExAllocatePool",
}

// Where exports live in an image's first code page: stub routines from the
// start, the export directory from exportDirOff on.
const (
	stubSize     = 16
	exportDirOff = 0x200
	maxExports   = exportDirOff / stubSize
)

// exportStubs is the code of every exported routine, per machine: return
// zero. The stubs are never run; they give each export an address that
// holds code, as a real one does.
var exportStubs = map[uint32][]byte{
	dumpfile.MachineI386:  {0x33, 0xC0, 0xC3},                               // xor eax, eax; ret
	dumpfile.MachineAMD64: {0x33, 0xC0, 0xC3},                               // xor eax, eax; ret
	dumpfile.MachineARM64: {0x00, 0x00, 0x80, 0xD2, 0xC0, 0x03, 0x5F, 0xD6}, // mov x0, #0; ret
	// Thumb-2: movs r0, #0; bx lr. Real exports of Thumb code have bit 0
	// of their RVA set; these stubs are never called, so it is left clear.
	dumpfile.MachineARMNT: {0x00, 0x20, 0x70, 0x47},
}

// peDir is a data directory entry.
type peDir struct{ rva, size uint32 }

// exportPage returns one page of code at rva (int3 filler) holding a stub
// for each name and, after them, an export directory naming dll, and the
// directory's entry and each export's RVA. Functions keep the order of
// names (ordinals from 1); the name table is sorted, as the loader's
// binary search needs, so name ordinals are a permutation.
func exportPage(machine uint32, rva uint32, dll string, names []string) ([]byte, peDir, map[string]uint32) {
	page := make([]byte, PageSize)
	for i := range page {
		page[i] = 0xCC
	}
	funcs := make(map[string]uint32, len(names))
	for i, n := range names {
		copy(page[i*stubSize:], exportStubs[machine])
		funcs[n] = rva + uint32(i*stubSize)
	}
	dirRVA := rva + exportDirOff
	t := exportTable(dirRVA, dll, names, funcs)
	if exportDirOff+len(t) > PageSize {
		return nil, peDir{}, nil
	}
	copy(page[exportDirOff:], t)
	return page, peDir{dirRVA, uint32(len(t))}, funcs
}

// exportTable lays out an export directory at rva: IMAGE_EXPORT_DIRECTORY,
// AddressOfFunctions, AddressOfNames, AddressOfNameOrdinals, then the DLL
// name and the export names.
func exportTable(rva uint32, dll string, names []string, funcs map[string]uint32) []byte {
	le := binary.LittleEndian
	n := uint32(len(names))
	const dirSize = 40
	funcsAt := uint32(dirSize)
	namesAt := funcsAt + 4*n
	ordsAt := namesAt + 4*n
	strAt := ordsAt + 2*n
	b := make([]byte, strAt)
	b = append(b, dll...)
	b = append(b, 0)
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for i, name := range sorted {
		le.PutUint32(b[namesAt+4*uint32(i):], rva+uint32(len(b)))
		le.PutUint16(b[ordsAt+2*uint32(i):], uint16(slices.Index(names, name)))
		b = append(b, name...)
		b = append(b, 0)
	}
	for i, name := range names {
		le.PutUint32(b[funcsAt+4*uint32(i):], funcs[name])
	}
	le.PutUint32(b[12:], rva+strAt) // Name
	le.PutUint32(b[16:], 1)         // Base
	le.PutUint32(b[20:], n)         // NumberOfFunctions
	le.PutUint32(b[24:], n)         // NumberOfNames
	le.PutUint32(b[28:], rva+funcsAt)
	le.PutUint32(b[32:], rva+namesAt)
	le.PutUint32(b[36:], rva+ordsAt)
	return b
}

// Export returns the address of a routine a module exports: the kernel's
// ExAllocatePoolWithTag, ExFreePoolWithTag, ExAllocatePool2,
// ExAllocatePoolWithQuotaTag and ExAllocatePool, or those named in a
// generated Module's Exports. module is the module's name, compared
// case-insensitively; "ntoskrnl.exe" also names the kernel whatever its
// file name, as it does in drivers' import tables.
func (b *Builder) Export(module, name string) (uint64, bool) {
	m := b.exporter(module)
	if m == nil {
		return 0, false
	}
	rva, ok := m.exports[name]
	return m.base + uint64(rva), ok
}

// exporter returns the loaded module an import of dll binds to.
func (b *Builder) exporter(dll string) *module {
	if strings.EqualFold(dll, "ntoskrnl.exe") && len(b.modules) > 0 {
		return &b.modules[0]
	}
	for i := range b.modules {
		if strings.EqualFold(b.modules[i].name, dll) {
			return &b.modules[i]
		}
	}
	return nil
}
