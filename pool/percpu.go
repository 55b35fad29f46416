package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
)

// maxTagTables is the length of ExPoolTagTables: 32 on x86, 64 on x64
// (WRK pool.c). Entries past NumberProcessors are NULL.
func maxTagTables(is64 bool) int {
	if is64 {
		return 64
	}
	return 32
}

// section is a PE section of an image mapped in the dump.
type section struct {
	name   string
	va     uint64
	size   uint32
	charac uint32
}

const (
	scnMemExecute = 0x20000000
	scnMemWrite   = 0x80000000
)

// imageSections reads the section table of the PE image mapped at base.
func imageSections(f *dumpfile.File, base uint64) ([]section, error) {
	var dos [0x40]byte
	if _, err := f.ReadVirtual(base, dos[:]); err != nil {
		return nil, err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, fmt.Errorf("no MZ header at %#x", base)
	}
	nt := base + uint64(binary.LittleEndian.Uint32(dos[0x3C:]))
	var fh [24]byte
	if _, err := f.ReadVirtual(nt, fh[:]); err != nil {
		return nil, err
	}
	if string(fh[:4]) != "PE\x00\x00" {
		return nil, fmt.Errorf("no PE header at %#x", nt)
	}
	n := int(binary.LittleEndian.Uint16(fh[6:]))
	optSize := uint64(binary.LittleEndian.Uint16(fh[20:]))
	if n == 0 || n > 96 {
		return nil, fmt.Errorf("kernel image at %#x: %d sections", base, n)
	}
	tab := make([]byte, n*40)
	if _, err := f.ReadVirtual(nt+24+optSize, tab); err != nil {
		return nil, err
	}
	out := make([]section, n)
	for i := range out {
		h := tab[i*40:]
		out[i] = section{
			name:   trimNul(h[:8]),
			size:   max(binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[16:])),
			va:     base + uint64(binary.LittleEndian.Uint32(h[12:])),
			charac: binary.LittleEndian.Uint32(h[36:]),
		}
	}
	return out, nil
}

func trimNul(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// perCPU is the result of looking for ExPoolTagTables.
type perCPU struct {
	arrayAddr uint64
	tables    []uint64 // by CPU; [0] is the global table
	read      []*Table // the tables of CPUs 1 and up, as read
	missing   []int    // CPUs whose table is not in the dump
}

// findPerCPU looks for ExPoolTagTables without symbols: in the kernel's
// writable data sections, a pointer array whose element 0 is the global
// table, followed by NumberProcessors-1 non-NULL pointers and then NULLs,
// each pointing to a table whose keys agree index by index with the
// global table's. The nt!PoolTrackTable variable itself (a lone pointer
// followed by other data) is skipped.
func findPerCPU(f *dumpfile.File, k *dumpfile.KDBG, global *Table) (*perCPU, error) {
	cpus := int(f.NumberProcessors)
	base := k.KernBase()
	if base == 0 {
		return nil, fmt.Errorf("KDBG has no KernBase to find the kernel image")
	}
	secs, err := imageSections(f, base)
	if err != nil {
		return nil, fmt.Errorf("kernel image sections unreadable: %w", err)
	}
	ps := f.Arch().PointerSize()
	maxN := max(maxTagTables(f.Is64), cpus) // more than 64 CPUs: processor groups
	var rejected []string
	scanned, unreadable := 0, 0
	for _, s := range secs {
		if s.charac&scnMemWrite == 0 || s.charac&scnMemExecute != 0 {
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
				tabs, why := tableArray(f, at, maxN, ps)
				if why != "" {
					rejected = append(rejected, fmt.Sprintf("%#x: %s", at, why))
					continue
				}
				if len(tabs) != cpus {
					rejected = append(rejected, fmt.Sprintf("%#x: %d table pointers for %d CPUs", at, len(tabs), cpus))
					continue
				}
				read, missing, why := readAgreeing(f, tabs[1:], global)
				if why != "" {
					rejected = append(rejected, fmt.Sprintf("%#x: %s", at, why))
					continue
				}
				return &perCPU{arrayAddr: at, tables: tabs, read: read, missing: missing}, nil
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

func ptrIn(b []byte, ps int) uint64 {
	if ps == 8 {
		return binary.LittleEndian.Uint64(b)
	}
	return uint64(binary.LittleEndian.Uint32(b))
}

// tableArray reads up to maxN pointers at at: non-NULL ones first, then
// only NULLs.
func tableArray(f *dumpfile.File, at uint64, maxN, ps int) ([]uint64, string) {
	raw := make([]byte, maxN*ps)
	n, _ := f.ReadVirtual(at, raw)
	var tabs []uint64
	ended := false
	for i := 0; i+ps <= n; i += ps {
		p := ptrIn(raw[i:], ps)
		switch {
		case p == 0:
			ended = true
		case ended:
			return nil, "non-NULL pointer after a NULL"
		default:
			tabs = append(tabs, p)
		}
	}
	if len(tabs) < 2 {
		return nil, "a single pointer"
	}
	return tabs, ""
}

// readAgreeing reads each table and checks that it holds, at the indices
// the global table uses, either the same key or none yet (keys are copied
// lazily). Tables the dump does not hold cannot disagree: their CPU
// numbers (1 for tabs[0]) come back in missing, and the array's shape
// vouches for them. The tables read are returned for summing.
func readAgreeing(f *dumpfile.File, tabs []uint64, global *Table) (read []*Table, missing []int, why string) {
	for n, va := range tabs {
		t := readTable(f, va, global.Size, global.Layout)
		same, conflict, readable := 0, 0, 0
		for i, u := range global.entries {
			if t.bad[i] || global.bad[i] {
				continue
			}
			readable++
			switch k := t.entries[i].Tag; {
			case k == 0:
			case k == u.Tag:
				same++
			default:
				conflict++
			}
		}
		if readable == 0 {
			missing = append(missing, n+1)
		} else if conflict > 0 || same == 0 {
			return nil, nil, fmt.Sprintf("table %#x: %d keys agree with the global table, %d differ", va, same, conflict)
		}
		read = append(read, t)
	}
	return read, missing, ""
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
