package pe

import (
	"encoding/binary"
	"fmt"
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
	lfanew := int(binary.LittleEndian.Uint32(m[0x3C:]))
	fh := lfanew + 4
	nsec := int(binary.LittleEndian.Uint16(m[fh+2:]))
	optSize := int(binary.LittleEndian.Uint16(m[fh+16:]))
	opt := fh + 20
	shdr := opt + optSize
	if opt+2 > len(m) {
		return nil, 0, &FormatError{name, "optional header", int64(opt), "past the end of the image"}
	}
	var base uint64
	var baseOff int
	var baseSize int
	switch magic := binary.LittleEndian.Uint16(m[opt:]); magic {
	case 0x20B:
		baseOff, baseSize = opt+24, 8
	case 0x10B:
		baseOff, baseSize = opt+28, 4
	default:
		return nil, 0, &FormatError{name, "optional header magic", int64(opt), fmt.Sprintf("%#x, want 0x10b or 0x20b", magic)}
	}
	if baseOff+baseSize > len(m) || opt+64 > len(m) {
		return nil, 0, &FormatError{name, "optional header", int64(opt), "truncated"}
	}
	if baseSize == 8 {
		base = binary.LittleEndian.Uint64(m[baseOff:])
	} else {
		base = uint64(binary.LittleEndian.Uint32(m[baseOff:]))
	}
	sizeOfHeaders := int(binary.LittleEndian.Uint32(m[opt+60:]))
	if shdr+40*nsec > len(m) {
		return nil, 0, &FormatError{name, "section headers", int64(shdr), fmt.Sprintf("%d headers do not fit in %d bytes", nsec, len(m))}
	}
	size := sizeOfHeaders
	for i := 0; i < nsec; i++ {
		h := m[shdr+40*i:]
		raw := int(binary.LittleEndian.Uint32(h[16:]))
		ptr := int(binary.LittleEndian.Uint32(h[20:]))
		if raw > 0 && ptr+raw > size {
			size = ptr + raw
		}
	}
	// Raw sizes are the virtual sizes rounded up to FileAlignment, so a
	// file layout much larger than the image means a corrupt table.
	if size <= 0 || size > maxImageSize || size > 2*len(m)+1<<20 {
		return nil, 0, &FormatError{name, "section headers", int64(shdr), fmt.Sprintf("they describe a %d-byte file for a %d-byte image", size, len(m))}
	}
	out := make([]byte, size)
	copy(out, m[:min(sizeOfHeaders, len(m))])
	for i := 0; i < nsec; i++ {
		h := m[shdr+40*i:]
		va := int(binary.LittleEndian.Uint32(h[12:]))
		raw := int(binary.LittleEndian.Uint32(h[16:]))
		ptr := int(binary.LittleEndian.Uint32(h[20:]))
		if raw == 0 || va >= len(m) || ptr >= len(out) {
			continue
		}
		copy(out[ptr:min(ptr+raw, len(out))], m[va:min(va+raw, len(m))])
	}
	if baseSize == 8 {
		binary.LittleEndian.PutUint64(out[baseOff:], base&^0xFFFF)
	} else {
		binary.LittleEndian.PutUint32(out[baseOff:], uint32(base)&^0xFFFF)
	}
	return out, base, nil
}
