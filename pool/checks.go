package pool

import (
	"fmt"
	"math"
	"strings"

	"github.com/poolblame/poolblame/pooltag"
)

// CheckStatus is the outcome of one consistency check on the pool data.
type CheckStatus int

// The outcomes; CheckPassed means the data agrees with the rule.
const (
	CheckPassed  CheckStatus = iota
	CheckFailed              // the data contradicts itself or the kernel's rules
	CheckUnknown             // the data the check needs is missing
)

func (s CheckStatus) String() string {
	switch s {
	case CheckPassed:
		return "passed"
	case CheckFailed:
		return "failed"
	}
	return "unknown"
}

// Check is one invariant of the pool data, as found in this dump. The
// analysis layer grades confidence from them; every one is shown.
type Check struct {
	Name   string // one of the Check* names below
	Status CheckStatus
	Detail string // what was found, one sentence
}

// The checks, in the order Analyze runs them.
const (
	CheckCPUCount       = "cpu-count"          // NumberProcessors is 1 to 2048
	CheckKernBase       = "kernel-base"        // KDBG's KernBase holds the kernel image (run only when it does not)
	CheckPerCPUTables   = "per-cpu-tables"     // every CPU's tracker table found and summed
	CheckPerCPUAgree    = "per-cpu-agree"      // per-CPU tables hold the global table's keys, index by index
	CheckTableComplete  = "tables-complete"    // every page of every tracker table is in the dump
	CheckTablePages     = "table-pages"        // keys at their hash slots, no page zeroed or overwritten
	CheckCounters       = "counters"           // allocs >= frees, bytes 0 when nothing is outstanding, sizes plausible
	CheckNonPagedMax    = "nonpaged-max"       // the nonpaged maximum is known (or the build has none)
	CheckPagedMax       = "paged-max"          // the paged maximum is known (or the build has none)
	CheckNonPagedBounds = "nonpaged-in-bounds" // nonpaged use within its maximum and physical memory
	CheckPagedBounds    = "paged-in-bounds"    // paged use within its maximum
)

// CheckByName returns the named check, and false when it was not run.
func (r *Result) CheckByName(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Failed lists the names of the checks that failed.
func (r *Result) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == CheckFailed {
			out = append(out, c.Name)
		}
	}
	return out
}

func (r *Result) check(name string, s CheckStatus, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Status: s, Detail: fmt.Sprintf(format, args...)})
}

// zeroPageOdds is how unlikely an all-empty page must be, given how full
// the rest of the table is, before it is called zeroed.
const zeroPageOdds = 1e-6

// pageDamage finds the pages of a table that cannot be what the kernel
// wrote: pages whose every slot is empty although the rest of the table
// is so full that this has odds below zeroPageOdds, and pages holding an
// empty slot that breaks the probe chain of a key placed after it. keyed
// says which indices the reference (global) table uses; nil judges the
// table on its own occupancy. Each finding is returned as a sentence and
// as a Damage (CPU, Table and Tags left for the caller to fill).
func pageDamage(t *Table, hash HashFunc, keyed []bool) ([]string, []Damage) {
	es := t.Layout.EntrySize
	pageOf := func(i int) int { return int((t.Addr + uint64(i*es)) / 4096) }
	first := pageOf(0)
	type pg struct{ slots, empty, ref, refEmpty, lo, hi int }
	pages := map[int]*pg{}
	var slots, empty, ref, refEmpty int
	for i := 0; i < t.Size-1; i++ {
		if t.bad[i] {
			continue
		}
		p := pages[pageOf(i)]
		if p == nil {
			p = &pg{lo: i}
			pages[pageOf(i)] = p
		}
		p.hi = i
		z := t.entries[i].Tag == 0 && t.entries[i].IsZero()
		p.slots++
		slots++
		if z {
			p.empty++
			empty++
		}
		if keyed != nil && keyed[i] {
			p.ref++
			ref++
			if z {
				p.refEmpty++
				refEmpty++
			}
		}
	}
	var out []string
	var dmg []Damage
	for n := first; n <= pageOf(t.Size-2); n++ {
		p := pages[n]
		if p == nil {
			continue
		}
		var odds float64
		switch {
		case keyed != nil && p.ref > 0 && p.refEmpty == p.ref:
			// A CPU's table copies a key when that CPU first uses the tag.
			occ := float64(ref-p.ref-(refEmpty-p.refEmpty)) / float64(max(1, ref-p.ref))
			odds = math.Pow(1-occ, float64(p.ref))
		case keyed == nil && p.slots > 0 && p.empty == p.slots:
			occ := float64(slots-p.slots-(empty-p.empty)) / float64(max(1, slots-p.slots))
			odds = math.Pow(1-occ, float64(p.slots))
		default:
			continue
		}
		if odds < zeroPageOdds {
			out = append(out, fmt.Sprintf("page %d (at %#x) is all zero where the rest of the table is full (odds %.0e)", n-first, uint64(n)*4096, odds))
			dmg = append(dmg, Damage{Kind: DamageZeroedPage, Page: n - first, First: p.lo, Last: p.hi})
		}
	}
	if keyed != nil || hash == nil {
		return out, dmg
	}
	bs, bd := brokenChains(t, hash, pageOf, first)
	return append(out, bs...), append(dmg, bd...)
}

// brokenChains names the pages holding an empty slot that a key's probe
// path from its hash slot crosses: the key could not have been placed
// after it, so the slot was emptied, or the key overwritten. Each
// unreachable key is also returned as a Damage.
func brokenChains(t *Table, hash HashFunc, pageOf func(int) int, first int) ([]string, []Damage) {
	var out []string
	var dmg []Damage
	keys := make([]uint32, t.Size)
	present := make([]bool, t.Size)
	for i, u := range t.entries {
		keys[i], present[i] = uint32(u.Tag), !t.bad[i]
	}
	mask := t.Size - 2
	broken := map[int]int{}
	for i := 0; i < t.Size-1; i++ {
		if !present[i] || keys[i] == 0 {
			continue
		}
		for j := int(hash(keys[i])) & mask; j != i; j = (j + 1) & mask {
			if !present[j] {
				break
			}
			if keys[j] == 0 {
				broken[pageOf(j)]++
				dmg = append(dmg, Damage{Kind: DamageUnreachable, First: i, Last: i, Crossed: j})
				break
			}
		}
	}
	for n := first; n <= pageOf(t.Size-2); n++ {
		if broken[n] > 0 {
			out = append(out, fmt.Sprintf("page %d (at %#x): %d keys placed after it are unreachable from their hash slots across its empty slots", n-first, uint64(n)*4096, broken[n]))
		}
	}
	return out, dmg
}

// hashOf returns the hash function a table's keys agree with.
func hashOf(t *Table) HashFunc {
	if t.Hash == "WRK" {
		return HashWRK
	}
	return HashMul
}

// counterFaults counts tags whose summed counters break the tracker's
// rules: more frees than allocations, bytes held with nothing
// outstanding (or none with something outstanding), or an average
// allocation smaller than the pool's smallest block. tags lists every
// such tag once.
func counterFaults(us []Usage, minBlock uint64) (n int, examples []string, tags []pooltag.Tag) {
	bad := func(t pooltag.Tag, what string) {
		n++
		if len(tags) == 0 || tags[len(tags)-1] != t {
			tags = append(tags, t)
		}
		if len(examples) < 3 {
			examples = append(examples, fmt.Sprintf("%s: %s", t, what))
		}
	}
	for _, u := range us {
		for _, p := range []struct {
			name                 string
			allocs, frees, bytes uint64
		}{{"nonpaged", u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedBytes}, {"paged", u.PagedAllocs, u.PagedFrees, u.PagedBytes}} {
			switch out := p.allocs - p.frees; {
			case p.frees > p.allocs:
				bad(u.Tag, fmt.Sprintf("%s frees %d > allocs %d", p.name, p.frees, p.allocs))
			case out == 0 && p.bytes != 0:
				bad(u.Tag, fmt.Sprintf("%s %d bytes with nothing outstanding", p.name, p.bytes))
			case out != 0 && p.bytes/out < minBlock:
				bad(u.Tag, fmt.Sprintf("%s %d bytes for %d outstanding", p.name, p.bytes, out))
			}
		}
	}
	return n, examples, tags
}

// CounterFaultsAllowed is how many of n tags may break the counting rules
// before the counters check fails: counters that wrapped, or a race
// caught mid-update, explain a few.
func CounterFaultsAllowed(n int) int { return max(1, n/50) }

// checkCounters: nearly every tag must follow the rules; a few may not
// (counters that wrapped, a race caught mid-update).
func (r *Result) checkCounters() {
	minBlock := uint64(8)
	if r.Layout != nil && r.Layout.EntrySize >= 0x28 {
		minBlock = 16
	}
	n, ex, tags := counterFaults(r.Usages, minBlock)
	r.CounterFaults = tags
	allowed := CounterFaultsAllowed(len(r.Usages))
	switch {
	case len(r.Usages) == 0:
		r.check(CheckCounters, CheckUnknown, "no tag has counters")
	case n > allowed:
		r.check(CheckCounters, CheckFailed, "%d of %d tags break the tracker's counting rules (%s)", n, len(r.Usages), strings.Join(ex, "; "))
	case n > 0:
		r.check(CheckCounters, CheckPassed, "%d of %d tags break the counting rules, within what wrapped counters explain (%s)", n, len(r.Usages), strings.Join(ex, "; "))
	default:
		r.check(CheckCounters, CheckPassed, "all %d tags: allocs >= frees, bytes held only while allocations are outstanding, average size at least %d bytes", len(r.Usages), minBlock)
	}
}
