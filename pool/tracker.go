package pool

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// Table is one pool tracker table as found in the dump.
type Table struct {
	Addr       uint64 // virtual address of entry 0
	Size       int    // entries, including the Ovfl sentinel
	SizeSource string // how Size was established
	Layout     *Layout
	Hash       string // "WRK" or "multiplicative": the hash its keys agree with

	entries []Usage // by index; pooltag.Tag 0 = empty
	bad     []bool  // entry unreadable
	span    *span
}

// Entries returns the table's entries by index (Tag 0 is an empty slot).
func (t *Table) Entries() []Usage { return t.entries }

// Unreadable is the number of entries the dump could not give.
func (t *Table) Unreadable() int {
	n := 0
	for _, b := range t.bad {
		if b {
			n++
		}
	}
	return n
}

// ovfl is the key of the last, sentinel entry.
var ovfl = pooltag.MustTag("Ovfl")

const (
	minTableSize = 64 + 1
	maxTableSize = 1<<20 + 1 // volatility 2 rejects sizes above 100000; real tables reach 2^16+1
)

// isTableSize reports sizes of the form 2^n + 1 in range.
func isTableSize(n uint64) bool {
	return n >= minTableSize && n <= maxTableSize && bits.OnesCount64(n-1) == 1
}

// readTable reads size entries at va with layout l.
func readTable(f virtualReader, va uint64, size int, l *Layout) *Table {
	t := &Table{Addr: va, Size: size, Layout: l}
	t.span = readSpan(f, va, size*l.EntrySize)
	t.entries = make([]Usage, size)
	t.bad = make([]bool, size)
	for i := range t.entries {
		off := i * l.EntrySize
		if !t.span.readable(off, l.EntrySize) {
			t.bad[i] = true
			continue
		}
		t.entries[i] = l.Decode(t.span.b[off:])
	}
	return t
}

// consistency counts keys that sit where linear probing from their hash
// slot would put them (every slot between the two occupied), and keys
// that cannot (an empty slot on the way). A key whose probe path crosses
// a slot the dump does not hold can be neither: it is not counted, so a
// sparse table is judged on what is present. mask is size-2: the Ovfl
// sentinel at size-1 is outside it.
func consistency(keys []uint32, present []bool, hash HashFunc) (good, bad int) {
	size := len(keys)
	mask := uint32(size - 2)
	for i := 0; i < size-1; i++ {
		if !present[i] || keys[i] == 0 {
			continue
		}
		switch probeFrom(keys, present, int(hash(keys[i])&mask), i, int(mask)) {
		case probeGood:
			good++
		case probeBad:
			bad++
		}
	}
	return good, bad
}

const (
	probeGood = iota
	probeBad
	probeUnknown
)

// probeFrom walks from slot h to slot i as linear probing does.
func probeFrom(keys []uint32, present []bool, h, i, mask int) int {
	for j := h; j != i; j = (j + 1) & mask {
		if !present[j] {
			return probeUnknown
		}
		if keys[j] == 0 {
			return probeBad
		}
	}
	return probeGood
}

// keysAt reads the keys of size entries at va (entry stride es), one page
// at a time; present is false for entries the dump cannot give.
func keysAt(f *dumpfile.File, va uint64, size, es int) ([]uint32, []bool) {
	keys := make([]uint32, size)
	present := make([]bool, size)
	var page [dumpfile.PageSize]byte
	cur, ok := ^uint64(0), false
	for i := range keys {
		a := va + uint64(i*es)
		if p := a &^ (dumpfile.PageSize - 1); p != cur {
			cur = p
			_, err := f.ReadVirtual(p, page[:])
			ok = err == nil
		}
		o := a & (dumpfile.PageSize - 1)
		if !ok || o+4 > dumpfile.PageSize {
			if ok { // a key straddling pages: read it alone
				if v, err := f.ReadU32(a); err == nil {
					keys[i], present[i] = v, true
				}
			}
			continue
		}
		keys[i] = binary.LittleEndian.Uint32(page[o:])
		present[i] = true
	}
	return keys, present
}

// fit says how well a (size, layout, hash) reading of a table holds up.
type fit struct {
	size       int
	layout     *Layout
	hash       HashFunc
	hashName   string
	good, bad  int
	ovfl       bool // the last entry is keyed Ovfl
	lastEmpty  bool
	lastAbsent bool // the sentinel slot is not in the dump: it cannot be judged
	unreadable int
}

func (x fit) score() int { return x.good - 4*x.bad }

// acceptable: nearly every key at its probe position, and the sentinel
// slot holding Ovfl or nothing.
func (x fit) acceptable() bool {
	return x.good > 0 && x.bad*50 <= x.good && (x.ovfl || x.lastEmpty || x.lastAbsent)
}

func evaluate(f *dumpfile.File, va uint64, size int, l *Layout) fit {
	keys, present := keysAt(f, va, size, l.EntrySize)
	best := fit{size: size, layout: l}
	for _, h := range []struct {
		name string
		fn   HashFunc
	}{{"multiplicative", HashMul}, {"WRK", HashWRK}} {
		g, b := consistency(keys, present, h.fn)
		x := fit{size: size, layout: l, hash: h.fn, hashName: h.name, good: g, bad: b}
		if best.hash == nil || x.score() > best.score() {
			best = x
		}
	}
	last := size - 1
	best.ovfl = present[last] && pooltag.Tag(keys[last]) == ovfl
	best.lastEmpty = present[last] && keys[last] == 0
	best.lastAbsent = !present[last]
	for _, p := range present {
		if !p {
			best.unreadable++
		}
	}
	return best
}

// findTable locates nt!PoolTrackTable and establishes its size: first the
// SIZE_T just before the variable (where volatility 2 reads
// PoolTrackTableSize), accepted only as 2^n+1 with keys consistent with it;
// else the size that fits the table's contents best among 2^n+1, reading
// no further than the candidate itself.
func findTable(f *dumpfile.File, k *dumpfile.KDBG, l *Layout) (*Table, []string, error) {
	var notes []string
	varAddr := k.PoolTrackTable()
	if varAddr == 0 {
		return nil, nil, fmt.Errorf("KDBG has no PoolTrackTable field (KDBG Size %#x)", k.Size)
	}
	va, err := f.ReadPointer(varAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("nt!PoolTrackTable variable at %#x unreadable: %w", varAddr, err)
	}
	if va == 0 {
		return nil, nil, fmt.Errorf("nt!PoolTrackTable at %#x is NULL", varAddr)
	}
	if _, err := f.ReadU32(va); err != nil {
		// A sparse dump may still hold pages further in: read what is there.
		notes = append(notes, fmt.Sprintf("the first page of the pool tracker table at %#x is unreadable (%v)", va, err))
	}
	layouts := alternatives(f.Is64, l)
	ps := uint64(f.Arch().PointerSize())
	if sz, err := f.ReadPointer(varAddr - ps); err == nil && isTableSize(sz) {
		for _, lay := range layouts {
			x := evaluate(f, va, int(sz), lay)
			if x.acceptable() {
				if lay != l {
					notes = append(notes, fmt.Sprintf("entries fit layout %s, not the one expected for build %d (%s)", lay.Name, f.MinorVersion, l.Name))
				}
				return finish(f, va, x, "PoolTrackTableSize (the word before nt!PoolTrackTable)"), notes, nil
			}
		}
		notes = append(notes, fmt.Sprintf("the word before nt!PoolTrackTable (%d) does not fit the table's keys; size inferred instead", sz))
	} else if err != nil {
		notes = append(notes, fmt.Sprintf("PoolTrackTableSize unreadable (%v); size inferred from the table", err))
	} else {
		notes = append(notes, fmt.Sprintf("the word before nt!PoolTrackTable (%#x) is not a table size (2^n+1); size inferred from the table", sz))
	}
	var best *fit
	for _, lay := range layouts {
		for n := 6; n <= 20; n++ {
			size := 1<<n + 1
			x := evaluate(f, va, size, lay)
			if x.unreadable == size {
				continue // nothing of a table this large is in the dump; a larger one may reach a present page
			}
			if !(x.ovfl || x.lastEmpty || x.lastAbsent) || x.good == 0 {
				continue
			}
			if best == nil || x.score() > best.score() || (x.ovfl && !best.ovfl && x.score() == best.score()) {
				xx := x
				best = &xx
			}
		}
	}
	if best == nil || best.bad*10 > best.good {
		return nil, notes, fmt.Errorf("cannot establish the size of the pool tracker table at %#x: no size 2^n+1 fits its keys", va)
	}
	how := "inferred: the size 2^n+1 whose keys sit at their hash slots"
	if best.ovfl {
		how = "inferred: Ovfl sentinel at the last entry"
	}
	return finish(f, va, *best, how), notes, nil
}

func finish(f *dumpfile.File, va uint64, x fit, how string) *Table {
	t := readTable(f, va, x.size, x.layout)
	t.SizeSource = how
	t.Hash = x.hashName
	return t
}
