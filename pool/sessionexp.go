package pool

import (
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// The per-session expansion table. When a session's fixed tracker table
// has no free slot, Vista and later kernels count the tag in a table the
// session owns, MM_SESSION_SPACE.PoolTrackTableExpansion, of
// PoolTrackTableExpansionSize entries in the build's POOL_TRACKER_TABLE
// layout. The size follows the pointer, pointer-sized (a ULONG on x86);
// each build's offset is its sessionLayouts row's expansion, from its
// ntdiff/headers _MM_SESSION_SPACE.h (Win7/x86 0x1FC8, Win7/x64 0x1F30,
// Win10_1607_RS1/x64 0x1F78, Win10_1809_RS5/x64 0x2028, ...).
//
// How it is searched: linearly, no hash. WRK ex/pool.c
// ExpInsertPoolTrackerExpansion, for the system table's expansion (WRK,
// the Server 2003 SP1 kernel, keeps no session expansion: a full session
// table charges its last entry, keyed Ovfl), walks entries 0 to
// PoolTrackTableExpansionSize - 1, stops at the first whose Key is the tag
// and claims the first whose Key is 0; ExpRemovePoolTrackerExpansion
// stops at the tag or at the first empty entry. Decompiled later kernels
// do the same for the session (ExpInsertPoolTrackerExpansion and
// ExpRemovePoolTrackerExpansion quoted from Windows 10 and 11 x64 take the
// table and size from the current process's MM_SESSION_SPACE when the
// pool type has bit 0x20), and grow it as WRK grows the system one: a
// new allocation one page larger, entries copied, the rest zeroed, size
// = bytes / entry size; when the allocation fails the fixed table's
// last entry is keyed Ovfl and charged instead. So the used entries are
// packed from 0 and every entry after the first empty one is empty: a key
// after an empty entry is not something the kernel wrote.

// maxExpansionEntries bounds PoolTrackTableExpansionSize: 16384 entries
// (at most 1.25 MiB at the largest entry, 0x50 bytes) is far past the few
// hundred tags a session holds; a larger size is damage, not a table.
const maxExpansionEntries = 1 << 14

// sessionRange is session space [base, base+size), or why it is unknown.
type sessionRange struct {
	base, size uint64
	err        error
}

func (r sessionRange) holds(va uint64) bool {
	return r.err == nil && va >= r.base && va-r.base < r.size
}

// readSessionExpansion reads s's expansion table into sum. st reads the
// MM_SESSION_SPACE at s.Struct; the table itself is read through the
// session's page tables (sp) when its address is in session space, else
// through the kernel's (f): the pointer says which. sum nil (the fixed
// table was not read) leaves the expansion unread too.
func readSessionExpansion(f *dumpfile.File, st virtualReader, sp *dumpfile.Space, s *SessionPool, sl sessionLayout, lay *Layout, r sessionRange, sum map[pooltag.Tag]*Usage) {
	if sum == nil {
		return
	}
	if sl.noExpansion {
		s.OverflowInOvfl = s.Full
		return
	}
	if sl.expansion == 0 {
		if s.Full {
			s.Missing = append(s.Missing, "session tracker table full, and where this build keeps its expansion table (MM_SESSION_SPACE.PoolTrackTableExpansion) is not known here: tags that did not fit are not read")
		}
		return
	}
	miss := func(format string, a ...any) { s.Missing = append(s.Missing, fmt.Sprintf(format, a...)) }
	ps := f.Arch().PointerSize()
	at := s.Struct + uint64(sl.expansion)
	var w [16]byte
	if _, err := st.ReadVirtual(at, w[:2*ps]); err != nil {
		miss("MM_SESSION_SPACE.PoolTrackTableExpansion at %#x unreadable: %v", at, err)
		return
	}
	// The size is pointer-sized: a SIZE_T on 64-bit kernels, a ULONG on 32-bit ones.
	va, n := ptrIn(w[:], ps), ptrIn(w[ps:], ps)
	s.Expansion, s.ExpansionSize = va, n
	switch {
	case va == 0 && n == 0:
		s.OverflowInOvfl = s.Full
		return
	case va == 0 || n == 0:
		miss("session expansion table: PoolTrackTableExpansion %#x with PoolTrackTableExpansionSize %d at %#x is not a table: not read", va, n, at)
		return
	case n > maxExpansionEntries:
		miss("session expansion table: PoolTrackTableExpansionSize %d at %#x is more than %d entries: not believed, the table at %#x is not read", n, at+uint64(ps), maxExpansionEntries, va)
		return
	}
	var rd virtualReader = f
	if r.holds(va) || r.err != nil {
		rd = sp // session space, or no bounds to tell: the session's own tables map both halves
	}
	t := readTable(rd, va, int(n), lay)
	for _, d := range t.span.describe() {
		miss("session expansion table: %s", d)
	}
	empty, after := -1, 0
	var found []Usage
	for i, u := range t.entries {
		switch {
		case t.bad[i]:
		case u.Tag == 0:
			if empty < 0 {
				empty = i
			}
		case empty >= 0:
			after++
		default:
			found = append(found, u)
		}
	}
	if after > 0 {
		miss("session expansion table at %#x: %d keys after its first empty entry (%d), where the kernel's linear search never puts one: not a tracker table, not read", va, after, empty)
		return
	}
	if len(found) > 0 && !plausibleTags(found) {
		miss("session expansion table at %#x: keys that are not pool tags: not read", va)
		return
	}
	for _, u := range found {
		add(sum, u)
		s.ExpansionTags = append(s.ExpansionTags, u.Tag)
	}
	sort.Slice(s.ExpansionTags, func(i, j int) bool { return s.ExpansionTags[i].Less(s.ExpansionTags[j]) })
}
