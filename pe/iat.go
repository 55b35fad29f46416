package pe

import "encoding/binary"

// bindIAT names IAT slots of an image read from memory by what they hold.
// The loader wrote the address of each imported routine into its slot;
// the import names that said which routine a slot is for lie in INIT,
// which Windows frees once the driver has started, while the slots
// (in .rdata or .idata) stay. mem is the image in memory layout. Slots
// already named by the import table keep their names. It returns how
// many slots it named.
//
// The IAT directory (data directory 12) says where the slots are. Without
// one, or when it reads as zeros (its page not in the dump), every
// pointer-aligned word of the non-executable sections is tried: a word
// equal to a pool routine's address is a slot the code can call through,
// whether the loader or the driver wrote it.
func (im *image) bindIAT(mem []byte, k *KernelExports) int {
	named := 0
	scan := func(start, end uint64) (nonZero bool) {
		end = min(end, uint64(len(mem)))
		for rva := start; rva+uint64(im.ptr) <= end; rva += uint64(im.ptr) {
			var v uint64
			if im.ptr == 4 {
				v = uint64(binary.LittleEndian.Uint32(mem[rva:]))
			} else {
				v = binary.LittleEndian.Uint64(mem[rva:])
			}
			if v == 0 {
				continue
			}
			nonZero = true
			if r, ok := k.routine(v); ok {
				if _, known := im.slots[uint32(rva)]; !known {
					im.slots[uint32(rva)] = r
					named++
				}
			}
		}
		return nonZero
	}
	if im.iat.end > im.iat.start && scan(uint64(im.iat.start), uint64(im.iat.end)) {
		return named
	}
	for _, s := range im.sections {
		if s.code {
			continue
		}
		size := s.vsize
		if size == 0 {
			size = s.rawSize
		}
		start := (uint64(s.va) + uint64(im.ptr) - 1) &^ uint64(im.ptr-1)
		scan(start, uint64(s.va)+uint64(size))
	}
	return named
}
