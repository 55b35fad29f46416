package dumptest

import (
	"bytes"
	"encoding/binary"
)

// Import table layouts, by optional header magic: pointer size, where the
// data directories start in the optional header, and the ordinal flag of
// a lookup table entry.
var importLayouts = map[uint16]struct {
	ptr     uint32
	dirs    uint32
	ordinal uint64
}{
	0x10B: {4, 96, 1 << 31},  // PE32
	0x20B: {8, 112, 1 << 63}, // PE32+
}

const (
	importDirIndex = 1
	descriptorSize = 20 // IMAGE_IMPORT_DESCRIPTOR
	maxDescriptors = 4096
	maxThunks      = 1 << 16
	maxImportName  = 512
)

// bindImports does to a mapped image (mem, SizeOfImage bytes) what the
// loader does to a driver's imports: each IAT slot of a routine exported
// by a module already loaded gets the routine's address. Imports nobody
// exports, and imports by ordinal, stay unbound. With discard it then
// zeroes the import descriptors, the lookup tables, the hint/name entries
// and the DLL names, which drivers keep in INIT. A malformed import table
// is a misuse.
func (b *Builder) bindImports(name string, mem []byte, discard bool) {
	le := binary.LittleEndian
	fail := func(format string, args ...any) {
		b.misuse("AddModule(%s): import table: "+format, append([]any{name}, args...)...)
	}
	at := func(rva, n uint32) []byte {
		if uint64(rva)+uint64(n) > uint64(len(mem)) {
			fail("%d bytes at RVA %#x lie outside the %#x-byte image", n, rva, len(mem))
		}
		return mem[rva : rva+n]
	}
	cstr := func(rva uint32) string {
		at(rva, 1) // in the image
		s := mem[rva:min(len(mem), int(rva)+maxImportName)]
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			fail("name at RVA %#x is not NUL-terminated within %d bytes", rva, maxImportName)
		}
		return string(s[:i])
	}
	opt := le.Uint32(at(0x3C, 4)) + 4 + 20
	lay, ok := importLayouts[le.Uint16(at(opt, 2))]
	if !ok {
		fail("optional header magic %#x", le.Uint16(at(opt, 2)))
	}
	if le.Uint32(at(opt+lay.dirs-4, 4)) <= importDirIndex {
		return // NumberOfRvaAndSizes: no import directory
	}
	dir := opt + lay.dirs + 8*importDirIndex
	descRVA := le.Uint32(at(dir, 4))
	if descRVA == 0 || le.Uint32(at(dir+4, 4)) == 0 {
		return
	}
	ptr := func(rva uint32) uint64 {
		if lay.ptr == 4 {
			return uint64(le.Uint32(at(rva, 4)))
		}
		return le.Uint64(at(rva, 8))
	}
	type span struct{ rva, n uint32 }
	var discarded []span
	n := uint32(0)
	for ; ; n++ {
		if n == maxDescriptors {
			fail("more than %d descriptors", maxDescriptors)
		}
		d := at(descRVA+n*descriptorSize, descriptorSize)
		if bytes.Count(d, []byte{0}) == descriptorSize {
			break
		}
		lookupRVA, nameRVA, iatRVA := le.Uint32(d[0:]), le.Uint32(d[12:]), le.Uint32(d[16:])
		dll := cstr(nameRVA)
		discarded = append(discarded, span{nameRVA, uint32(len(dll)) + 1})
		exp := b.exporter(dll)
		names := lookupRVA
		if names == 0 {
			names = iatRVA // no lookup table: the IAT holds the names until bound
		}
		k := uint32(0)
		for ; ; k++ {
			if k == maxThunks {
				fail("%s: more than %d imports", dll, maxThunks)
			}
			v := ptr(names + k*lay.ptr)
			if v == 0 {
				break
			}
			if v&lay.ordinal != 0 {
				continue
			}
			hint := uint32(v & 0x7FFFFFFF)
			fn := cstr(hint + 2)
			discarded = append(discarded, span{hint, 2 + uint32(len(fn)) + 1})
			if exp == nil {
				continue
			}
			if rva, ok := exp.exports[fn]; ok {
				slot := at(iatRVA+k*lay.ptr, lay.ptr)
				if lay.ptr == 4 {
					le.PutUint32(slot, uint32(exp.base+uint64(rva)))
				} else {
					le.PutUint64(slot, exp.base+uint64(rva))
				}
			}
		}
		if lookupRVA != 0 && lookupRVA != iatRVA {
			discarded = append(discarded, span{lookupRVA, (k + 1) * lay.ptr})
		}
	}
	if !discard {
		return
	}
	discarded = append(discarded, span{descRVA, (n + 1) * descriptorSize})
	for _, s := range discarded {
		clear(at(s.rva, s.n))
	}
}
