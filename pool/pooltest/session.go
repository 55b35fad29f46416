package pooltest

import (
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// SessionSpec is one Terminal Server session to plant: its processes and
// the tags its session pool tracker holds.
type SessionSpec struct {
	ID        uint32
	Processes []string     // image names; at least one
	Tags      []pool.Usage // each with its Tag set, in the order the kernel met them
	// Absent leaves the tracker's pages out of the dump.
	Absent bool
	// Tags past the fixed table's free slots go where the kernel puts
	// them: the session's expansion table on builds that keep one, else
	// the table's last entry, keyed Ovfl. ExpansionInSystem places the
	// expansion in kernel pool instead of session space; ExpansionAbsent
	// leaves those of its pages (0 is the first) out of the dump;
	// ExpansionSize, when set, is written as PoolTrackTableExpansionSize
	// instead of the size the kernel would give.
	ExpansionInSystem bool
	ExpansionAbsent   []int
	ExpansionSize     uint64
	// TableAt is the PoolTags offset to plant the table at, one of the
	// build's places (dumptest's SessionTablePlaces); 0: the first.
	TableAt int
	// TableBytes, when set, sizes the table as another place's bytes
	// would, instead of its own place's.
	TableBytes int
}

// SessionWant is what a reader must find in one planted session.
type SessionWant struct {
	Usages    []pool.Usage  // sorted, counters cut to their widths, entries on absent pages left out
	Expansion []pooltag.Tag // the tags read from the expansion table, sorted
	Full      bool          // every slot but the last holds a key
}

// sessionTablePages is MiSessionTagSizePages (WRK session.c): the table
// holds the largest power of two of entries that fits two pages, and its
// mask is size - 1 (no Ovfl sentinel, WRK ex/pool.c). A build whose
// tracker is the PoolTags member holds as many as that member's bytes
// (16384 bytes: 256 entries of 0x38), the builder's places say which.
const sessionTablePages = 2

// sessionTableSizes are the entries of each session's table: the largest
// power of two of entries of entrySize bytes that fits its bytes.
func sessionTableSizes(b *dumptest.Builder, ss []SessionSpec, entrySize int) ([]int, error) {
	sizes := make([]int, len(ss))
	for k, s := range ss {
		tableBytes, err := sessionTableBytes(b, s)
		if err != nil {
			return nil, err
		}
		sizes[k] = 1
		for sizes[k]*2*entrySize <= tableBytes {
			sizes[k] *= 2
		}
	}
	return sizes, nil
}

// sessionTableBytes is the bytes of s's table on the builder's build.
func sessionTableBytes(b *dumptest.Builder, s SessionSpec) (int, error) {
	if s.TableBytes > 0 {
		return s.TableBytes, nil
	}
	places := b.SessionTablePlaces()
	if len(places) == 0 {
		return sessionTablePages * dumptest.PageSize, nil
	}
	if s.TableAt == 0 {
		return places[0].Bytes, nil
	}
	for _, p := range places {
		if p.Offset == s.TableAt {
			return p.Bytes, nil
		}
	}
	return 0, fmt.Errorf("session %d: no PoolTags place at %#x on this build", s.ID, s.TableAt)
}

// ovflTag keys the overflow bucket: the last entry of a session table
// whose tags no longer fit and that has no expansion table (WRK ex/pool.c
// ExpInsertPoolTrackerExpansion, session branch).
var ovflTag = pooltag.MustTag("Ovfl")

// PlantSessions writes each session into b and returns, by session ID,
// the tags a reader must find (sorted, counters cut to their widths).
func PlantSessions(b *dumptest.Builder, cfg dumptest.Config, ss []SessionSpec) (map[uint32][]pool.Usage, error) {
	full, err := PlantSessionsWant(b, cfg, ss)
	if err != nil {
		return nil, err
	}
	want := map[uint32][]pool.Usage{}
	for id, w := range full {
		want[id] = w.Usages
	}
	return want, nil
}

// PlantSessionsWant is PlantSessions returning all a reader must find.
//
// The kernel's rules, stated here apart from the reader: a tag takes the
// first free slot from its hash on, never the last slot (WRK ex/pool.c
// keeps it as the overflow bucket; decompiled Windows 10 insertion steps
// over index size - 1); once no slot is free, a build with an expansion
// table searches it linearly from entry 0 and claims the first empty
// entry (WRK ExpInsertPoolTrackerExpansion), the table being whole pages
// of entries (size = pages * 4096 / entry size, grown a page at a time);
// a build without one charges the last entry, keyed Ovfl.
func PlantSessionsWant(b *dumptest.Builder, cfg dumptest.Config, ss []SessionSpec) (map[uint32]SessionWant, error) {
	lay, ok := layoutForArch(cfg.Arch, cfg.Build)
	if !ok {
		return nil, fmt.Errorf("no tracker layout for build %d", cfg.Build)
	}
	sizes, err := sessionTableSizes(b, ss, lay.size)
	if err != nil {
		return nil, err
	}
	hash := hashFor(cfg.Build)
	want := map[uint32]SessionWant{}
	for k, s := range ss {
		size := sizes[k]
		mask := uint32(size - 1)
		table := make([]byte, size*lay.size)
		used := make([]bool, size)
		used[size-1] = true // the overflow bucket: never a tag's slot
		seen := map[pooltag.Tag]bool{}
		var got []pool.Usage
		var over []pool.Usage
		for i, u := range s.Tags {
			if seen[u.Tag] {
				return nil, fmt.Errorf("session %d: tag %s planted twice", s.ID, u.Tag)
			}
			seen[u.Tag] = true
			if i >= size-1 {
				over = append(over, u)
				continue
			}
			h := hash(uint32(u.Tag)) & mask
			for used[h] {
				h = (h + 1) & mask
			}
			used[h] = true
			lay.encode(table[int(h)*lay.size:], u)
			got = append(got, lay.truncate(u))
		}
		w := SessionWant{Full: len(s.Tags) >= size-1 && !s.Absent}
		sess := dumptest.Session{ID: s.ID, Processes: s.Processes, Tracker: table, AbsentTracker: s.Absent, TableAt: s.TableAt,
			ExpansionInSystem: s.ExpansionInSystem, ExpansionAbsent: s.ExpansionAbsent}
		switch {
		case len(over) > 0 && b.SessionExpansion():
			n := 0
			for pages := 1; n < len(over); pages++ {
				n = pages * dumptest.PageSize / lay.size
			}
			exp := make([]byte, n*lay.size)
			absent := map[int]bool{}
			for _, p := range s.ExpansionAbsent {
				absent[p] = true
			}
			for i, u := range over {
				lay.encode(exp[i*lay.size:], u)
				first, last := i*lay.size/dumptest.PageSize, ((i+1)*lay.size-1)/dumptest.PageSize
				if absent[first] || absent[last] {
					continue
				}
				got = append(got, lay.truncate(u))
				w.Expansion = append(w.Expansion, u.Tag)
			}
			sess.Expansion, sess.ExpansionSize = exp, uint64(n)
			if s.ExpansionSize != 0 {
				sess.ExpansionSize = s.ExpansionSize
			}
		case len(over) > 0:
			o := pool.Usage{Tag: ovflTag}
			for _, u := range over {
				o.NonPagedAllocs += u.NonPagedAllocs
				o.NonPagedFrees += u.NonPagedFrees
				o.NonPagedBytes += u.NonPagedBytes
				o.PagedAllocs += u.PagedAllocs
				o.PagedFrees += u.PagedFrees
				o.PagedBytes += u.PagedBytes
			}
			lay.encode(table[(size-1)*lay.size:], o)
			got = append(got, lay.truncate(o))
		}
		if s.Absent {
			got = nil
		}
		sort.Slice(got, func(i, j int) bool { return got[i].Tag.Less(got[j].Tag) })
		sort.Slice(w.Expansion, func(i, j int) bool { return w.Expansion[i].Less(w.Expansion[j]) })
		w.Usages = got
		b.AddSession(sess)
		want[s.ID] = w
	}
	return want, nil
}
