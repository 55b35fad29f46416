package pool

import (
	"math"

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
// analysis layer grades confidence from them; every one is shown. A
// check holds the facts its finding is made of (Outcome says which
// finding, the fields after it its figures); package report words them.
type Check struct {
	Name   string // one of the Check* names below
	Status CheckStatus
	// Outcome is which finding of the check this is; it says which of
	// the fields below are set.
	Outcome CheckOutcome

	N, Of int // a count, and what it is of (CPUs, tables, entries, tags)
	// NumberProcessors is, for cpu-count, the header's field as found.
	NumberProcessors uint32
	Percent          float64 // tables-complete: the share of entries read
	Used             uint64  // bounds: the pool's use
	Max              uint64  // bounds and maxima: the maximum, or physical memory
	Source           string  // maxima: where the maximum came from, or why it is unknown
	MinBlock         uint64  // counters: the smallest average allocation allowed
	// Err is why something was not found (per-CPU tables, the kernel
	// image); ModuleErr why the module list's first entry is not the
	// kernel image either.
	Err, ModuleErr error
	Module         string // kernel-base: the module list's first entry
	ModuleBase     uint64
	Array          uint64   // per-cpu-tables: ExPoolTagTables' address
	CPUs           []int    // per-cpu-tables: the CPUs (array slots) whose tables were found
	Missing        []int    // per-cpu-tables: CPUs with no table, or whose table is not in the dump
	Found          []uint64 // per-cpu-tables: tables found by scanning memory
	// Orphans and Conflicts are, for per-cpu-agree, the per-CPU entries
	// with a key where the global table has none, and with another key.
	Orphans, Conflicts int
	// Pages are, for table-pages, the zeroed pages and unreachable keys,
	// in the order the tables were read.
	Pages []Damage
	// Faults are, for counters, the first tags that break the rules.
	Faults []CounterFault
}

// CheckOutcome is one finding of one check.
type CheckOutcome int

// The outcomes, by check.
const (
	OutcomeNone CheckOutcome = iota

	CPUCountNotBelieved // NumberProcessors is not 1 to Of
	CPUCountBelieved    // NumberProcessors is N

	KernBaseNoOther     // Err; the module list gives no other image
	KernBaseNeither     // Err; nor is Module at ModuleBase (ModuleErr)
	KernBaseFromModules // Err; Module at ModuleBase is the kernel and was used

	TablesMissingEntries // N of Of entries not in the dump (Percent read)
	TablesAllRead        // all N entries read

	PerCPUOneCPU           // one CPU: the global table only
	PerCPUCountUnknown     // CPU count unknown, no per-CPU tables (Err)
	PerCPUNotFound         // the tables of this N-CPU machine not found, nor in memory (Err)
	PerCPUFoundInMemory    // ExPoolTagTables not found; the other N tables (Found) found in memory
	PerCPUUnlistedFound    // tables of CPUs (Array); Of CPUs: the others (Found) found in memory
	PerCPUCountDisbelieved // tables of CPUs (Array); the header's count not believed
	PerCPUMoreTables       // tables of CPUs (Array): more tables than Of CPUs
	PerCPUFewerTables      // tables of CPUs (Array); no table for Missing of Of CPUs (Err: why not in memory)
	PerCPUTablesAbsent     // tables of CPUs (Array); Missing CPUs' tables not in the dump
	PerCPUAll              // tables of CPUs found in ExPoolTagTables at Array

	PagesDamaged // Pages
	PagesSound   // N tables sound

	AgreeOrphans   // Orphans with keys where the global table has none, Conflicts with another key
	AgreeConflicts // Conflicts with another key, left out of the sums
	AgreeAll       // N per-CPU tables agree

	CountersNone     // no tag has counters
	CountersBroken   // N of Of tags break the rules (Faults)
	CountersWrapped  // N of Of tags break them, within what wrapped counters explain (Faults)
	CountersAllSound // all Of tags follow them, average size at least MinBlock

	MaxNoFixed // no fixed maximum on this build (Source)
	MaxUnknown // unknown on a build that has one (Source)
	MaxRead    // Max, from Source

	BoundsAbove         // Used above Max
	BoundsAbovePhysical // Used above physical memory (Max)
	BoundsWithin        // Used within Max
	BoundsWithinPhysical
	BoundsNoFixed   // Used; bounded by commit, which the dump does not give
	BoundsNoMaximum // Used; no maximum to compare with

	SnapshotMaxNoFixed // !vm: no fixed maximum on this build
	SnapshotMaxNone    // no !vm text
	SnapshotMaxRead    // maximum from !vm
	SnapshotWithin     // use within the !vm maximum
	SnapshotAbove      // use above the !vm maximum
)

// CounterRule is a counting rule a tag's summed counters break.
type CounterRule int

// The rules of checkCounters.
const (
	FreesExceedAllocs    CounterRule = iota // Frees > Allocs
	BytesWithNothingHeld                    // Bytes held with nothing outstanding
	BytesBelowSmallest                      // Bytes for Outstanding, below the smallest block each
)

// CounterFault is one tag's break of a counting rule in one pool.
type CounterFault struct {
	Tag                  pooltag.Tag
	Paged                bool
	Rule                 CounterRule
	Allocs, Frees, Bytes uint64
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

// check records c.
func (r *Result) check(c Check) { r.Checks = append(r.Checks, c) }

// zeroPageOdds is how unlikely an all-empty page must be, given how full
// the rest of the table is, before it is called zeroed.
const zeroPageOdds = 1e-6

// pageDamage finds the pages of a table that cannot be what the kernel
// wrote: pages whose every slot is empty although the rest of the table
// is so full that this has odds below zeroPageOdds, and pages holding an
// empty slot that breaks the probe chain of a key placed after it. keyed
// says which indices the reference (global) table uses; nil judges the
// table on its own occupancy. CPU, Table and Tags of each Damage are
// left for the caller to fill.
func pageDamage(t *Table, hash HashFunc, keyed []bool) []Damage {
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
			dmg = append(dmg, Damage{Kind: DamageZeroedPage, Page: n - first, PageAddr: uint64(n) * 4096, Odds: odds, First: p.lo, Last: p.hi})
		}
	}
	if keyed != nil || hash == nil {
		return dmg
	}
	return append(dmg, brokenChains(t, hash, pageOf, first)...)
}

// brokenChains finds the keys whose probe path from their hash slot
// crosses an empty slot: the key could not have been placed after it,
// so the slot was emptied, or the key overwritten. They are returned by
// the page of the slot crossed, in page order.
func brokenChains(t *Table, hash HashFunc, pageOf func(int) int, first int) []Damage {
	keys := make([]uint32, t.Size)
	present := make([]bool, t.Size)
	for i, u := range t.entries {
		keys[i], present[i] = uint32(u.Tag), !t.bad[i]
	}
	mask := t.Size - 2
	broken := map[int][]Damage{}
	for i := 0; i < t.Size-1; i++ {
		if !present[i] || keys[i] == 0 {
			continue
		}
		for j := int(hash(keys[i])) & mask; j != i; j = (j + 1) & mask {
			if !present[j] {
				break
			}
			if keys[j] == 0 {
				n := pageOf(j)
				broken[n] = append(broken[n], Damage{Kind: DamageUnreachable, Page: n - first, PageAddr: uint64(n) * 4096, First: i, Last: i, Crossed: j})
				break
			}
		}
	}
	var dmg []Damage
	for n := first; n <= pageOf(t.Size-2); n++ {
		dmg = append(dmg, broken[n]...)
	}
	return dmg
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
// allocation smaller than the pool's smallest block. examples are the
// first three breaks; tags lists every such tag once.
func counterFaults(us []Usage, minBlock uint64) (n int, examples []CounterFault, tags []pooltag.Tag) {
	bad := func(f CounterFault) {
		n++
		if len(tags) == 0 || tags[len(tags)-1] != f.Tag {
			tags = append(tags, f.Tag)
		}
		if len(examples) < 3 {
			examples = append(examples, f)
		}
	}
	for _, u := range us {
		for _, p := range []CounterFault{
			{Tag: u.Tag, Allocs: u.NonPagedAllocs, Frees: u.NonPagedFrees, Bytes: u.NonPagedBytes},
			{Tag: u.Tag, Paged: true, Allocs: u.PagedAllocs, Frees: u.PagedFrees, Bytes: u.PagedBytes},
		} {
			switch out := p.Allocs - p.Frees; {
			case p.Frees > p.Allocs:
				p.Rule = FreesExceedAllocs
				bad(p)
			case out == 0 && p.Bytes != 0:
				p.Rule = BytesWithNothingHeld
				bad(p)
			case out != 0 && p.Bytes/out < minBlock:
				p.Rule = BytesBelowSmallest
				bad(p)
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
	c := Check{Name: CheckCounters, Status: CheckPassed, N: n, Of: len(r.Usages), Faults: ex, MinBlock: minBlock}
	switch {
	case len(r.Usages) == 0:
		c.Status, c.Outcome = CheckUnknown, CountersNone
	case n > allowed:
		c.Status, c.Outcome = CheckFailed, CountersBroken
	case n > 0:
		c.Outcome = CountersWrapped
	default:
		c.Outcome = CountersAllSound
	}
	r.check(c)
}
