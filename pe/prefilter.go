package pe

import (
	"encoding/binary"

	"github.com/poolblame/poolblame/pooltag"
)

// codeMayHold reports whether the code sections could produce evidence for
// one of the wanted tags, checked without decoding. On x86 and x64 a tag
// can only enter a register or the stack through an imm32 holding its
// four bytes; on ARM64 through a literal holding them, or a MOVZ or MOVK
// holding one of its halves. Decoding is most of the cost of a scan, and
// most drivers of a folder hold none of the few tags a user asks about.
// A wanted tag that is not tag-like (zero, say) may be built otherwise, so
// then the code is always decoded. ARM32 code splits constants into
// MOVW/MOVT fields; its scan is a cheap linear pass, always made.
func codeMayHold(im *image, want map[pooltag.Tag]bool) bool {
	if im.machine == MachineARMNT {
		return true
	}
	var first [256]bool
	halves := map[uint16]bool{}
	for t := range want {
		if !t.Printable() {
			return true
		}
		first[byte(t)] = true
		halves[uint16(t)] = true
		halves[uint16(t>>16)] = true
		halves[uint16(t>>16)|0x8000] = true
	}
	for _, s := range im.sections {
		if !s.code {
			continue
		}
		code := im.sectionData(s)
		for i := 0; i+4 <= len(code); i++ {
			if first[code[i]] && want[pooltag.Tag(binary.LittleEndian.Uint32(code[i:])).Unprotected()] {
				return true
			}
		}
		if im.machine != MachineARM64 {
			continue
		}
		for i := 0; i+4 <= len(code); i += 4 {
			w := binary.LittleEndian.Uint32(code[i:])
			// MOVZ/MOVK, 32- or 64-bit: sf x x 1 0 0 1 0 1 hw imm16 Rd,
			// opc 10 (MOVZ) or 11 (MOVK).
			if w&0x1F800000 == 0x12800000 && w>>29&3 >= 2 && halves[uint16(w>>5)] {
				return true
			}
		}
	}
	return false
}
