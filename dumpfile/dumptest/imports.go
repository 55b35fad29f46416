package dumptest

import (
	"bytes"
	"encoding/binary"
)

// importLayout is what differs between PE32 and PE32+ import tables.
type importLayout struct {
	ptr     uint32 // pointer size
	dirs    uint32 // where the data directories start in the optional header
	ordinal uint64 // the ordinal flag of a lookup table entry
}

// importLayouts by optional header magic.
var importLayouts = map[uint16]importLayout{
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
	im := &importImage{b: b, name: name, mem: mem}
	descRVA, ok := im.importDir()
	if !ok {
		return
	}
	var discarded []span
	n := uint32(0)
	for ; ; n++ {
		if n == maxDescriptors {
			im.fail("more than %d descriptors", maxDescriptors)
		}
		d := im.at(descRVA+n*descriptorSize, descriptorSize)
		if bytes.Count(d, []byte{0}) == descriptorSize {
			break
		}
		discarded = im.bindDLL(d, discarded)
	}
	if !discard {
		return
	}
	discarded = append(discarded, span{descRVA, (n + 1) * descriptorSize})
	for _, s := range discarded {
		clear(im.at(s.rva, s.n))
	}
}

// span is a range of the image that INIT would hold.
type span struct{ rva, n uint32 }

// importImage reads and binds one mapped image's import table. Every read
// outside the image is a misuse naming the module.
type importImage struct {
	b    *Builder
	name string
	mem  []byte
	lay  importLayout
}

func (im *importImage) fail(format string, args ...any) {
	im.b.misuse("AddModule(%s): import table: "+format, append([]any{im.name}, args...)...)
}

func (im *importImage) at(rva, n uint32) []byte {
	if uint64(rva)+uint64(n) > uint64(len(im.mem)) {
		im.fail("%d bytes at RVA %#x lie outside the %#x-byte image", n, rva, len(im.mem))
	}
	return im.mem[rva : rva+n]
}

func (im *importImage) cstr(rva uint32) string {
	im.at(rva, 1) // in the image
	s := im.mem[rva:min(len(im.mem), int(rva)+maxImportName)]
	i := bytes.IndexByte(s, 0)
	if i < 0 {
		im.fail("name at RVA %#x is not NUL-terminated within %d bytes", rva, maxImportName)
	}
	return string(s[:i])
}

func (im *importImage) ptr(rva uint32) uint64 {
	if im.lay.ptr == 4 {
		return uint64(binary.LittleEndian.Uint32(im.at(rva, 4)))
	}
	return binary.LittleEndian.Uint64(im.at(rva, 8))
}

func (im *importImage) setPtr(rva uint32, v uint64) {
	if im.lay.ptr == 4 {
		binary.LittleEndian.PutUint32(im.at(rva, 4), uint32(v))
	} else {
		binary.LittleEndian.PutUint64(im.at(rva, 8), v)
	}
}

// importDir reads the headers' layout and finds the import descriptors;
// ok is false for an image without any.
func (im *importImage) importDir() (descRVA uint32, ok bool) {
	le := binary.LittleEndian
	opt := le.Uint32(im.at(0x3C, 4)) + 4 + 20
	magic := le.Uint16(im.at(opt, 2))
	if im.lay, ok = importLayouts[magic]; !ok {
		im.fail("optional header magic %#x", magic)
	}
	if le.Uint32(im.at(opt+im.lay.dirs-4, 4)) <= importDirIndex {
		return 0, false // NumberOfRvaAndSizes: no import directory
	}
	dir := opt + im.lay.dirs + 8*importDirIndex
	descRVA = le.Uint32(im.at(dir, 4))
	if descRVA == 0 || le.Uint32(im.at(dir+4, 4)) == 0 {
		return 0, false
	}
	return descRVA, true
}

// bindDLL binds the imports of one descriptor d, and returns discarded
// with what INIT holds of it added: the DLL name, the hint/name entries
// and a lookup table apart from the IAT.
func (im *importImage) bindDLL(d []byte, discarded []span) []span {
	le := binary.LittleEndian
	lookupRVA, nameRVA, iatRVA := le.Uint32(d[0:]), le.Uint32(d[12:]), le.Uint32(d[16:])
	dll := im.cstr(nameRVA)
	discarded = append(discarded, span{nameRVA, uint32(len(dll)) + 1})
	exp := im.b.exporter(dll)
	names := lookupRVA
	if names == 0 {
		names = iatRVA // no lookup table: the IAT holds the names until bound
	}
	k := uint32(0)
	for ; ; k++ {
		if k == maxThunks {
			im.fail("%s: more than %d imports", dll, maxThunks)
		}
		v := im.ptr(names + k*im.lay.ptr)
		if v == 0 {
			break
		}
		if v&im.lay.ordinal != 0 {
			continue
		}
		hint := uint32(v & 0x7FFFFFFF)
		fn := im.cstr(hint + 2)
		discarded = append(discarded, span{hint, 2 + uint32(len(fn)) + 1})
		if exp == nil {
			continue
		}
		if rva, ok := exp.exports[fn]; ok {
			im.setPtr(iatRVA+k*im.lay.ptr, exp.base+uint64(rva))
		}
	}
	if lookupRVA != 0 && lookupRVA != iatRVA {
		discarded = append(discarded, span{lookupRVA, (k + 1) * im.lay.ptr})
	}
	return discarded
}
