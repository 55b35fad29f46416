package pe

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
	kind uint8
	n    uint64
	at   int32 // instruction number when the value was set
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
}

// record notes a call (or tail jump) at site to target.
func (r *flowRecorder) record(site, target uint32, viaSlot, jump bool) {
	r.recordIf(site, target, viaSlot, jump, false)
}

// branch notes a branch within code. Branches are many and matter only
// when they carry a constant into merged code, so one without a constant
// is dropped.
func (r *flowRecorder) branch(site, target uint32) {
	r.recordIf(site, target, false, true, true)
}

func (r *flowRecorder) recordIf(site, target uint32, viaSlot, jump, needImm bool) {
	s := &r.st
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
