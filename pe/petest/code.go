package petest

import "encoding/binary"

// asm is a growing code buffer at a known RVA.
type asm struct {
	rva uint32
	b   []byte
}

func (a *asm) pc() uint32     { return a.rva + uint32(len(a.b)) }
func (a *asm) emit(b ...byte) { a.b = append(a.b, b...) }
func (a *asm) u32(v uint32)   { a.b = binary.LittleEndian.AppendUint32(a.b, v) }
func (a *asm) word(w uint32)  { a.u32(w) } // one ARM64 instruction
func (a *asm) padTo(n int, b byte) {
	for len(a.b)%n != 0 {
		a.b = append(a.b, b)
	}
}

// ripRel emits an x64 instruction whose last four bytes are a RIP-relative
// displacement to target.
func (a *asm) ripRel(op []byte, target uint32) {
	a.emit(op...)
	a.u32(target - (a.pc() + 4))
}

// codeX64 emits the Microsoft x64 calling pattern: the tag in r8d for
// ExAllocatePoolWithTag, in edx for ExFreePoolWithTag, calls through the
// IAT with "call [rip+disp]".
func codeX64(d Driver, rva uint32, imp imports) []byte {
	a := &asm{rva: rva}
	a.emit(0x48, 0x83, 0xEC, 0x28) // sub rsp, 0x28
	for _, t := range d.AllocTags {
		a.emit(0xB9)
		a.u32(poolTypeNPNx) // mov ecx, NonPagedPoolNx
		a.emit(0xBA)
		a.u32(allocSize) // mov edx, size
		a.emit(0x41, 0xB8)
		a.u32(t)                                // mov r8d, tag
		a.ripRel([]byte{0xFF, 0x15}, imp.alloc) // call [ExAllocatePoolWithTag]
		a.emit(0x48, 0x8B, 0xC8)                // mov rcx, rax
		a.emit(0xBA)
		a.u32(t)                               // mov edx, tag
		a.ripRel([]byte{0xFF, 0x15}, imp.free) // call [ExFreePoolWithTag]
	}
	for _, t := range d.OtherArgTags {
		a.emit(0xB9)
		a.u32(poolTypeNPNx)
		a.emit(0xBA)
		a.u32(allocSize)
		a.emit(0x45, 0x33, 0xC0) // xor r8d, r8d: tag 0
		a.emit(0x41, 0xB9)
		a.u32(t) // mov r9d, value: not the tag argument
		a.ripRel([]byte{0xFF, 0x15}, imp.alloc)
	}
	var wrapperCalls []int
	for _, t := range d.WrappedTags {
		a.emit(0xB9)
		a.u32(allocSize) // mov ecx, size
		a.emit(0xBA)
		a.u32(t) // mov edx, tag
		a.emit(0xE8)
		wrapperCalls = append(wrapperCalls, len(a.b))
		a.u32(0) // call wrapper, patched below
	}
	a.emit(0x48, 0x83, 0xC4, 0x28) // add rsp, 0x28
	a.emit(0xC3)                   // ret
	a.padTo(16, 0xCC)
	// wrapper(size, tag): tail call ExAllocatePoolWithTag(NonPagedPoolNx, size, tag)
	wrapper := a.pc()
	a.emit(0x44, 0x8B, 0xC2) // mov r8d, edx
	a.emit(0x8B, 0xD1)       // mov edx, ecx
	a.emit(0xB9)
	a.u32(poolTypeNPNx)
	a.ripRel([]byte{0xFF, 0x25}, imp.alloc) // jmp [ExAllocatePoolWithTag]
	a.padTo(16, 0xCC)
	for _, at := range wrapperCalls {
		binary.LittleEndian.PutUint32(a.b[at:], wrapper-(rva+uint32(at)+4))
	}
	return a.b
}

// codeX86 emits the stdcall pattern: arguments pushed right to left, the
// tag first ("push imm32", the 'h' in front of findstr's search string),
// calls through the IAT with "call [abs]".
func codeX86(d Driver, rva uint32, imp imports, base uint32) []byte {
	a := &asm{rva: rva}
	callIAT := func(slot uint32) {
		a.emit(0xFF, 0x15)
		a.u32(base + slot)
	}
	for _, t := range d.AllocTags {
		a.emit(0x68)
		a.u32(t) // push tag
		a.emit(0x68)
		a.u32(allocSize) // push size
		a.emit(0x68)
		a.u32(poolTypeNPNx) // push pool type
		callIAT(imp.alloc)
		a.emit(0x68)
		a.u32(t)     // push tag
		a.emit(0x50) // push eax
		callIAT(imp.free)
	}
	for _, t := range d.OtherArgTags {
		a.emit(0xB9)
		a.u32(t)           // mov ecx, value: not an argument
		a.emit(0x6A, 0x00) // push 0: tag 0
		a.emit(0x68)
		a.u32(allocSize)
		a.emit(0x68)
		a.u32(poolTypeNPNx)
		callIAT(imp.alloc)
	}
	var wrapperCalls []int
	for _, t := range d.WrappedTags {
		a.emit(0x68)
		a.u32(t) // push tag
		a.emit(0x68)
		a.u32(allocSize) // push size
		a.emit(0xE8)
		wrapperCalls = append(wrapperCalls, len(a.b))
		a.u32(0)
	}
	a.emit(0xC3)
	a.padTo(16, 0xCC)
	// wrapper(size, tag), stdcall with a frame pointer.
	wrapper := a.pc()
	a.emit(0x55)             // push ebp
	a.emit(0x8B, 0xEC)       // mov ebp, esp
	a.emit(0xFF, 0x75, 0x0C) // push [ebp+0xC]: tag
	a.emit(0xFF, 0x75, 0x08) // push [ebp+8]: size
	a.emit(0x68)
	a.u32(poolTypeNPNx)
	callIAT(imp.alloc)
	a.emit(0x5D)             // pop ebp
	a.emit(0xC2, 0x08, 0x00) // ret 8
	a.padTo(16, 0xCC)
	for _, at := range wrapperCalls {
		binary.LittleEndian.PutUint32(a.b[at:], wrapper-(rva+uint32(at)+4))
	}
	// The branch shapes come after the code above, so that the bytes of
	// images without them do not change.
	for _, t := range d.RoutineInRegTags {
		// f(n): edi = ExAllocatePoolWithTag; if n == 0 return 0; else
		// return edi(NonPagedPoolNx, size, tag).
		a.emit(0x55)       // push ebp
		a.emit(0x8B, 0xEC) // mov ebp, esp
		a.emit(0x57)       // push edi
		a.emit(0x8B, 0x3D)
		a.u32(base + imp.alloc)        // mov edi, [ExAllocatePoolWithTag]
		a.emit(0x83, 0x7D, 0x08, 0x00) // cmp dword [ebp+8], 0
		a.emit(0x75, 0x04)             // jne +4: the allocation
		a.emit(0x33, 0xC0)             // xor eax, eax
		a.emit(0xEB, 0x11)             // jmp +17: the epilogue
		a.emit(0x68)
		a.u32(t) // push tag
		a.emit(0x68)
		a.u32(allocSize) // push size
		a.emit(0x68)
		a.u32(poolTypeNPNx)      // push pool type
		a.emit(0xFF, 0xD7)       // call edi
		a.emit(0x5F)             // pop edi
		a.emit(0x5D)             // pop ebp
		a.emit(0xC2, 0x04, 0x00) // ret 4
		a.padTo(16, 0xCC)
	}
	if len(d.EarlyExitTags) == 0 {
		return a.b
	}
	// callers: f(size, 0, 0, tag), stdcall, arguments pushed right to left.
	var exitCalls []int
	for _, t := range d.EarlyExitTags {
		a.emit(0x68)
		a.u32(t)           // push tag: fourth argument
		a.emit(0x6A, 0x00) // push 0
		a.emit(0x6A, 0x00) // push 0
		a.emit(0x68)
		a.u32(allocSize) // push size
		a.emit(0xE8)
		exitCalls = append(exitCalls, len(a.b))
		a.u32(0)
	}
	a.emit(0xC3)
	a.padTo(16, 0xCC)
	// wrapper(size, a, b, tag): if size == 0 return 0; else
	// ExAllocatePoolWithTag(NonPagedPoolNx, size, tag).
	early := a.pc()
	a.emit(0x55)                   // push ebp
	a.emit(0x8B, 0xEC)             // mov ebp, esp
	a.emit(0x83, 0x7D, 0x08, 0x00) // cmp dword [ebp+8], 0
	a.emit(0x75, 0x04)             // jne +4: the allocation
	a.emit(0x33, 0xC0)             // xor eax, eax
	a.emit(0xEB, 0x0E)             // jmp +14: the epilogue
	a.emit(0xFF, 0x75, 0x14)       // push [ebp+14h]: tag
	a.emit(0xFF, 0x75, 0x08)       // push [ebp+8]: size
	a.emit(0x6A, 0x00)             // push 0: NonPagedPool
	a.emit(0xFF, 0x15)
	a.u32(base + imp.alloc)  // call [ExAllocatePoolWithTag]
	a.emit(0x5D)             // pop ebp
	a.emit(0xC2, 0x10, 0x00) // ret 10h
	a.padTo(16, 0xCC)
	for _, at := range exitCalls {
		binary.LittleEndian.PutUint32(a.b[at:], early-(rva+uint32(at)+4))
	}
	return a.b
}

// ARM64 encodings used below.
func movz(rd int, imm uint16, hw uint32) uint32 {
	return 0x52800000 | hw<<21 | uint32(imm)<<5 | uint32(rd)
}
func movk(rd int, imm uint16, hw uint32) uint32 {
	return 0x72800000 | hw<<21 | uint32(imm)<<5 | uint32(rd)
}
func movzX(rd int, imm uint16) uint32 { return 0xD2800000 | uint32(imm)<<5 | uint32(rd) }

// callSlot emits adrp x16, slot; ldr x16, [x16, #lo12]; blr/br x16.
func (a *asm) callSlot(slot uint32, tail bool) {
	page := int64(slot&^0xFFF) - int64(a.pc()&^0xFFF)
	imm := uint32(page>>12) & 0x1FFFFF
	a.word(0x90000000 | (imm&3)<<29 | (imm>>2)<<5 | 16)  // adrp x16
	a.word(0xF9400000 | (slot&0xFFF)/8<<10 | 16<<5 | 16) // ldr x16, [x16, #off]
	if tail {
		a.word(0xD61F0200) // br x16
	} else {
		a.word(0xD63F0200) // blr x16
	}
}

// codeARM64 builds tags with MOVZ/MOVK pairs for direct calls and loads
// them from a literal pool for wrapper calls, as MSVC does.
func codeARM64(d Driver, rva uint32, imp imports) []byte {
	a := &asm{rva: rva}
	a.word(0xA9BF7BFD) // stp x29, x30, [sp, #-16]!
	a.word(0x910003FD) // mov x29, sp
	for _, t := range d.AllocTags {
		a.word(movz(2, uint16(t), 0))
		a.word(movk(2, uint16(t>>16), 1)) // w2 = tag
		a.word(movzX(1, allocSize))       // x1 = size
		a.word(movz(0, poolTypeNPNx, 0))  // w0 = pool type
		a.callSlot(imp.alloc, false)
		a.word(movz(1, uint16(t), 0))
		a.word(movk(1, uint16(t>>16), 1)) // w1 = tag, x0 = block
		a.callSlot(imp.free, false)
	}
	for _, t := range d.OtherArgTags {
		a.word(movz(3, uint16(t), 0))
		a.word(movk(3, uint16(t>>16), 1)) // w3: not an argument of the routine
		a.word(movz(2, 0, 0))             // tag 0
		a.word(movzX(1, allocSize))
		a.word(movz(0, poolTypeNPNx, 0))
		a.callSlot(imp.alloc, false)
	}
	type fix struct {
		at  int
		tag uint32
	}
	var literals, calls []fix
	for _, t := range d.WrappedTags {
		literals = append(literals, fix{len(a.b), t})
		a.word(0x18000001)          // ldr w1, literal (patched)
		a.word(movzX(0, allocSize)) // x0 = size
		calls = append(calls, fix{len(a.b), 0})
		a.word(0x94000000) // bl wrapper (patched)
	}
	a.word(0xA8C17BFD) // ldp x29, x30, [sp], #16
	a.word(0xD65F03C0) // ret
	for _, l := range literals {
		lit := a.pc()
		a.u32(l.tag)
		pc := rva + uint32(l.at)
		binary.LittleEndian.PutUint32(a.b[l.at:], 0x18000001|((lit-pc)/4&0x7FFFF)<<5)
	}
	a.padTo(16, 0)
	// wrapper(size x0, tag w1): tail call ExAllocatePoolWithTag(type, size, tag)
	wrapper := a.pc()
	a.word(0x2A0103E2) // mov w2, w1
	a.word(0xAA0003E1) // mov x1, x0
	a.word(movz(0, poolTypeNPNx, 0))
	a.callSlot(imp.alloc, true)
	for _, c := range calls {
		pc := rva + uint32(c.at)
		binary.LittleEndian.PutUint32(a.b[c.at:], 0x94000000|((wrapper-pc)/4&0x3FFFFFF))
	}
	return a.b
}

// Thumb-2 encodings used below: MOVW and MOVT (T3 and T1 forms) put a
// 16-bit immediate in the low or high half of a register.
func thumbMov(top bool, rd int, imm uint16) (hw1, hw2 uint16) {
	hw1 = 0xF240
	if top {
		hw1 = 0xF2C0
	}
	hw1 |= imm>>12 | (imm>>11&1)<<10
	hw2 = (imm>>8&7)<<12 | uint16(rd)<<8 | imm&0xFF
	return hw1, hw2
}

func (a *asm) half(h ...uint16) {
	for _, v := range h {
		a.b = binary.LittleEndian.AppendUint16(a.b, v)
	}
}

// codeThumb emits ARM32 (Windows on ARM, Thumb-2) code: each AllocTags
// tag built in r2 by a MOVW/MOVT pair, the routine's address loaded from
// the IAT through a literal and called with BLX; each OtherArgTags value
// loaded into r3 from a literal pool.
func codeThumb(d Driver, rva uint32, imp imports, base uint32) []byte {
	a := &asm{rva: rva}
	a.half(0xB500) // push {lr}
	var lits []struct {
		at int
		v  uint32
	}
	ldrLit := func(rt int, v uint32) { // ldr.w rt, [pc, #imm12], patched below
		lits = append(lits, struct {
			at int
			v  uint32
		}{len(a.b), v})
		a.half(0xF8DF, uint16(rt)<<12)
	}
	for _, t := range d.AllocTags {
		a.half(0x2080)                           // movs r0, #0x80: pool type
		a.half(thumbMov(false, 1, allocSize))    // movw r1, size
		a.half(thumbMov(false, 2, uint16(t)))    // movw r2, tag low
		a.half(thumbMov(true, 2, uint16(t>>16))) // movt r2, tag high
		ldrLit(12, base+imp.alloc)               // ldr.w r12, =&IAT[ExAllocatePoolWithTag]
		a.half(0xF8DC, 0xC000)                   // ldr.w r12, [r12]
		a.half(0x47E0)                           // blx r12
	}
	for _, t := range d.OtherArgTags {
		ldrLit(3, t) // ldr.w r3, =value
	}
	a.half(0xBD00) // pop {pc}
	a.padTo(4, 0)
	for _, l := range lits {
		pc := (rva + uint32(l.at) + 4) &^ 3
		off := a.pc() - pc
		binary.LittleEndian.PutUint16(a.b[l.at+2:], binary.LittleEndian.Uint16(a.b[l.at+2:])|uint16(off))
		a.u32(l.v)
	}
	return a.b
}
