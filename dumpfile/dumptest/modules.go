package dumptest

import (
	"encoding/binary"
	"slices"
	"unicode/utf16"
)

// Module is a loaded driver to add to the module list.
type Module struct {
	Name string // BaseDllName, e.g. "tcpip.sys"; required
	Path string // FullDllName; "": \SystemRoot\system32\drivers\<Name>
	Base uint64 // 0: the next free slot in the module region

	// Image is a PE file in file layout. It is mapped in memory layout:
	// the headers, then each section at its VirtualAddress, zero-filled
	// to SizeOfImage. nil: a one-page PE header is made from the fields
	// below.
	Image []byte

	Size, TimeDateStamp, CheckSum uint32 // used when Image is nil; Size is SizeOfImage (0: 0x8000)

	PagedOut []int // indexes of image pages to leave paged out

	// Exports, for a generated image (Image nil), are routine names the
	// module exports: stubs and an export directory in its first .text
	// page, which must exist (Size at least 0x2000). Drivers added later
	// that import them get their addresses.
	Exports []string

	// DiscardImports zeroes the image's import descriptors, lookup tables,
	// hint/name entries and DLL names once its imports are bound, as
	// Windows frees a driver's INIT section after DriverEntry. The IAT
	// slots, outside INIT, keep the bound addresses. Whether or not it is
	// set, imports are bound as the loader binds them: each IAT slot of a
	// routine exported by a module already loaded (ntoskrnl.exe naming the
	// kernel) gets the routine's address.
	DiscardImports bool
}

const defaultModuleSize = 0x8000

// AddModule maps m and links an LDR_DATA_TABLE_ENTRY for it at the end
// of the loaded-module list. It returns the image base.
func (b *Builder) AddModule(m Module) uint64 {
	if m.Name == "" {
		b.misuse("AddModule: Name is required")
	}
	base := m.Base
	if base == 0 {
		base = alignUp(b.modNext, 0x10000)
	}
	var img peImage
	var exports map[string]uint32
	if m.Image != nil {
		var err error
		if img, err = loadPE(m.Image); err != nil {
			b.misuse("AddModule(%s): %v", m.Name, err)
		}
		if len(m.Exports) > 0 {
			b.misuse("AddModule(%s): Exports applies to generated images; an Image has its own export directory", m.Name)
		}
		mem := img.memory()
		b.bindImports(m.Name, mem, m.DiscardImports)
		img.chunks = []peChunk{{0, mem}}
	} else {
		size := m.Size
		if size == 0 {
			size = defaultModuleSize
		}
		img = peImage{
			sizeOfImage:   uint32(alignUp(uint64(size), PageSize)),
			entryRVA:      PageSize,
			timeDateStamp: m.TimeDateStamp,
			checkSum:      m.CheckSum,
		}
		var secs []peSection
		if img.sizeOfImage > PageSize {
			secs = append(secs, peSection{".text", PageSize, img.sizeOfImage - PageSize, scnCode})
		}
		var text []byte
		if len(m.Exports) > 0 {
			if len(secs) == 0 || len(m.Exports) > maxExports {
				b.misuse("AddModule(%s): %d exports need a .text page (Size at least 0x2000) and at most %d names", m.Name, len(m.Exports), maxExports)
			}
			text, img.exportDir, exports = exportPage(b.arch.machine, PageSize, m.Name, m.Exports)
			if text == nil {
				b.misuse("AddModule(%s): the export directory of %d names does not fit in one page", m.Name, len(m.Exports))
			}
		}
		// The header names the module's own base, as a relocated image's does.
		img.chunks = []peChunk{{0, peHeaders(b.arch, base, img, secs)}}
		if text != nil {
			img.chunks = append(img.chunks, peChunk{PageSize, text})
		}
	}
	if base&(PageSize-1) != 0 {
		b.misuse("AddModule(%s): base %#x is not page aligned", m.Name, base)
	}
	pages := int(alignUp(uint64(img.sizeOfImage), PageSize) / PageSize)
	for _, i := range m.PagedOut {
		if i < 0 || i >= pages {
			b.misuse("AddModule(%s): PagedOut page %d outside the image (%d pages)", m.Name, i, pages)
		}
	}
	b.checkVA(base, uint64(img.sizeOfImage))
	b.mapImage(base, img, m.PagedOut)
	if end := base + uint64(img.sizeOfImage); end > b.modNext {
		b.modNext = end
	}
	path := m.Path
	if path == "" {
		path = `\SystemRoot\system32\drivers\` + m.Name
	}
	b.addModule(module{
		name:          m.Name,
		path:          path,
		base:          base,
		size:          img.sizeOfImage,
		timeDateStamp: img.timeDateStamp,
		checkSum:      img.checkSum,
		exports:       exports,
	}, img.entryRVA)
	return base
}

// mapImage maps every page of the image at base (paged-out ones as such)
// and writes its chunks, skipping the bytes of paged-out pages.
func (b *Builder) mapImage(base uint64, img peImage, pagedOut []int) {
	size := alignUp(uint64(img.sizeOfImage), PageSize)
	for off := uint64(0); off < size; off += PageSize {
		va := base + off
		if slices.Contains(pagedOut, int(off/PageSize)) {
			if _, ok := b.leaves[va>>12]; ok || b.largeAt(va) != nil {
				b.misuse("image page %#x is already mapped", va)
			}
			b.mapLeaf(va, leafPagedOut)
			continue
		}
		b.mapFresh(va)
	}
	for _, c := range img.chunks {
		for d, va := c.data, base+uint64(c.rva); len(d) > 0; {
			n := min(uint64(len(d)), PageSize-va&(PageSize-1))
			if !slices.Contains(pagedOut, int((va-base)/PageSize)) {
				b.Write(va, d[:n])
			}
			va += n
			d = d[n:]
		}
	}
}

// addModule writes the LDR_DATA_TABLE_ENTRY of m and its name strings in
// pool memory and links it last in PsLoadedModuleList.
func (b *Builder) addModule(m module, entryRVA uint32) {
	l, ps := b.arch.ldr, uint64(b.arch.ptrSize)
	e := b.Alloc(l.size, 16)
	b.PutPtr(e+uint64(l.dllBase), m.base)
	b.PutPtr(e+uint64(l.entryPoint), m.base+uint64(entryRVA))
	b.PutU32(e+uint64(l.sizeOfImage), m.size)
	b.putUnicodeString(e+uint64(l.fullDllName), m.path)
	b.putUnicodeString(e+uint64(l.baseDllName), m.name)
	b.PutU32(e+uint64(l.flags), 0x49104000) // typical driver entry flags
	b.PutU32(e+uint64(l.checkSum), m.checkSum)
	b.PutU32(e+uint64(l.timeDateStamp), m.timeDateStamp)

	head := b.syms["PsLoadedModuleList"]
	last := b.ReadPtr(head + ps) // head.Blink
	b.PutPtr(e, head)            // Flink
	b.PutPtr(e+ps, last)         // Blink
	b.PutPtr(last, e)            // last.Flink (head.Flink when the list is empty)
	b.PutPtr(head+ps, e)
	m.entry = e
	b.modules = append(b.modules, m)
}

// putUnicodeString allocates s as UTF-16 and writes a UNICODE_STRING
// describing it at va.
func (b *Builder) putUnicodeString(va uint64, s string) {
	u := utf16.Encode([]rune(s))
	buf := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(buf[2*i:], c)
	}
	p := b.Alloc(len(buf), 8)
	b.Write(p, buf)
	b.PutU16(va, uint16(2*len(u)))
	b.PutU16(va+2, uint16(len(buf)))
	b.PutPtr(va+uint64(b.arch.ldr.stringBuffer), p)
}
