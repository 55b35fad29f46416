package pool

import "github.com/poolblame/poolblame/pooltag"

// DamageKind is what is wrong with a run of tracker entries.
type DamageKind int

// The kinds of damage the table-pages and per-cpu-agree checks find, each
// in entries they can name by index.
const (
	// DamageZeroedPage is a page of a table whose every slot is empty
	// where the rest of the table is so full that this cannot be chance.
	DamageZeroedPage DamageKind = iota
	// DamageUnreachable is a key whose probe path from its hash slot
	// crosses an empty slot (Crossed): either the key was overwritten or
	// the crossed slot was emptied.
	DamageUnreachable
	// DamageKeyConflict is an index where a CPU's table holds another key
	// than the global table: one of the keys was overwritten.
	DamageKeyConflict
	// DamageOrphan is an index where a CPU's table holds a key and the
	// global table none: the kernel inserts every key in the global table
	// first, so the global entry was lost.
	DamageOrphan
)

func (k DamageKind) String() string {
	switch k {
	case DamageZeroedPage:
		return "zeroed page"
	case DamageUnreachable:
		return "unreachable key"
	case DamageKeyConflict:
		return "key conflict"
	case DamageOrphan:
		return "global entry lost"
	}
	return "unknown damage"
}

// Damage is a run of tracker entries that cannot be what the kernel
// wrote, found by the table-pages or per-cpu-agree check: the facts the
// analysis needs to leave exactly those tags out of a ranking.
type Damage struct {
	Kind DamageKind
	// CPU is the ExPoolTagTables slot of the damaged table (0: the global
	// table); -1 for a table found in memory, whose CPU is not known.
	CPU   int
	Table uint64 // the damaged table's address
	// Page is the page's number within the table and PageAddr its
	// address: the zeroed page, or the page of the crossed slot.
	Page     int
	PageAddr uint64
	// Odds is, for DamageZeroedPage, how likely an all-empty page is
	// given how full the rest of the table is.
	Odds float64
	// First and Last are the entry indices covered, Last included.
	First, Last int
	// Crossed is, for DamageUnreachable, the empty slot on the key's
	// probe path.
	Crossed int
	// Tags are the keys (protected bit cleared) that any table holds at
	// the covered indices: the tags whose sums the damage touches. A key
	// only the damaged table held is lost with it: Unnamed counts the
	// covered indices where no table holds a key.
	Tags    []pooltag.Tag
	Unnamed int
	// Surviving is, for DamageKeyConflict, the sum of every table's
	// counters at the index under the CPUs' key, the counters the
	// overwritten key left intact; nil when the CPUs' keys differ.
	Surviving *Usage
}

// Covers reports whether index i is among the damaged entries.
func (d Damage) Covers(i int) bool { return i >= d.First && i <= d.Last }

// name fills d's Tags and Unnamed from the keys every table holds at
// its indices.
func (d *Damage) name(tables []*Table) {
	seen := map[pooltag.Tag]bool{}
	for i := d.First; i <= d.Last; i++ {
		keyed := false
		for _, t := range tables {
			if i >= len(t.entries) || t.bad[i] || t.entries[i].Tag == 0 {
				continue
			}
			keyed = true
			if k := t.entries[i].Tag.Unprotected(); !seen[k] {
				seen[k] = true
				d.Tags = append(d.Tags, k)
			}
		}
		if !keyed {
			d.Unnamed++
		}
	}
}
