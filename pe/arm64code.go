package pe

import (
	"encoding/binary"
	"strconv"
	"strings"

	"golang.org/x/arch/arm64/arm64asm"
)

// ARM64 (Windows uses AAPCS64): arguments in x0-x7, then the stack; x0-x17
// and x30 may change across a call. Tags are built with MOVZ/MOVK pairs or
// loaded from a literal pool.
func arm64TagLoc(r int) int64 {
	k := poolRoutines[r].tag
	if k < 8 {
		return regLoc(k)
	}
	return slotLoc(8 * int32(k-8))
}

var arm64Volatile = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 30}

// Operand classes returned by a64Reg.
const (
	a64GPR = iota
	a64Zero
	a64SP
	a64Other
)

// a64Reg classifies a register operand: a general register (number,
// 64-bit or not), the zero register, the stack pointer, or something else
// (SIMD and floating point registers).
func a64Reg(a arm64asm.Arg) (idx int, is64 bool, class int) {
	switch r := a.(type) {
	case arm64asm.Reg:
		return a64RegNum(r, false)
	case arm64asm.RegSP:
		return a64RegNum(arm64asm.Reg(r), true)
	}
	return 0, false, a64Other
}

func a64RegNum(r arm64asm.Reg, sp bool) (int, bool, int) {
	switch {
	case r >= arm64asm.W0 && r <= arm64asm.W30:
		return int(r - arm64asm.W0), false, a64GPR
	case r >= arm64asm.X0 && r <= arm64asm.X30:
		return int(r - arm64asm.X0), true, a64GPR
	case r == arm64asm.WZR || r == arm64asm.XZR:
		if sp {
			return 31, r == arm64asm.XZR, a64SP
		}
		return 31, r == arm64asm.XZR, a64Zero
	}
	return 0, false, a64Other
}

// memImmOf returns the immediate, scaled, of the [Xn,#imm] operand m of
// the instruction word: arm64asm keeps it unexported, and printing it to
// read it back cost a formatted string per load and store. The three
// load/store classes with an immediate are decoded from the word; any
// other falls back to the printed form.
func memImmOf(word uint32, m arm64asm.MemImmediate) int32 {
	switch {
	case word&0x3B000000 == 0x39000000: // register, unsigned imm12, scaled by the size
		scale := word >> 30
		if word&(1<<26) != 0 && word&(1<<23) != 0 {
			scale = 4 // 128-bit SIMD
		}
		return int32(word>>10&0xFFF) << scale
	case word&0x3B200000 == 0x38000000: // unscaled, pre- and post-indexed: signed imm9
		return int32(word<<11) >> 23
	case word&0x3A000000 == 0x28000000: // pair: signed imm7, scaled by the size
		scale := 2 + word>>31
		if word&(1<<26) != 0 {
			scale = 2 + word>>30
		}
		return int32(word<<10) >> 25 << scale
	}
	return memImm(m)
}

// memImm returns the immediate of a [Xn,#imm] operand from its printed
// form, "#imm", already scaled.
func memImm(m arm64asm.MemImmediate) int32 {
	s := m.String()
	i := strings.IndexByte(s, '#')
	if i < 0 {
		return 0
	}
	j := i + 1
	for j < len(s) && (s[j] == '-' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	n, _ := strconv.ParseInt(s[i+1:j], 10, 32)
	return int32(n)
}

// arm64Walker walks ARM64 code word by word.
type arm64Walker struct {
	im       *image
	rec      *flowRecorder
	ev       *evidenceBuilder
	literals map[uint32]bool // RVAs loaded by LDR (literal): data, not code
	word     uint32          // the instruction being applied
}

func scanARM64(im *image, ev *evidenceBuilder) *flowRecorder {
	w := &arm64Walker{im: im, ev: ev, rec: newFlowRecorder(0, 31), literals: map[uint32]bool{}}
	for _, s := range im.sections {
		if s.code {
			w.walk(s.va, im.sectionData(s))
		}
	}
	return w.rec
}

func (w *arm64Walker) walk(va uint32, code []byte) {
	st := &w.rec.st
	starts := w.im.starts
	data := w.im.inCode
	si := 0
	reset, flowEnd := true, false
	for off := 0; off+4 <= len(code); off += 4 {
		pc := va + uint32(off)
		if end := dataEnd(&data, pc); end > pc {
			off += int(end-pc+3)&^3 - 4
			reset, flowEnd = true, false
			continue
		}
		if w.literals[pc] {
			reset, flowEnd = true, false
			continue
		}
		for si < len(starts) && starts[si] < pc {
			si++
		}
		if start := si < len(starts) && starts[si] == pc; reset || start {
			w.rec.enter(pc, flowEnd && !start)
			reset = false
		} else {
			w.rec.pass(pc)
		}
		word := binary.LittleEndian.Uint32(code[off:])
		inst, err := arm64asm.Decode(code[off : off+4])
		if err != nil {
			reset, flowEnd = true, false
			continue
		}
		st.n++
		reset = w.step(pc, word, &inst)
		flowEnd = reset
	}
}

func (w *arm64Walker) imm(v uint64, at int32) value { return value{kind: vImm, n: v, at: at} }

// step applies one instruction; it reports whether control cannot fall
// through. It dispatches by family: branches, calls, moves of constants
// and addresses, loads and stores, and the rest.
func (w *arm64Walker) step(pc, word uint32, in *arm64asm.Inst) bool {
	w.word = word
	switch in.Op {
	case arm64asm.RET, arm64asm.BRK, arm64asm.HLT, arm64asm.ERET:
		return true
	case arm64asm.B, arm64asm.CBZ, arm64asm.CBNZ, arm64asm.TBZ, arm64asm.TBNZ:
		return w.stepBranch(pc, in)
	case arm64asm.BR, arm64asm.BLR, arm64asm.BL:
		return w.stepCall(pc, in)
	case arm64asm.MOV, arm64asm.MOVZ, arm64asm.MOVN, arm64asm.MOVK, arm64asm.ORR:
		w.stepMove(word, in)
	case arm64asm.ADRP, arm64asm.ADR, arm64asm.ADD, arm64asm.SUB, arm64asm.CSEL:
		w.stepAddress(pc, word, in)
	case arm64asm.LDR, arm64asm.LDUR, arm64asm.LDP, arm64asm.STR, arm64asm.STUR, arm64asm.STP:
		w.stepLoadStore(pc, in)
	case arm64asm.CMP, arm64asm.CMN, arm64asm.TST, arm64asm.CCMP, arm64asm.CCMN, arm64asm.NOP, arm64asm.HINT, arm64asm.PRFM,
		arm64asm.PRFUM, arm64asm.MSR, arm64asm.SYS, arm64asm.DMB, arm64asm.DSB, arm64asm.ISB,
		arm64asm.CLREX, arm64asm.SVC, arm64asm.FCMP, arm64asm.FCMPE:
		// No register or stack slot the walker follows changes.
	default:
		w.stepOther(in)
	}
	return false
}

// stepBranch follows B, B.cond, CBZ/CBNZ and TBZ/TBNZ. Only the
// unconditional B ends the flow; it is recorded as a possible tail call
// and carries the state to its target. A conditional branch lets values
// flow along it.
func (w *arm64Walker) stepBranch(pc uint32, in *arm64asm.Inst) bool {
	a := in.Args
	switch in.Op {
	case arm64asm.B:
		if rel, ok := a[0].(arm64asm.PCRel); ok { // not B.cond
			target := uint32(int64(pc) + int64(rel))
			w.rec.record(pc, target, false, true)
			w.rec.jumpEdge(pc, target)
			return true
		}
		w.branch(pc, a[1])
	case arm64asm.CBZ, arm64asm.CBNZ:
		w.branch(pc, a[1])
	default: // TBZ, TBNZ
		w.branch(pc, a[2])
	}
	return false
}

// stepCall records BL, BLR and BR: an indirect target is known when the
// register holds a value loaded from an import slot or an address. BR
// ends the flow; after a call the volatile registers are gone.
func (w *arm64Walker) stepCall(pc uint32, in *arm64asm.Inst) bool {
	a := in.Args
	if in.Op == arm64asm.BL {
		if rel, ok := a[0].(arm64asm.PCRel); ok {
			w.rec.record(pc, uint32(int64(pc)+int64(rel)), false, false)
		}
		w.clobberCall()
		return false
	}
	jump := in.Op == arm64asm.BR
	if idx, _, c := a64Reg(a[0]); c == a64GPR {
		switch v := w.rec.st.regs[idx]; v.kind {
		case vLoad:
			if _, ok := w.im.slots[uint32(v.n)]; ok {
				w.rec.record(pc, uint32(v.n), true, jump)
			}
		case vAddr:
			w.rec.record(pc, uint32(v.n), false, jump)
		}
	}
	if jump {
		return true
	}
	w.clobberCall()
	return false
}

// stepMove follows the ways a constant reaches a register: MOV, the
// MOVZ/MOVN/MOVK sequence that builds a tag 16 bits at a time, and ORR
// from the zero register. Every constant seen is a tag-like immediate.
func (w *arm64Walker) stepMove(word uint32, in *arm64asm.Inst) {
	st := &w.rec.st
	a := in.Args
	switch in.Op {
	case arm64asm.MOV:
		w.mov(a[0], a[1])
	case arm64asm.MOVZ, arm64asm.MOVN:
		// Forms arm64asm does not print as MOV: take the fields directly.
		imm := uint64(word>>5&0xFFFF) << (16 * (word >> 21 & 3))
		if in.Op == arm64asm.MOVN {
			imm = ^imm
		}
		if word>>31 == 0 {
			imm &= 0xFFFFFFFF
		}
		w.ev.immediate(uint32(imm))
		w.set(a[0], w.imm(imm, st.n))
	case arm64asm.MOVK:
		idx, _, c := a64Reg(a[0])
		if c != a64GPR {
			return
		}
		shift := 16 * (word >> 21 & 3)
		if v := st.regs[idx]; v.kind == vImm {
			n := v.n&^(0xFFFF<<shift) | uint64(word>>5&0xFFFF)<<shift
			if word>>31 == 0 {
				n &= 0xFFFFFFFF
			}
			w.ev.immediate(uint32(n))
			st.regs[idx] = w.imm(n, st.n)
		} else {
			st.regs[idx] = value{}
		}
	default: // ORR
		// ORR Rd, ZR, #imm is a constant move.
		if _, _, c := a64Reg(a[1]); c == a64Zero {
			if imm, ok := a[2].(arm64asm.Imm64); ok {
				w.ev.immediate(uint32(imm.Imm))
				w.set(a[0], w.imm(imm.Imm, st.n))
				return
			}
			if _, ok := a[2].(arm64asm.Reg); ok {
				w.mov(a[0], a[2])
				return
			}
		}
		w.set(a[0], value{})
	}
}

// stepAddress follows the instructions that form an address or pick a
// value: ADRP/ADR (PC-relative), ADD/SUB (page offsets, stack
// arithmetic) and CSEL.
func (w *arm64Walker) stepAddress(pc, word uint32, in *arm64asm.Inst) {
	st := &w.rec.st
	a := in.Args
	switch in.Op {
	case arm64asm.ADRP:
		if rel, ok := a[1].(arm64asm.PCRel); ok {
			w.set(a[0], value{kind: vAddr, n: uint64(int64(pc&^0xFFF) + int64(rel)), at: st.n})
		}
	case arm64asm.ADR:
		if rel, ok := a[1].(arm64asm.PCRel); ok {
			w.set(a[0], value{kind: vAddr, n: uint64(int64(pc) + int64(rel)), at: st.n})
		}
	case arm64asm.ADD, arm64asm.SUB:
		w.addSub(in.Op == arm64asm.SUB, word, a)
	default: // CSEL
		// Either value may arrive; keep a known one, so that
		// "tag = override ? override : tag" still yields the tag.
		v1, v2 := w.read(a[1]), w.read(a[2])
		if v1.kind == vImm || v1.kind == vParam {
			w.set(a[0], v1)
		} else {
			w.set(a[0], v2)
		}
	}
}

// stepLoadStore follows loads into registers and stores to stack slots,
// single and paired, so that a tag spilled and reloaded is still known.
func (w *arm64Walker) stepLoadStore(pc uint32, in *arm64asm.Inst) {
	st := &w.rec.st
	a := in.Args
	switch in.Op {
	case arm64asm.LDR, arm64asm.LDUR:
		w.load(pc, a[0], a[1])
	case arm64asm.LDP:
		if m, ok := a[2].(arm64asm.MemImmediate); ok {
			size := a64PairStride(a[0])
			off, ok := w.memOff(m)
			w.set(a[0], w.slotIf(off, ok))
			w.set(a[1], w.slotIf(off+size, ok))
			w.writeback(m)
		}
	case arm64asm.STR, arm64asm.STUR:
		if m, ok := a[1].(arm64asm.MemImmediate); ok {
			if off, ok := w.memOff(m); ok {
				st.setSlot(off, w.read(a[0]))
			}
			w.writeback(m)
		}
	default: // STP
		if m, ok := a[2].(arm64asm.MemImmediate); ok {
			size := a64PairStride(a[0])
			if off, ok := w.memOff(m); ok {
				st.setSlot(off, w.read(a[0]))
				st.setSlot(off+size, w.read(a[1]))
			}
			w.writeback(m)
		}
	}
}

// a64PairStride is the distance between the two slots of LDP/STP: the
// width of the first register.
func a64PairStride(r arm64asm.Arg) int32 {
	if _, is64, _ := a64Reg(r); is64 {
		return 8
	}
	return 4
}

// stepOther handles every instruction the walker does not model: a store
// forgets the stack slot it may write; anything else, exclusive stores
// included (their first operand is the status register they write),
// forgets its destination register. Base-register writeback is still
// applied.
func (w *arm64Walker) stepOther(in *arm64asm.Inst) {
	a := in.Args
	name := in.Op.String()
	if strings.HasPrefix(name, "ST") && !strings.HasSuffix(name, "XR") &&
		!strings.HasSuffix(name, "XRB") && !strings.HasSuffix(name, "XRH") {
		// Other stores: forget a stack slot they may write.
		for _, x := range a {
			if m, ok := x.(arm64asm.MemImmediate); ok {
				if off, ok := w.memOff(m); ok {
					w.rec.st.setSlot(off, value{})
				}
				w.writeback(m)
			}
		}
		return
	}
	w.set(a[0], value{})
	for _, x := range a {
		if m, ok := x.(arm64asm.MemImmediate); ok {
			w.writeback(m)
		}
	}
}

// branch records a conditional branch: values flow along it to its target
// (see flowRecorder.enter).
func (w *arm64Walker) branch(pc uint32, target arm64asm.Arg) {
	if rel, ok := target.(arm64asm.PCRel); ok {
		w.rec.branch(pc, uint32(int64(pc)+int64(rel)))
	}
}

func (w *arm64Walker) clobberCall() {
	for _, r := range arm64Volatile {
		w.rec.st.regs[r] = value{}
	}
}

// read returns a register operand's value.
func (w *arm64Walker) read(a arm64asm.Arg) value {
	st := &w.rec.st
	idx, _, c := a64Reg(a)
	switch c {
	case a64GPR:
		v := st.regs[idx]
		if v.kind == vImm {
			v.at = st.n
		}
		return v
	case a64Zero:
		return w.imm(0, st.n)
	case a64SP:
		return value{kind: vStack, n: uint64(int64(st.sp)), at: st.n}
	}
	return value{}
}

// set writes a register operand. Writing SP moves the tracked stack
// pointer when the new value is a known stack address.
func (w *arm64Walker) set(a arm64asm.Arg, v value) {
	st := &w.rec.st
	idx, _, c := a64Reg(a)
	switch c {
	case a64GPR:
		st.regs[idx] = v
	case a64SP:
		if v.kind == vStack {
			st.sp = int32(int64(v.n))
		}
	}
}

func (w *arm64Walker) mov(dst, src arm64asm.Arg) {
	st := &w.rec.st
	switch s := src.(type) {
	case arm64asm.Imm:
		w.ev.immediate(s.Imm)
		w.set(dst, w.imm(uint64(s.Imm), st.n))
	case arm64asm.Imm64:
		w.ev.immediate(uint32(s.Imm))
		w.set(dst, w.imm(s.Imm, st.n))
	default:
		w.set(dst, w.read(src))
	}
}

func (w *arm64Walker) addSub(sub bool, word uint32, a arm64asm.Args) {
	st := &w.rec.st
	if _, ok := a[2].(arm64asm.ImmShift); !ok || a[3] != nil {
		w.set(a[0], value{})
		return
	}
	imm := int64(word >> 10 & 0xFFF)
	if word>>22&1 == 1 {
		imm <<= 12
	}
	if sub {
		imm = -imm
	}
	src := w.read(a[1])
	switch src.kind {
	case vStack, vAddr:
		src.n = uint64(int64(src.n) + imm)
		src.at = st.n
		w.set(a[0], src)
	default:
		w.set(a[0], value{})
	}
}

// memOff returns the entry-relative stack offset of a [base,#imm]
// operand whose base is SP or a register pointing into the stack.
func (w *arm64Walker) memOff(m arm64asm.MemImmediate) (int32, bool) {
	base := w.read(m.Base)
	if base.kind != vStack {
		return 0, false
	}
	off := int32(int64(base.n))
	if m.Mode != arm64asm.AddrPostIndex {
		off += memImmOf(w.word, m)
	}
	return off, true
}

// writeback applies the base register update of pre- and post-indexed
// addressing.
func (w *arm64Walker) writeback(m arm64asm.MemImmediate) {
	if m.Mode != arm64asm.AddrPreIndex && m.Mode != arm64asm.AddrPostIndex {
		return
	}
	base := w.read(m.Base)
	if base.kind == vStack || base.kind == vAddr {
		base.n = uint64(int64(base.n) + int64(memImmOf(w.word, m)))
		w.set(m.Base, base)
		return
	}
	w.set(m.Base, value{})
}

func (w *arm64Walker) slotIf(off int32, ok bool) value {
	if !ok {
		return value{}
	}
	v := w.rec.st.slot(off)
	if v.kind == vImm {
		v.at = w.rec.st.n
	}
	return v
}

// load handles LDR from a literal, the stack, or an address in the image
// (an IAT slot or a global).
func (w *arm64Walker) load(pc uint32, dst, src arm64asm.Arg) {
	st := &w.rec.st
	_, is64, c := a64Reg(dst)
	if c != a64GPR && c != a64Zero {
		// SIMD and floating point loads leave the general registers alone,
		// apart from a written-back base.
		if m, ok := src.(arm64asm.MemImmediate); ok {
			w.writeback(m)
		}
		return
	}
	switch s := src.(type) {
	case arm64asm.PCRel:
		rva := uint32(int64(pc) + int64(s))
		size := 4
		if is64 {
			size = 8
		}
		b := w.im.bytesAt(rva, size)
		for i := 0; i < size; i += 4 {
			w.literals[rva+uint32(i)] = true
		}
		if len(b) < size {
			w.set(dst, value{})
			return
		}
		var n uint64
		if is64 {
			n = binary.LittleEndian.Uint64(b)
		} else {
			n = uint64(binary.LittleEndian.Uint32(b))
		}
		w.ev.immediate(uint32(n))
		w.set(dst, w.imm(n, st.n))
	case arm64asm.MemImmediate:
		v := value{}
		if off, ok := w.memOff(s); ok {
			v = w.slotIf(off, true)
		} else if base := w.read(s.Base); base.kind == vAddr && s.Mode == arm64asm.AddrOffset {
			v = value{kind: vLoad, n: uint64(int64(base.n) + int64(memImmOf(w.word, s))), at: st.n}
		}
		w.writeback(s)
		w.set(dst, v)
	default:
		w.set(dst, value{})
	}
}
