package pe

import (
	"encoding/binary"
	"testing"

	"github.com/poolblame/poolblame/pooltag"
	"golang.org/x/arch/arm64/arm64asm"
)

// TestARM64ConstantMoves: each way the ARM64 walker follows a constant
// into a register, from hand-encoded instruction words. The op is checked
// first, so a case cannot drift to another path (arm64asm prints most
// MOVZ/MOVN/ORR forms as MOV); then the register must hold what the CPU
// would put there, and a tag built 16 bits at a time must count as an
// immediate.
func TestARM64ConstantMoves(t *testing.T) {
	const isil = 0x6C695349 // "ISil" as the CPU holds it
	known := func(n uint64) value { return value{kind: vImm, n: n} }
	tests := []struct {
		name  string
		words []uint32 // W0/X0 is the destination throughout
		ops   []arm64asm.Op
		want  value
		imm   uint32 // a tag the evidence must hold as an immediate, or 0
	}{
		{"MOV then MOVK", []uint32{0x528A6920, 0x72AD8D20}, // mov w0,#0x5349; movk w0,#0x6c69,lsl #16
			[]arm64asm.Op{arm64asm.MOV, arm64asm.MOVK}, known(isil), isil},
		{"MOVZ zero, then two MOVK", []uint32{0x52A00000, 0x728A6920, 0x72AD8D20}, // movz w0,#0,lsl #16; movk; movk
			[]arm64asm.Op{arm64asm.MOVZ, arm64asm.MOVK, arm64asm.MOVK}, known(isil), isil},
		{"MOVN 32-bit", []uint32{0x129FFFE0}, // movn w0,#0xffff
			[]arm64asm.Op{arm64asm.MOVN}, known(0xFFFF0000), 0},
		{"MOVN then MOVK keeps 32 bits", []uint32{0x129FFFE0, 0x728A6920}, // movn w0,#0xffff; movk w0,#0x5349
			[]arm64asm.Op{arm64asm.MOVN, arm64asm.MOVK}, known(0xFFFF5349), 0},
		{"MOVK of an unknown register", []uint32{0x72AD8D20},
			[]arm64asm.Op{arm64asm.MOVK}, value{}, 0},
		{"ORR from WZR with a bit mask", []uint32{0x32003FE0}, // orr w0,wzr,#0xffff
			[]arm64asm.Op{arm64asm.ORR}, known(0xFFFF), 0},
		{"ORR from another register", []uint32{0x32003C20}, // orr w0,w1,#0xffff
			[]arm64asm.Op{arm64asm.ORR}, value{}, 0},
		{"ORR shifted register from WZR", []uint32{0x2A0113E0}, // orr w0,wzr,w1,lsl #4
			[]arm64asm.Op{arm64asm.ORR}, value{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &arm64Walker{im: &image{}, ev: newEvidenceBuilder(nil), rec: newFlowRecorder(0, 31), literals: map[uint32]bool{}}
			st := &w.rec.st
			st.regs[0] = value{kind: vParam, n: 9} // something to overwrite
			for i, word := range tt.words {
				var b [4]byte
				binary.LittleEndian.PutUint32(b[:], word)
				in, err := arm64asm.Decode(b[:])
				if err != nil {
					t.Fatalf("%08x: %v", word, err)
				}
				if in.Op != tt.ops[i] {
					t.Fatalf("%08x decodes as %v, want op %v", word, in, tt.ops[i])
				}
				st.n++
				if w.step(0x1000+4*uint32(i), word, &in) {
					t.Fatalf("%v ends the flow", in)
				}
			}
			got := st.regs[0]
			if got.kind != tt.want.kind || got.n != tt.want.n {
				t.Errorf("X0 = kind %v %#x, want kind %v %#x", got.kind, got.n, tt.want.kind, tt.want.n)
			}
			if tt.imm != 0 {
				if c := w.ev.code[pooltag.Tag(tt.imm)]; c == nil || c.immediates == 0 {
					t.Errorf("no immediate evidence for %#x", tt.imm)
				}
			}
		})
	}
}
