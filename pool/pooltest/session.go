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
	Tags      []pool.Usage // each with its Tag set
	// Absent leaves the tracker's pages out of the dump.
	Absent bool
}

// sessionTablePages is MiSessionTagSizePages (WRK session.c): the table
// holds the largest power of two of entries that fits two pages, and its
// mask is size - 1 (no Ovfl sentinel, WRK ex/pool.c).
const sessionTablePages = 2

// PlantSessions writes each session into b and returns, by session ID,
// the tags a reader must find (sorted, counters cut to their widths).
func PlantSessions(b *dumptest.Builder, cfg dumptest.Config, ss []SessionSpec) (map[uint32][]pool.Usage, error) {
	lay, ok := layoutForArch(cfg.Arch, cfg.Build)
	if !ok {
		return nil, fmt.Errorf("no tracker layout for build %d", cfg.Build)
	}
	size := 1
	for size*2*lay.size <= sessionTablePages*dumptest.PageSize {
		size *= 2
	}
	hash := hashFor(cfg.Build)
	mask := uint32(size - 1)
	want := map[uint32][]pool.Usage{}
	for _, s := range ss {
		if len(s.Tags) > size {
			return nil, fmt.Errorf("session %d: %d tags do not fit %d entries", s.ID, len(s.Tags), size)
		}
		table := make([]byte, size*lay.size)
		used := make([]bool, size)
		seen := map[pooltag.Tag]bool{}
		var got []pool.Usage
		for _, u := range s.Tags {
			if seen[u.Tag] {
				return nil, fmt.Errorf("session %d: tag %s planted twice", s.ID, u.Tag)
			}
			seen[u.Tag] = true
			h := hash(uint32(u.Tag)) & mask
			for used[h] {
				h = (h + 1) & mask
			}
			used[h] = true
			lay.encode(table[int(h)*lay.size:], u)
			got = append(got, lay.truncate(u))
		}
		sort.Slice(got, func(i, j int) bool { return got[i].Tag.Less(got[j].Tag) })
		b.AddSession(dumptest.Session{ID: s.ID, Processes: s.Processes, Tracker: table, AbsentTracker: s.Absent})
		want[s.ID] = got
	}
	return want, nil
}
