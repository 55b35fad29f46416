package pe

import "encoding/binary"

// ThumbNote is the warning on every ARM32 image: Windows on ARM32 (RT, 10
// IoT Core) runs Thumb-2 code, whose calls are not followed.
const ThumbNote = "ARM32 (Thumb-2) code: call-site decoding is not supported; only immediate evidence (MOVW/MOVT pairs, literal loads) and byte evidence remain"

// thumbPairWindow is how many instructions a MOVT may follow the MOVW of
// the same register and still complete its constant.
const thumbPairWindow = 8

// scanThumb finds the 32-bit constants ARM32 code builds: a MOVW/MOVT pair
// into one register, or a load from a literal pool (LDR Rt, [PC, #imm]).
// They become immediate evidence; the calls they feed are not followed.
func scanThumb(im *image, ev *evidenceBuilder) {
	for _, s := range im.sections {
		if !s.code {
			continue
		}
		code := im.sectionData(s)
		var low [16]struct {
			v  uint16
			at int
			ok bool
		}
		n := 0
		for off := 0; off+2 <= len(code); n++ {
			pc := s.va + uint32(off)
			hw := binary.LittleEndian.Uint16(code[off:])
			if hw>>11 < 0x1D { // a 16-bit instruction
				off += 2
				if hw&0xF800 == 0x4800 { // LDR Rt, [PC, #imm8*4]
					thumbLiteral(im, ev, (pc+4)&^3+uint32(hw&0xFF)*4)
				}
				continue
			}
			if off+4 > len(code) {
				break
			}
			hw2 := binary.LittleEndian.Uint16(code[off+2:])
			off += 4
			switch {
			case hw&0xFBF0 == 0xF240 && hw2&0x8000 == 0: // MOVW Rd, #imm16
				rd := hw2 >> 8 & 0xF
				low[rd].v, low[rd].at, low[rd].ok = thumbImm16(hw, hw2), n, true
			case hw&0xFBF0 == 0xF2C0 && hw2&0x8000 == 0: // MOVT Rd, #imm16
				rd := hw2 >> 8 & 0xF
				if l := low[rd]; l.ok && n-l.at <= thumbPairWindow {
					ev.immediate(uint32(thumbImm16(hw, hw2))<<16 | uint32(l.v))
				}
				low[rd].ok = false
			case hw&0xFF7F == 0xF85F: // LDR.W Rt, [PC, #+/-imm12]
				lit := (pc + 4) &^ 3
				if hw&0x80 != 0 {
					lit += uint32(hw2 & 0xFFF)
				} else {
					lit -= uint32(hw2 & 0xFFF)
				}
				thumbLiteral(im, ev, lit)
			}
		}
	}
}

// thumbImm16 assembles imm4:i:imm3:imm8 of a MOVW or MOVT.
func thumbImm16(hw, hw2 uint16) uint16 {
	return (hw&0xF)<<12 | (hw>>10&1)<<11 | (hw2>>12&7)<<8 | hw2&0xFF
}

func thumbLiteral(im *image, ev *evidenceBuilder, rva uint32) {
	if b := im.bytesAt(rva, 4); len(b) == 4 {
		ev.immediate(binary.LittleEndian.Uint32(b))
	}
}
