package pe

import "sync"

// The code scanners follow values through straight-line code with a small
// symbolic state: each register and stack slot holds a constant, "what this
// location held when the code was entered" (a parameter), an address, or
// nothing known. At every call they record which locations hold constants
// or parameters. Afterwards resolveCalls ties constants to the tag argument
// of pool routines, and parameters to local wrapper functions, whose own
// callers are then examined the same way.

// Value kinds.
const (
	vUnknown uint8 = iota
	vImm           // a constant
	vParam         // what location n held at the entry of the current code
	vStack         // an address on the stack: entry-relative offset n
	vAddr          // an address in the image: RVA n
	vLoad          // a value loaded from the image at RVA n (an IAT slot, a global)
)

// callWindow bounds how far back a constant may have been set and still
// count as a call's argument, in instructions. The state already forgets
// overwritten registers and those a call may change; the window guards
// against code reached from elsewhere. 16 missed a tag in the real
// systeminformer_amd64.sys (scheduled 25 instructions early); 32 found it
// and added no value that is not a real tag in the real drivers tried.
const callWindow = 32

// maxSlots bounds the stack slots tracked per function; the rest are
// forgotten, which only loses evidence.
const maxSlots = 64

// argArea is how far above the stack pointer a call's stack arguments are
// captured, in bytes. The deepest tag argument, ExInitializeLookasideListEx's
// seventh, is at [esp+0x18] on x86 and [rsp+0x30] on x64 at the call.
const argArea = 0x80

type value struct {
	n    uint64
	at   int32 // instruction number when the value was set
	kind uint8
}

// Locations name a register (0..63) or a stack slot (stackLoc + offset
// relative to the stack pointer at entry).
const stackLoc int64 = 1 << 32

func regLoc(r int) int64            { return int64(r) }
func slotLoc(off int32) int64       { return stackLoc + int64(off) }
func isSlotLoc(l int64) bool        { return l >= stackLoc/2 }
func slotOff(l int64) int32         { return int32(l - stackLoc) }
func param(l int64, at int32) value { return value{kind: vParam, n: uint64(l), at: at} }

type slot struct {
	off int32
	v   value
}

// flowState is the symbolic state of the code being walked.
type flowState struct {
	regs   [32]value
	slots  [maxSlots]slot
	nslots int
	sp     int32  // stack pointer, relative to its value at entry
	entry  uint32 // RVA where the state was last reset
	n      int32  // instructions walked
	floor  int32  // lowest entry-relative offset holding a caller's argument
}

// reset starts a new stretch of code at rva: every register holds what it
// held on entry, and so does every stack slot above the return address.
func (s *flowState) reset(rva uint32) {
	for i := range s.regs {
		s.regs[i] = param(regLoc(i), s.n)
	}
	s.nslots = 0
	s.sp = 0
	s.entry = rva
}

func (s *flowState) slot(off int32) value {
	for i := 0; i < s.nslots; i++ {
		if s.slots[i].off == off {
			return s.slots[i].v
		}
	}
	if off >= s.floor {
		return param(slotLoc(off), s.n)
	}
	return value{}
}

func (s *flowState) setSlot(off int32, v value) {
	for i := 0; i < s.nslots; i++ {
		if s.slots[i].off == off {
			s.slots[i].v = v
			return
		}
	}
	if s.nslots < maxSlots {
		s.slots[s.nslots] = slot{off, v}
		s.nslots++
	}
}

// usable is the value as a call argument: constants go stale after
// callWindow instructions.
func (s *flowState) usable(v value) value {
	if v.kind == vImm && s.n-v.at > callWindow {
		return value{}
	}
	return v
}

// known is one recorded location of a call event.
type known struct {
	loc  int64
	kind uint8
	n    uint64
}

// event is a call or jump whose target may take a tag.
type event struct {
	site    uint32 // RVA of the instruction
	entry   uint32 // RVA where the caller's state began
	target  uint32 // IAT slot RVA (viaSlot) or code RVA
	viaSlot bool
	jump    bool   // a jump: no return address pushed
	sp      int32  // caller's stack pointer at the call
	self    uint32 // registers still holding their entry value
	lo, hi  int32  // range in flowRecorder.knowns
}

// flowRecorder collects call events for one image.
type flowRecorder struct {
	st      flowState
	events  []event
	knowns  []known
	retSize int32 // bytes a call pushes: 4 on x86, 8 on x64, 0 on ARM64
	nregs   int

	// States carried along forward branches to their targets.
	pending   []*carried // the first npending are held
	npending  int
	minTarget uint32 // smallest pending target; ^0 when none
}

// recorders recycles flowRecorders between images: their event and known
// slices grow to the size of a large driver, and growing them again for
// every file was most of the bytes a scan allocated.
var recorders = sync.Pool{New: func() any { return new(flowRecorder) }}

// maxRecycled is the largest knowns capacity kept for the next image.
const maxRecycled = 1 << 20

func newFlowRecorder(retSize int32, nregs int) *flowRecorder {
	r := recorders.Get().(*flowRecorder)
	r.st = flowState{}
	r.events, r.knowns = r.events[:0], r.knowns[:0]
	r.npending, r.minTarget = 0, 0
	r.retSize, r.nregs = retSize, nregs
	return r
}

// release hands the recorder back once its events are resolved.
func (r *flowRecorder) release() {
	if cap(r.knowns) > maxRecycled || cap(r.events) > maxRecycled {
		return
	}
	recorders.Put(r)
}

// maxCarry bounds how far forward a branch's state is carried, in bytes,
// and maxPending how many carried states are held at once. Beyond either,
// the target starts from a fresh state, which only loses evidence.
const (
	maxCarry   = 64 << 10
	maxPending = 32
)

// carried is the state at a forward branch, held until the walk reaches
// the branch's target.
type carried struct {
	site, target uint32
	cond         bool // a conditional branch: no event was recorded for it
	st           flowState
}

// record notes a call (or tail jump) at site to target.
func (r *flowRecorder) record(site, target uint32, viaSlot, jump bool) {
	r.recordIf(&r.st, site, target, viaSlot, jump, false)
}

// branch notes a conditional branch within code. A forward one carries
// its state to the target (see enter). A backward one matters only when
// it carries a constant into merged code that began with a fresh state,
// so one without a constant is dropped.
func (r *flowRecorder) branch(site, target uint32) {
	if target > site && target-site <= maxCarry {
		r.carry(site, target, true)
		return
	}
	r.recordIf(&r.st, site, target, false, true, true)
}

// jumpEdge notes an unconditional jump within code, already recorded as an
// event by record: a forward one carries its state to the target.
func (r *flowRecorder) jumpEdge(site, target uint32) {
	if target > site && target-site <= maxCarry {
		r.carry(site, target, false)
	}
}

func (r *flowRecorder) carry(site, target uint32, cond bool) {
	if r.npending == maxPending {
		return
	}
	if r.npending == len(r.pending) {
		r.pending = append(r.pending, new(carried))
	}
	p := r.pending[r.npending]
	r.npending++
	p.site, p.target, p.cond = site, target, cond
	s := &r.st
	p.st.regs = s.regs
	copy(p.st.slots[:s.nslots], s.slots[:s.nslots])
	p.st.nslots, p.st.sp, p.st.entry, p.st.n, p.st.floor = s.nslots, s.sp, s.entry, s.n, s.floor
	if target < r.minTarget {
		r.minTarget = target
	}
}

// pass is called at every instruction that continues the current state:
// branches whose target lies at or before pc were reached by falling
// through, and their carried states are dropped.
func (r *flowRecorder) pass(pc uint32) {
	if pc >= r.minTarget {
		r.dropUpTo(pc, nil)
	}
}

// dropUpTo drops the carried states whose target is at or before pc,
// after passing those whose target is pc to at.
func (r *flowRecorder) dropUpTo(pc uint32, at func(p *carried)) {
	if at != nil {
		for _, p := range r.pending[:r.npending] {
			if p.target == pc {
				at(p)
			}
		}
	}
	r.minTarget = ^uint32(0)
	for i := 0; i < r.npending; {
		p := r.pending[i]
		if p.target > pc {
			r.minTarget = min(r.minTarget, p.target)
			i++
			continue
		}
		r.npending--
		r.pending[i], r.pending[r.npending] = r.pending[r.npending], p
	}
}

// enter starts a fresh state at pc. Forward branches to pc become events,
// so that what they carry in registers and stack slots flows into the
// code at pc as into a callee (compilers merge the tails of paths that
// differ only in a tag). When control cannot fall into pc (flowEnd: the
// code before ended in a jump or return), pc is reached only by those
// branches, and what they all agree on is taken over directly: an IAT
// slot loaded into a register before the branch ("mov edi,
// [ExAllocatePoolWithTag]" ... "call edi"), a frame pointer, constants.
// Values that were parameters of the enclosing code are left to the
// events, which tie them to its entry.
func (r *flowRecorder) enter(pc uint32, flowEnd bool) {
	s := &r.st
	s.reset(pc)
	if pc < r.minTarget {
		return
	}
	var first *carried
	var regOK uint64 // registers all edges agree on
	var into [maxSlots]slot
	ninto := 0
	r.dropUpTo(pc, func(p *carried) {
		if p.cond {
			r.recordIf(&p.st, p.site, pc, false, true, false)
		}
		if !flowEnd {
			return
		}
		if first == nil {
			first = p
			regOK = 1<<r.nregs - 1
			for i := 0; i < p.st.nslots; i++ {
				sl := p.st.slots[i]
				if v := carriedValue(sl.v, p.st.sp); v.kind != vUnknown && ninto < maxSlots {
					into[ninto] = slot{sl.off - p.st.sp, v}
					ninto++
				}
			}
			return
		}
		for i := 0; i < r.nregs; i++ {
			a, b := carriedValue(first.st.regs[i], first.st.sp), carriedValue(p.st.regs[i], p.st.sp)
			if a.kind != b.kind || a.n != b.n {
				regOK &^= 1 << i
			}
		}
		for i := 0; i < ninto; i++ {
			v := carriedValue(p.st.slot(into[i].off+p.st.sp), p.st.sp)
			if v.kind != into[i].v.kind || v.n != into[i].v.n {
				into[i].v = value{}
			}
		}
	})
	if first == nil {
		return
	}
	for i := 0; i < r.nregs; i++ {
		if regOK&(1<<i) == 0 {
			continue
		}
		if v := carriedValue(first.st.regs[i], first.st.sp); v.kind != vUnknown {
			s.regs[i] = v
		}
	}
	for i := 0; i < ninto; i++ {
		if into[i].v.kind != vUnknown {
			s.setSlot(into[i].off, into[i].v)
		}
	}
}

// carriedValue is v, held at a branch whose stack pointer was sp, as seen
// by the code at the branch's target, whose state counts the stack from
// that pointer. Parameters of the code before are not carried.
func carriedValue(v value, sp int32) value {
	switch v.kind {
	case vImm, vAddr, vLoad:
		return v
	case vStack:
		v.n = uint64(int64(v.n) - int64(sp))
		return v
	}
	return value{}
}

func (r *flowRecorder) recordIf(s *flowState, site, target uint32, viaSlot, jump, needImm bool) {
	e := event{site: site, entry: s.entry, target: target, viaSlot: viaSlot, jump: jump, sp: s.sp, lo: int32(len(r.knowns))}
	for i := 0; i < r.nregs; i++ {
		v := s.usable(s.regs[i])
		switch {
		case v.kind == vParam && v.n == uint64(regLoc(i)):
			e.self |= 1 << i
		case v.kind == vImm || v.kind == vParam:
			r.knowns = append(r.knowns, known{regLoc(i), v.kind, v.n})
		}
	}
	// Slots written since entry inside the argument area; unwritten ones
	// above the return address still hold the caller's arguments.
	for i := 0; i < s.nslots; i++ {
		sl := s.slots[i]
		if sl.off < s.sp || sl.off >= s.sp+argArea {
			continue
		}
		v := s.usable(sl.v)
		if v.kind != vImm && v.kind != vParam {
			v = value{}
		}
		r.knowns = append(r.knowns, known{slotLoc(sl.off), v.kind, v.n})
	}
	e.hi = int32(len(r.knowns))
	if needImm {
		imm := false
		for _, k := range r.knowns[e.lo:e.hi] {
			imm = imm || k.kind == vImm
		}
		if !imm {
			r.knowns = r.knowns[:e.lo]
			return
		}
	}
	r.events = append(r.events, e)
}

// lookup returns what the caller of event e held in the callee's entry
// location loc.
func (r *flowRecorder) lookup(e *event, loc int64) value {
	if isSlotLoc(loc) {
		off := e.sp + slotOff(loc)
		if !e.jump {
			off -= r.retSize
		}
		want := slotLoc(off)
		for _, k := range r.knowns[e.lo:e.hi] {
			if k.loc == want {
				return value{kind: k.kind, n: k.n}
			}
		}
		if off >= r.st.floor {
			return value{kind: vParam, n: uint64(want)}
		}
		return value{}
	}
	if loc < 32 && e.self&(1<<loc) != 0 {
		return value{kind: vParam, n: uint64(loc)}
	}
	for _, k := range r.knowns[e.lo:e.hi] {
		if k.loc == loc {
			return value{kind: k.kind, n: k.n}
		}
	}
	return value{}
}

// maxWrapperDepth bounds how many wrapper layers are followed.
const maxWrapperDepth = 6

// resolveCalls finds the tag arguments of pool routine calls. slots maps an
// IAT slot RVA to its routine; tagLoc gives the entry location of a
// routine's tag argument. Each tag argument found is passed to hit once per
// call site.
func (r *flowRecorder) resolveCalls(slots map[uint32]int, tagLoc func(routine int) int64, hit func(v uint32, routine int, wrapped bool)) {
	type key struct {
		target  uint32
		viaSlot bool
	}
	type tagParam struct {
		loc     int64
		routine int
		depth   int
	}
	byTarget := map[key][]int32{}
	for i := range r.events {
		e := &r.events[i]
		k := key{e.target, e.viaSlot}
		byTarget[k] = append(byTarget[k], int32(i))
	}
	registered := map[key][]tagParam{}
	var queue []struct {
		k  key
		tp tagParam
	}
	add := func(k key, tp tagParam) {
		for _, o := range registered[k] {
			if o.loc == tp.loc && o.routine == tp.routine {
				return
			}
		}
		registered[k] = append(registered[k], tp)
		queue = append(queue, struct {
			k  key
			tp tagParam
		}{k, tp})
	}
	for slot, rt := range slots {
		add(key{slot, true}, tagParam{tagLoc(rt), rt, 0})
	}
	type siteKey struct {
		site    uint32
		routine int
		v       uint32
	}
	seen := map[siteKey]bool{}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		for _, i := range byTarget[q.k] {
			e := &r.events[i]
			v := r.lookup(e, q.tp.loc)
			switch v.kind {
			case vImm:
				sk := siteKey{e.site, q.tp.routine, uint32(v.n)}
				if !seen[sk] {
					seen[sk] = true
					hit(uint32(v.n), q.tp.routine, q.tp.depth > 0)
				}
			case vParam:
				if q.tp.depth < maxWrapperDepth {
					add(key{e.entry, false}, tagParam{int64(v.n), q.tp.routine, q.tp.depth + 1})
				}
			}
		}
	}
}
