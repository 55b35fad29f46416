package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/peimage"
	"github.com/poolblame/poolblame/pooltag"
)

// maxCPUs is the most processors Windows supports (2048 since Windows
// Server 2022 / Windows 11, processor groups included). NumberProcessors
// outside 1..maxCPUs is not believed.
const maxCPUs = dumpfile.MaxProcessors

// maxTagTables is the length of ExPoolTagTables: 32 on x86, 64 on x64
// (WRK pool.c); 2048 on Windows 11, where slots of absent processors stay
// NULL. Entries past the last processor are NULL.
func maxTagTables(is64 bool, build uint32) int {
	switch {
	case build >= 22000:
		return maxCPUs
	case is64:
		return 64
	}
	return 32
}

// section is a PE section of an image mapped in the dump.
type section struct {
	va     uint64
	size   uint32
	charac uint32
}

// imageSections reads the section table of the PE image mapped at base.
func imageSections(f *dumpfile.File, base uint64) ([]section, error) {
	h, err := f.ImageHeaders(base)
	if err != nil {
		return nil, err
	}
	if len(h.Sections) == 0 {
		return nil, fmt.Errorf("kernel image at %#x has no sections", base)
	}
	out := make([]section, len(h.Sections))
	for i, s := range h.Sections {
		out[i] = section{
			size:   max(s.VirtualSize, s.SizeOfRawData),
			va:     base + uint64(s.VirtualAddress),
			charac: s.Characteristics,
		}
	}
	return out, nil
}

// perCPU is the result of looking for ExPoolTagTables.
type perCPU struct {
	arrayAddr uint64
	tables    []uint64 // the non-NULL slots; [0] is the global table
	cpus      []int    // the slot (CPU number) of each of tables
	read      []*Table // the tables of tables[1:], as read
	missing   []int    // CPUs whose table is not in the dump
}

// findPerCPU looks for ExPoolTagTables without symbols: in the kernel's
// writable data sections, a pointer array whose element 0 is the global
// table, followed by the other CPUs' table pointers, each pointing to a
// table whose keys agree index by index with the global table's. NULL
// slots are skipped one by one, as the kernel's own query
// (ExpGetPoolTagInfoTarget) does. cpus is NumberProcessors, or 0 when it
// is not believed. The nt!PoolTrackTable variable itself (a lone pointer
// followed by other data) is skipped.
func findPerCPU(f *dumpfile.File, k *dumpfile.KDBG, global *Table, cpus int, r *Result) (*perCPU, error) {
	secs, err := kernelSections(f, k, r)
	if err != nil {
		return nil, err
	}
	ps := f.Arch().PointerSize()
	// More than 64 CPUs: processor groups. Never more than maxCPUs slots,
	// whatever the header says.
	maxN := min(max(maxTagTables(f.Is64, f.MinorVersion), cpus), maxCPUs)
	var rejected []string
	scanned, unreadable := 0, 0
	for _, s := range secs {
		if s.charac&peimage.ScnMemWrite == 0 || s.charac&peimage.ScnMemExecute != 0 {
			continue
		}
		var page [dumpfile.PageSize]byte
		for pva := s.va &^ (dumpfile.PageSize - 1); pva < s.va+uint64(s.size); pva += dumpfile.PageSize {
			if _, err := f.ReadVirtual(pva, page[:]); err != nil {
				unreadable++ // paged out, absent or cut off: the array may be there
				continue
			}
			scanned++
			for o := 0; o+ps <= len(page); o += ps {
				if ptrIn(page[o:], ps) != global.Addr {
					continue
				}
				at := pva + uint64(o)
				if at == k.PoolTrackTable() {
					continue
				}
				pc, why := tableArray(f, at, maxN, ps, cpus, global)
				if why != "" {
					rejected = append(rejected, fmt.Sprintf("%#x: %s", at, why))
					continue
				}
				return pc, nil
			}
		}
	}
	msg := fmt.Sprintf("ExPoolTagTables not found in the kernel's data sections (%d pages scanned", scanned)
	if unreadable > 0 {
		msg += fmt.Sprintf(", %d pages not in the dump, where it may be", unreadable)
	}
	msg += ")"
	if len(rejected) > 0 {
		msg += fmt.Sprintf(" (candidates rejected: %s)", rejected[0])
	}
	return nil, fmt.Errorf("%s", msg)
}

// kernelSections reads the section table of the kernel image. KDBG's
// KernBase says where it is; when no image is there (KDBG damaged, or a
// field the build moved), the module list's first entry, which the
// loader always makes the kernel's, is the second witness. A KernBase
// that is not the kernel is a contradiction in the dump: r's
// kernel-base check names it, and says which address was used.
func kernelSections(f *dumpfile.File, k *dumpfile.KDBG, r *Result) ([]section, error) {
	base := k.KernBase()
	var why error
	if base != 0 {
		secs, err := imageSections(f, base)
		if err == nil {
			return secs, nil
		}
		why = fmt.Errorf("KDBG's KernBase %#x is not the kernel image: %w", base, err)
	} else {
		why = fmt.Errorf("KDBG has no KernBase to find the kernel image")
	}
	mods, _ := f.Modules()
	if len(mods) == 0 || mods[0].Base == 0 || mods[0].Base == base {
		r.check(Check{Name: CheckKernBase, Status: CheckFailed, Outcome: KernBaseNoOther, Err: why})
		return nil, why
	}
	secs, err := imageSections(f, mods[0].Base)
	if err != nil {
		r.check(Check{Name: CheckKernBase, Status: CheckFailed, Outcome: KernBaseNeither, Err: why, Module: mods[0].Name, ModuleBase: mods[0].Base, ModuleErr: err})
		return nil, fmt.Errorf("%w; module list's first entry %s at %#x: %w", why, mods[0].Name, mods[0].Base, err)
	}
	r.check(Check{Name: CheckKernBase, Status: CheckFailed, Outcome: KernBaseFromModules, Err: why, Module: mods[0].Name, ModuleBase: mods[0].Base})
	return secs, nil
}

// tableArray reads up to maxN pointer slots at at and checks them as
// ExPoolTagTables: slot 0 is the global table; slots before the first
// NULL are the CPUs' tables (one the dump does not hold is missing, the
// array's shape vouches for it); after a NULL, as the kernel skips NULL
// slots one by one (processor groups leave gaps: CPUs 0-5 and 64-69), a
// pointer counts when its table reads and agrees with the global one, or
// when it is below a believed CPU count (then a table absent from the
// dump is missing), since past a short array lie other variables.
func tableArray(f *dumpfile.File, at uint64, maxN, ps, cpus int, global *Table) (*perCPU, string) {
	raw := make([]byte, maxN*ps)
	n, _ := f.ReadVirtual(at, raw)
	pc := &perCPU{arrayAddr: at, tables: []uint64{global.Addr}, cpus: []int{0}}
	gap := false
	for i := ps; i+ps <= n; i += ps {
		cpu := i / ps
		p := ptrIn(raw[i:], ps)
		if p == 0 {
			gap = true
			continue
		}
		beyond := cpus > 0 && cpu >= cpus
		if beyond && !gap {
			return nil, fmt.Sprintf("more table pointers than the %d CPUs", cpus)
		}
		if gap && (p&(dumpfile.PageSize-1) != 0 || glance(f, p, global) == tableDisagrees) {
			continue // tables are page-aligned pool blocks: this is other data
		}
		t, state := readAgreeing(f, p, global)
		switch {
		case state == tableDisagrees && !gap:
			return nil, fmt.Sprintf("table %#x (CPU %d) disagrees with the global table", p, cpu)
		case state == tableDisagrees:
			continue // not a table: whatever follows the array
		case state == tableAbsent && gap && (cpus == 0 || beyond):
			continue // cannot tell an absent table from other data
		case state == tableAbsent:
			pc.missing = append(pc.missing, cpu)
		}
		pc.tables = append(pc.tables, p)
		pc.cpus = append(pc.cpus, cpu)
		pc.read = append(pc.read, t)
	}
	if len(pc.tables) < 2 {
		return nil, "a single pointer"
	}
	return pc, ""
}

// glance compares a few keys of the table at va with the global table's
// before the whole table is read, so that stray pointers past the array
// cost little.
func glance(f *dumpfile.File, va uint64, global *Table) int {
	seen, same, conflict := 0, 0, 0
	for i, u := range global.entries {
		if seen == 16 {
			break
		}
		if global.bad[i] || u.Tag == 0 {
			continue
		}
		k, err := f.ReadU32(va + uint64(i*global.Layout.EntrySize))
		if err != nil {
			continue
		}
		seen++
		switch pooltag.Tag(k) {
		case u.Tag:
			same++
		case 0:
		default:
			conflict++
		}
	}
	switch {
	case seen == 0:
		return tableAbsent
	case conflict > same:
		return tableDisagrees
	}
	return tableAgrees
}

const (
	tableAgrees = iota
	tableDisagrees
	tableAbsent
)

// readAgreeing reads a CPU's table and checks that it holds, at the
// indices the global table uses, either the same key or none yet (keys
// are copied lazily). A table the dump does not hold cannot disagree.
func readAgreeing(f *dumpfile.File, va uint64, global *Table) (*Table, int) {
	t := readTable(f, va, global.Size, global.Layout)
	same, conflict, orphan, readable := 0, 0, 0, 0
	for i, u := range global.entries {
		if t.bad[i] || global.bad[i] {
			continue
		}
		readable++
		switch k := t.entries[i].Tag; {
		case k == 0:
		case k == u.Tag:
			same++
		case u.Tag == 0:
			orphan++ // a key the global table lacks: damage there, said by sumTables
		default:
			conflict++
		}
	}
	switch {
	case readable == 0:
		return t, tableAbsent
	case conflict > max(1, same/20) || orphan > same || same == 0:
		return t, tableDisagrees
	}
	return t, tableAgrees
}

func ptrIn(b []byte, ps int) uint64 {
	if ps == 8 {
		return binary.LittleEndian.Uint64(b)
	}
	return uint64(binary.LittleEndian.Uint32(b))
}

// findExpansion looks for PoolTrackTableExpansion and its size near the
// nt!PoolTrackTable variable. The expansion table only holds tags when the
// main table is full, so it is only looked for then.
func findExpansion(f *dumpfile.File, k *dumpfile.KDBG, global *Table) (*Table, error) {
	ps := uint64(f.Arch().PointerSize())
	v := k.PoolTrackTable()
	const reach = 16 // pointer slots on each side
	start := v - reach*ps
	words := make([]uint64, 2*reach+1)
	for i := range words {
		w, err := f.ReadPointer(start + uint64(i)*ps)
		if err != nil {
			continue
		}
		words[i] = w
	}
	for i, p := range words {
		if p == 0 || p == global.Addr || uint64(i)*ps+start == v {
			continue
		}
		for _, j := range []int{i - 1, i + 1} {
			if j < 0 || j >= len(words) {
				continue
			}
			n := words[j]
			if n == 0 || n > 1<<16 {
				continue
			}
			t := readTable(f, p, int(n), global.Layout)
			if t.Unreadable() > 0 || !plausibleTags(t.entries) {
				continue
			}
			t.SizeSource = fmt.Sprintf("pointer and count beside nt!PoolTrackTable at %#x", start+uint64(i)*ps)
			return t, nil
		}
	}
	return nil, fmt.Errorf("PoolTrackTableExpansion not found beside nt!PoolTrackTable")
}

// plausibleTags: every non-empty key is printable ASCII (after the
// protected bit) and at least one exists.
func plausibleTags(es []Usage) bool {
	n := 0
	for _, u := range es {
		if u.Tag == 0 {
			continue
		}
		for _, c := range u.Tag.Unprotected().Bytes() {
			if c < 0x20 || c > 0x7E {
				return false
			}
		}
		n++
	}
	return n > 0
}

// findUnlisted looks through the dump's kernel mappings for up to want
// tracker tables that ExPoolTagTables does not list (a slot zeroed, or
// the array not found): page-aligned (every table is a big pool
// allocation of whole pages), not one of known, and agreeing with the
// global table key by key. A table mapped at two addresses is counted
// once, by the physical page of its start. More tables than want means
// the memory holds copies or stale tables it cannot tell apart, and none
// is used.
func findUnlisted(f *dumpfile.File, global *Table, known []uint64, want int) ([]*Table, error) {
	ps := f.Arch().PointerSize()
	high := uint64(1) << (8*ps - 1) // system space: the upper half
	seen := map[uint64]bool{}
	for _, va := range known {
		if pa, err := f.Translate(va); err == nil {
			seen[pa] = true
		}
	}
	// The keys the global table holds in its densest page: a page found
	// in memory is taken as that page of a candidate table when it holds
	// each of them at the same offset, or none yet (keys are copied on
	// first use), and at least two.
	es := global.Layout.EntrySize
	perPage := map[int][]int{}
	best := 0
	for i, u := range global.entries {
		if global.bad[i] || u.Tag == 0 || i*es/dumpfile.PageSize != ((i+1)*es-1)/dumpfile.PageSize {
			continue
		}
		pg := i * es / dumpfile.PageSize
		perPage[pg] = append(perPage[pg], i)
		if len(perPage[pg]) > len(perPage[best]) {
			best = pg
		}
	}
	idx := perPage[best]
	if len(idx) < 2 {
		return nil, fmt.Errorf("no page of the global table holds two keys: too few to recognise a CPU's table by")
	}
	pageOff := uint64(best) * dumpfile.PageSize
	var found []*Table
	page := make([]byte, dumpfile.PageSize)
	_, err := f.Mappings(func(m dumpfile.Mapping) bool {
		if m.State != dumpfile.MapPresent || m.VA&high == 0 || m.VA < pageOff {
			return true
		}
		// One read of the physical page; the address of the table it
		// would start is translated only for a page that matches.
		if _, err := f.ReadPhysical(m.PA, page); err != nil {
			return true
		}
		same := 0
		for _, i := range idx {
			switch k := pooltag.Tag(binary.LittleEndian.Uint32(page[i*es-int(pageOff):])); k {
			case global.entries[i].Tag:
				same++
			case 0:
			default:
				return true
			}
		}
		if same < 2 {
			return true
		}
		start := m.VA - pageOff
		pa, err := f.Translate(start)
		if err != nil || seen[pa] {
			return true
		}
		seen[pa] = true
		if t, state := readAgreeing(f, start, global); state == tableAgrees {
			found = append(found, t)
		}
		return len(found) <= want
	})
	switch {
	case err != nil:
		return nil, err
	case len(found) > want:
		return nil, fmt.Errorf("more than %d tables agreeing with the global table are in memory: copies cannot be told from the missing ones", want)
	case len(found) < want:
		return found, fmt.Errorf("%d of the %d missing tables found in memory", len(found), want)
	}
	return found, nil
}
