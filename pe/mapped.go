package pe

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/poolblame/poolblame/internal/peimage"
)

// maxImageSize bounds the file layout rebuilt from a memory image, so that
// corrupt headers cannot ask for gigabytes.
const maxImageSize = 256 << 20

// fileLayout rebuilds the file layout of an image read from memory: the
// headers, then each section's bytes moved from its VirtualAddress to its
// PointerToRawData. The parser only understands file layout. It also
// returns the ImageBase from the header, which the loader has set to the
// address the image was relocated to; in the copy it is rounded down to
// 64 KiB, which the parser insists on and the kernel does not.
func fileLayout(name string, m []byte) ([]byte, uint64, error) {
	h, err := peimage.NewFile(bytes.NewReader(m), int64(len(m)))
	if err != nil {
		return nil, 0, imageError(name, err)
	}
	base := h.ImageBase()
	sizeOfHeaders := int(h.SizeOfHeaders())
	size := sizeOfHeaders
	for _, s := range h.Sections {
		raw, ptr := int(s.SizeOfRawData), int(s.PointerToRawData)
		if raw > 0 && ptr+raw > size {
			size = ptr + raw
		}
	}
	// Raw sizes are the virtual sizes rounded up to FileAlignment, so a
	// file layout much larger than the image means a corrupt table.
	if size <= 0 || size > maxImageSize || size > 2*len(m)+1<<20 {
		return nil, 0, &FormatError{name, "section headers", h.SectionTableOffset(), fmt.Sprintf("they describe a %d-byte file for a %d-byte image", size, len(m))}
	}
	out := make([]byte, size)
	copy(out, m[:min(sizeOfHeaders, len(m))])
	for _, s := range h.Sections {
		va, raw, ptr := int(s.VirtualAddress), int(s.SizeOfRawData), int(s.PointerToRawData)
		if raw == 0 || va >= len(m) || ptr >= len(out) {
			continue
		}
		copy(out[ptr:min(ptr+raw, len(out))], m[va:min(va+raw, len(m))])
	}
	// The reader has checked that the section table, which follows
	// ImageBase, ends within SizeOfHeaders: the field is in the copy.
	if at := h.ImageBaseOffset(); h.Is64() {
		binary.LittleEndian.PutUint64(out[at:], base&^0xFFFF)
	} else {
		binary.LittleEndian.PutUint32(out[at:], uint32(base)&^0xFFFF)
	}
	return out, base, nil
}
