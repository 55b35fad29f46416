package pe

import (
	"golang.org/x/arch/x86/x86asm"
)

// x86 register numbers follow the encoding: 0 rax, 1 rcx, 2 rdx, 3 rbx,
// 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8..15 r8..r15.
const (
	x86AX = 0
	x86CX = 1
	x86DX = 2
	x86BX = 3
	x86SP = 4
	x86BP = 5
	x86SI = 6
	x86DI = 7
)

// x86Reg maps a decoded register to its number and width in bits.
func x86Reg(r x86asm.Reg) (idx, bits int, ok bool) {
	switch {
	case r >= x86asm.AL && r <= x86asm.BL:
		return int(r - x86asm.AL), 8, true
	case r >= x86asm.AH && r <= x86asm.BH:
		return int(r - x86asm.AH), 8, true
	case r >= x86asm.SPB && r <= x86asm.R15B:
		return int(r-x86asm.SPB) + 4, 8, true
	case r >= x86asm.AX && r <= x86asm.R15W:
		return int(r - x86asm.AX), 16, true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return int(r - x86asm.EAX), 32, true
	case r >= x86asm.RAX && r <= x86asm.R15:
		return int(r - x86asm.RAX), 64, true
	}
	return 0, 0, false
}

// x86Arch holds what differs between the 32- and 64-bit walkers.
type x86Arch struct {
	mode     int   // decoder mode, 32 or 64
	ptr      int32 // pointer size
	volatile []int // registers a call may change
	tagLoc   func(routine int) int64
}

var x86Arches = map[Machine]x86Arch{
	// stdcall: arguments on the stack above the return address, eax, ecx
	// and edx volatile.
	MachineX86: {
		mode: 32, ptr: 4, volatile: []int{x86AX, x86CX, x86DX},
		tagLoc: func(r int) int64 { return slotLoc(poolRoutines[r].x86TagOff()) },
	},
	// Microsoft x64: rcx, rdx, r8, r9, then the stack above 32 bytes of
	// home space; rax, rcx, rdx, r8-r11 volatile.
	MachineX64: {
		mode: 64, ptr: 8, volatile: []int{x86AX, x86CX, x86DX, 8, 9, 10, 11},
		tagLoc: func(r int) int64 {
			k := poolRoutines[r].tag
			if k < 4 {
				return regLoc([]int{x86CX, x86DX, 8, 9}[k])
			}
			return slotLoc(8 + 8*int32(k))
		},
	},
}

// x86Walker walks x86 or x64 code linearly, instruction by instruction.
type x86Walker struct {
	im   *image
	arch x86Arch
	rec  *flowRecorder
	ev   *evidenceBuilder
	next uint32 // RVA of the instruction after the current one
}

func scanX86(im *image, arch x86Arch, ev *evidenceBuilder) *flowRecorder {
	w := &x86Walker{im: im, arch: arch, ev: ev, rec: newFlowRecorder(arch.ptr, 16)}
	w.rec.st.floor = arch.ptr
	for _, s := range im.sections {
		if s.code {
			w.walk(s.va, im.sectionData(s))
		}
	}
	return w.rec
}

func (w *x86Walker) walk(va uint32, code []byte) {
	st := &w.rec.st
	starts := w.im.starts
	data := w.im.inCode
	si := 0
	reset, flowEnd := true, false
	for off := 0; off < len(code); {
		pc := va + uint32(off)
		if end := dataEnd(&data, pc); end > pc {
			off += int(end - pc)
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
		inst, err := x86asm.Decode(code[off:], w.arch.mode)
		if err != nil || inst.Len == 0 {
			off++
			reset, flowEnd = true, false
			continue
		}
		st.n++
		w.next = pc + uint32(inst.Len)
		if inText(code, off, inst.Len) {
			// A string decoded as code: not an instruction, and its
			// "immediates" are text.
			off += inst.Len
			reset, flowEnd = true, false
			continue
		}
		for _, a := range inst.Args {
			if imm, ok := a.(x86asm.Imm); ok {
				w.ev.immediate(uint32(imm))
			}
		}
		reset = w.step(pc, &inst)
		flowEnd = reset
		off += inst.Len
	}
}

// step applies one instruction to the state; it reports whether control
// cannot fall through to the next instruction. It dispatches by family:
// control flow, data moves, stack and arithmetic, instructions that write
// fixed registers, and the rest, whose destination is forgotten.
func (w *x86Walker) step(pc uint32, in *x86asm.Inst) bool {
	switch in.Op {
	case x86asm.RET, x86asm.LRET, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.UD2, x86asm.HLT, x86asm.INT:
		return true
	case x86asm.JMP, x86asm.CALL,
		x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JG, x86asm.JGE, x86asm.JL,
		x86asm.JLE, x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO, x86asm.JP, x86asm.JS,
		x86asm.JCXZ, x86asm.JECXZ, x86asm.JRCXZ:
		return w.stepFlow(pc, in)
	case x86asm.MOV, x86asm.LEA, x86asm.XCHG,
		x86asm.CMOVA, x86asm.CMOVAE, x86asm.CMOVB, x86asm.CMOVBE, x86asm.CMOVE, x86asm.CMOVG,
		x86asm.CMOVGE, x86asm.CMOVL, x86asm.CMOVLE, x86asm.CMOVNE, x86asm.CMOVNO, x86asm.CMOVNP,
		x86asm.CMOVNS, x86asm.CMOVO, x86asm.CMOVP, x86asm.CMOVS:
		w.stepMove(in)
	case x86asm.PUSH, x86asm.POP, x86asm.LEAVE:
		w.stepStack(in)
	case x86asm.SUB, x86asm.ADD, x86asm.AND, x86asm.XOR:
		w.stepArith(in)
	case x86asm.CMP, x86asm.TEST, x86asm.BT, x86asm.NOP, x86asm.PREFETCHNTA, x86asm.PREFETCHT0,
		x86asm.PREFETCHT1, x86asm.PREFETCHT2, x86asm.LFENCE, x86asm.MFENCE, x86asm.SFENCE, x86asm.PAUSE:
		// No register or stack slot the walker follows changes.
	case x86asm.MUL, x86asm.DIV, x86asm.IDIV, x86asm.CDQ, x86asm.CQO, x86asm.CWD, x86asm.RDTSC,
		x86asm.RDMSR, x86asm.XGETBV, x86asm.RDPMC, x86asm.IMUL, x86asm.CPUID, x86asm.RDTSCP,
		x86asm.CDQE, x86asm.CWDE, x86asm.CBW, x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ,
		x86asm.CMPXCHG, x86asm.CMPXCHG8B, x86asm.CMPXCHG16B,
		x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSW,
		x86asm.STOSD, x86asm.STOSQ, x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ,
		x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ,
		x86asm.SYSCALL, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE, x86asm.XADD:
		w.stepImplicit(in)
	default:
		w.clobber(in.Args[0])
	}
	return false
}

// stepFlow records JMP and CALL (direct, or through an import slot) and
// lets values flow along conditional branches (see flowRecorder.enter).
// JMP ends the flow; after a call the volatile registers are gone.
func (w *x86Walker) stepFlow(pc uint32, in *x86asm.Inst) bool {
	a0 := in.Args[0]
	switch in.Op {
	case x86asm.JMP:
		w.call(pc, a0, true)
		if rel, ok := a0.(x86asm.Rel); ok {
			w.rec.jumpEdge(pc, uint32(int64(w.next)+int64(rel)))
		}
		return true
	case x86asm.CALL:
		w.call(pc, a0, false)
		for _, r := range w.arch.volatile {
			w.rec.st.regs[r] = value{}
		}
	default: // Jcc
		if rel, ok := a0.(x86asm.Rel); ok {
			w.rec.branch(pc, uint32(int64(w.next)+int64(rel)))
		}
	}
	return false
}

// stepMove follows values copied between registers, stack slots and
// addresses: MOV, LEA (a stack or image address), XCHG and CMOVcc.
func (w *x86Walker) stepMove(in *x86asm.Inst) {
	a0, a1 := in.Args[0], in.Args[1]
	switch in.Op {
	case x86asm.MOV:
		w.store(a0, w.eval(a1, in.MemBytes))
	case x86asm.LEA:
		v := value{}
		if m, ok := a1.(x86asm.Mem); ok {
			if off, ok := w.stackOff(m); ok {
				v = value{kind: vStack, n: uint64(int64(off))}
			} else if rva, ok := w.memRVA(m); ok {
				v = value{kind: vAddr, n: uint64(rva)}
			}
		}
		w.store(a0, v)
	case x86asm.XCHG:
		v0, v1 := w.eval(a0, in.MemBytes), w.eval(a1, in.MemBytes)
		w.store(a0, v1)
		w.store(a1, v0)
	default: // CMOVcc
		// Either value may arrive; keep the one that is known, so that
		// "tag = override ? override : tag" still yields the tag.
		if r, ok := a0.(x86asm.Reg); ok {
			if idx, _, ok := x86Reg(r); ok {
				cur := w.rec.st.regs[idx]
				if cur.kind != vImm && cur.kind != vParam {
					w.store(a0, w.eval(a1, in.MemBytes))
				}
			}
		}
	}
}

// stepStack follows PUSH, POP and LEAVE, which move the stack pointer
// and the slots arguments are passed in on x86.
func (w *x86Walker) stepStack(in *x86asm.Inst) {
	st := &w.rec.st
	a0 := in.Args[0]
	switch in.Op {
	case x86asm.PUSH:
		v := w.eval(a0, int(w.arch.ptr))
		st.sp -= w.arch.ptr
		st.setSlot(st.sp, v)
	case x86asm.POP:
		v := st.slot(st.sp)
		st.sp += w.arch.ptr
		w.store(a0, v)
	default: // LEAVE
		if v := st.regs[x86BP]; v.kind == vStack {
			st.sp = int32(int64(v.n))
		}
		st.regs[x86BP] = st.slot(st.sp)
		st.sp += w.arch.ptr
	}
}

// stepArith follows the arithmetic that matters to the walker: SUB and
// ADD on the stack pointer (frame setup), AND on it (alignment) and the
// "xor r, r" zeroing idiom. Any other destination is forgotten.
func (w *x86Walker) stepArith(in *x86asm.Inst) {
	st := &w.rec.st
	a0, a1 := in.Args[0], in.Args[1]
	r0, isReg := a0.(x86asm.Reg)
	onSP := false
	if isReg {
		idx, _, _ := x86Reg(r0)
		onSP = idx == x86SP
	}
	switch in.Op {
	case x86asm.SUB, x86asm.ADD:
		if onSP {
			if imm, ok := a1.(x86asm.Imm); ok {
				if in.Op == x86asm.SUB {
					st.sp -= int32(imm)
				} else {
					st.sp += int32(imm)
				}
			}
			return
		}
	case x86asm.AND:
		// "and rsp, -16" aligns the frame: slots stay roughly where they
		// were, which is good enough for arguments pushed afterwards.
		if onSP {
			return
		}
	default: // XOR
		if r1, ok := a1.(x86asm.Reg); ok && isReg && r0 == r1 {
			w.store(a0, value{kind: vImm, n: 0, at: st.n})
			return
		}
	}
	w.clobber(a0)
}

// stepImplicit forgets the fixed registers an instruction writes without
// naming them (RAX/RDX of MUL and DIV, RCX/RSI/RDI of string operations,
// RCX/R11 of SYSCALL, ...), then its named destination.
func (w *x86Walker) stepImplicit(in *x86asm.Inst) {
	st := &w.rec.st
	a0, a1 := in.Args[0], in.Args[1]
	switch in.Op {
	case x86asm.MUL, x86asm.DIV, x86asm.IDIV, x86asm.CDQ, x86asm.CQO, x86asm.CWD, x86asm.RDTSC,
		x86asm.RDMSR, x86asm.XGETBV, x86asm.RDPMC:
		st.regs[x86AX], st.regs[x86DX] = value{}, value{}
		w.clobber(a0)
	case x86asm.IMUL:
		if a1 == nil {
			st.regs[x86AX], st.regs[x86DX] = value{}, value{}
		}
		w.clobber(a0)
	case x86asm.CPUID, x86asm.RDTSCP:
		st.regs[x86AX], st.regs[x86BX], st.regs[x86CX], st.regs[x86DX] = value{}, value{}, value{}, value{}
	case x86asm.CDQE, x86asm.CWDE, x86asm.CBW, x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ,
		x86asm.CMPXCHG, x86asm.CMPXCHG8B, x86asm.CMPXCHG16B:
		st.regs[x86AX] = value{}
		if in.Op == x86asm.CMPXCHG8B || in.Op == x86asm.CMPXCHG16B {
			st.regs[x86DX] = value{}
		}
		w.clobber(a0)
	case x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSW,
		x86asm.STOSD, x86asm.STOSQ, x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ,
		x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ:
		st.regs[x86CX], st.regs[x86SI], st.regs[x86DI] = value{}, value{}, value{}
	case x86asm.SYSCALL, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE:
		st.regs[x86CX], st.regs[11] = value{}, value{}
	default: // XADD
		w.clobber(a0)
		w.clobber(a1)
	}
}

// clobber forgets a destination register, or a stack slot being written.
func (w *x86Walker) clobber(a x86asm.Arg) {
	switch a := a.(type) {
	case x86asm.Reg:
		if idx, _, ok := x86Reg(a); ok {
			w.rec.st.regs[idx] = value{}
		}
	case x86asm.Mem:
		if off, ok := w.stackOff(a); ok {
			w.rec.st.setSlot(off, value{})
		}
	}
}

// store writes v to a register or stack slot operand. Writes narrower
// than 32 bits leave a mixed value: nothing known.
func (w *x86Walker) store(a x86asm.Arg, v value) {
	st := &w.rec.st
	switch a := a.(type) {
	case x86asm.Reg:
		idx, bits, ok := x86Reg(a)
		if !ok {
			return
		}
		if bits < 32 {
			v = value{}
		}
		if idx == x86SP {
			if v.kind == vStack {
				st.sp = int32(int64(v.n))
			}
			return
		}
		st.regs[idx] = v
	case x86asm.Mem:
		if off, ok := w.stackOff(a); ok {
			st.setSlot(off, v)
		}
	}
}

// eval returns the value of an operand; size is the memory operand width.
func (w *x86Walker) eval(a x86asm.Arg, size int) value {
	st := &w.rec.st
	switch a := a.(type) {
	case x86asm.Imm:
		return value{kind: vImm, n: uint64(int64(a)), at: st.n}
	case x86asm.Reg:
		idx, bits, ok := x86Reg(a)
		if !ok || bits < 32 {
			return value{}
		}
		if idx == x86SP {
			return value{kind: vStack, n: uint64(int64(st.sp)), at: st.n}
		}
		v := st.regs[idx]
		if v.kind == vImm {
			v.at = st.n // a copy is a fresh use of the constant
		}
		return v
	case x86asm.Mem:
		if size != 0 && size < 4 {
			return value{}
		}
		if off, ok := w.stackOff(a); ok {
			v := st.slot(off)
			if v.kind == vImm {
				v.at = st.n
			}
			return v
		}
		if rva, ok := w.memRVA(a); ok {
			return value{kind: vLoad, n: uint64(rva), at: st.n}
		}
	}
	return value{}
}

// stackOff returns the entry-relative stack offset a memory operand
// addresses, when its base is the stack pointer or a register known to
// point into the stack (a frame pointer).
func (w *x86Walker) stackOff(m x86asm.Mem) (int32, bool) {
	if m.Index != 0 || (m.Segment != 0 && m.Segment != x86asm.SS) {
		return 0, false
	}
	idx, bits, ok := x86Reg(m.Base)
	if !ok || bits < 32 {
		return 0, false
	}
	st := &w.rec.st
	if idx == x86SP {
		return st.sp + int32(m.Disp), true
	}
	if v := st.regs[idx]; v.kind == vStack {
		return int32(int64(v.n)) + int32(m.Disp), true
	}
	return 0, false
}

// memRVA returns the image RVA of a RIP-relative (x64) or absolute (x86)
// memory operand.
func (w *x86Walker) memRVA(m x86asm.Mem) (uint32, bool) {
	if m.Index != 0 || (m.Segment != 0 && m.Segment != x86asm.DS) {
		return 0, false
	}
	switch m.Base {
	case x86asm.RIP:
		return uint32(int64(w.next) + m.Disp), true
	case 0:
		va := uint64(uint32(m.Disp))
		if va >= w.im.base && va-w.im.base < 1<<31 {
			return uint32(va - w.im.base), true
		}
	}
	return 0, false
}

// call records a call or jump whose target may take a tag: an IAT slot of a
// pool routine (directly, or through a register loaded from it), or a code
// address in the image (a possible wrapper).
func (w *x86Walker) call(pc uint32, target x86asm.Arg, jump bool) {
	st := &w.rec.st
	switch t := target.(type) {
	case x86asm.Rel:
		w.rec.record(pc, uint32(int64(w.next)+int64(t)), false, jump)
	case x86asm.Mem:
		rva, ok := w.memRVA(t)
		if !ok {
			return
		}
		if r, ok := w.im.slots[rva]; ok {
			w.rec.record(pc, rva, true, jump)
			if !jump && w.arch.ptr == 4 {
				st.sp += poolRoutines[r].x86Pop() // stdcall: the callee pops
			}
			return
		}
		// A call through a pointer that is not a pool routine's slot, such
		// as the control-flow-guard dispatcher, with the real target in
		// rax.
		if v := st.regs[x86AX]; v.kind == vLoad {
			if _, ok := w.im.slots[uint32(v.n)]; ok {
				w.rec.record(pc, uint32(v.n), true, jump)
			}
		}
	case x86asm.Reg:
		idx, _, ok := x86Reg(t)
		if !ok {
			return
		}
		switch v := st.regs[idx]; v.kind {
		case vLoad:
			if r, ok := w.im.slots[uint32(v.n)]; ok {
				w.rec.record(pc, uint32(v.n), true, jump)
				if !jump && w.arch.ptr == 4 {
					st.sp += poolRoutines[r].x86Pop()
				}
			}
		case vAddr:
			w.rec.record(pc, uint32(v.n), false, jump)
		}
	}
}

// textRun is the length of printable text around an instruction beyond
// which it is taken for a string. Drivers built with .rdata merged into
// .text keep their debug messages among the code; real instructions, even
// "push 'Tag1'" (68 'T' 'a' 'g' '1'), sit among non-printable bytes.
const textRun = 16

func isText(c byte) bool { return c >= 0x20 && c < 0x7F || c == '\t' || c == '\r' || c == '\n' }

// inText reports whether the n bytes at off lie in a run of at least
// textRun text bytes.
func inText(code []byte, off, n int) bool {
	for i := off; i < off+n; i++ {
		if !isText(code[i]) {
			return false
		}
	}
	run := n
	for i := off - 1; i >= 0 && run < textRun && isText(code[i]); i-- {
		run++
	}
	for i := off + n; i < len(code) && run < textRun && isText(code[i]); i++ {
		run++
	}
	return run >= textRun
}
