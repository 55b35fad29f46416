package pool

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// Result is the pool tag accounting of one dump.
type Result struct {
	Build uint32
	Arch  dumpfile.Arch
	CPUs  int

	Layout *Layout
	Global *Table

	// PerCPU holds the per-processor table addresses (index = CPU) when
	// ExPoolTagTables was found; PerCPUArray is its address.
	PerCPU      []uint64
	PerCPUArray uint64
	// OneCPUOnly is set on a multi-processor dump whose per-CPU tables were
	// not found: the figures then cover one CPU's table only and can show
	// more frees than allocations.
	OneCPUOnly bool
	// MissingCPUs are the CPUs whose tables ExPoolTagTables names but the
	// dump does not hold: the totals leave their counts out.
	MissingCPUs []int
	// TableCPUs are the CPUs (ExPoolTagTables slots) whose tables were
	// summed, 0 (the global table) first; NULL slots are skipped as the
	// kernel skips them.
	TableCPUs []int
	// TableCoverage is the share of tracker entries (all tables) the
	// dump holds; below 1 every total is a lower bound.
	TableCoverage float64

	Expansion *Table

	// Usages is the sum over all tables, one per tag, sorted by tag.
	Usages []Usage

	Limits Limits

	// Partial is set when part of the data could not be read; Missing
	// says what.
	Partial bool
	Missing []string
	Notes   []string

	// Checks are the invariants of the data, each passed, failed or
	// unknown (see checks.go).
	Checks []Check
	// Damage is what the table-pages and per-cpu-agree checks found,
	// entry by entry, with the tags it touches.
	Damage []Damage
	// CounterFaults are the tags whose summed counters break the
	// tracker's counting rules (the counters check).
	CounterFaults []pooltag.Tag
}

// ErrNoPoolData means the dump cannot support a pool analysis at all.
var ErrNoPoolData = errors.New("no pool tracker data")

// Analyze rebuilds the pool tag totals of a dump from its tracker tables.
// It returns an error only when nothing can be said; a partial result
// says what it lacks.
func Analyze(f *dumpfile.File) (*Result, error) {
	if err := f.ReadableError(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPoolData, err)
	}
	k, err := f.KDBG()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPoolData, err)
	}
	lay, err := LayoutForArch(f.Arch(), f.MinorVersion)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPoolData, err)
	}
	r := &Result{Build: f.MinorVersion, Arch: f.Arch(), Layout: lay}
	if n, ok := f.CPUs(); !ok {
		r.check(CheckCPUCount, CheckFailed, "NumberProcessors is %d, not 1 to %d: the CPU count is unknown and per-CPU tables are looked for anyway", f.NumberProcessors, maxCPUs)
	} else {
		r.CPUs = n
		r.check(CheckCPUCount, CheckPassed, "NumberProcessors is %d", r.CPUs)
	}
	global, notes, err := findTable(f, k, lay)
	r.Notes = append(r.Notes, notes...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPoolData, err)
	}
	r.Global, r.Layout = global, global.Layout
	r.TableCPUs = []int{0}
	if len(global.span.missing) > 0 {
		r.Partial = true
		for _, d := range global.span.describe() {
			r.Missing = append(r.Missing, "tracker table: "+d)
		}
		r.Missing = append(r.Missing, fmt.Sprintf("%d of %d tracker entries unreadable: their tags are left out, not counted as zero", global.Unreadable(), global.Size))
	}

	tables := r.cpuTables(f, k, global)
	unread, total := 0, 0
	for _, t := range tables {
		unread += t.Unreadable()
		total += t.Size
	}
	r.TableCoverage = 1 - float64(unread)/float64(total)
	if unread > 0 {
		r.check(CheckTableComplete, CheckUnknown, "%d of %d tracker entries are not in the dump (%.0f%% read): every total is a lower bound", unread, total, 100*r.TableCoverage)
	} else {
		r.check(CheckTableComplete, CheckPassed, "all %d tracker entries read", total)
	}
	sum := sumTables(tables, r)
	r.checkPages(tables)

	if full(global) {
		if exp, err := findExpansion(f, k, global); err == nil {
			r.Expansion = exp
			for _, u := range exp.entries {
				if u.Tag != 0 {
					add(sum, u)
				}
			}
		} else {
			r.Partial = true
			r.Missing = append(r.Missing, "the tracker table is full and its expansion table was not found: tags that overflowed are missing")
		}
	}
	r.Usages = make([]Usage, 0, len(sum))
	for _, u := range sum {
		r.Usages = append(r.Usages, *u)
	}
	sort.Slice(r.Usages, func(i, j int) bool { return r.Usages[i].Tag.Less(r.Usages[j].Tag) })
	for _, u := range r.Usages {
		r.Limits.NonPagedUsed += u.NonPagedBytes
		r.Limits.PagedUsed += u.PagedBytes
	}
	r.Limits.UsedLowerBound = r.Partial
	r.checkCounters()
	readLimits(f, k, &r.Limits)
	r.checkLimits()
	return r, nil
}

// cpuTables returns the tracker tables to sum, the global table first:
// the other CPUs' tables as ExPoolTagTables lists them, and those it
// does not list (a NULL slot, or the array not found) found in memory.
// The per-CPU check says which were found and how.
func (r *Result) cpuTables(f *dumpfile.File, k *dumpfile.KDBG, global *Table) []*Table {
	tables := []*Table{global}
	if r.CPUs == 1 {
		r.check(CheckPerCPUTables, CheckPassed, "one CPU: the global table is the only one")
		return tables
	}
	pc, err := findPerCPU(f, k, global, r.CPUs, r)
	switch {
	case err != nil && r.CPUs == 0:
		r.OneCPUOnly = true
		r.Notes = append(r.Notes, err.Error())
		r.check(CheckPerCPUTables, CheckFailed, "the CPU count is unknown and no per-CPU tables were found: the figures may cover one CPU's table only (%v)", err)
	case err != nil:
		r.Notes = append(r.Notes, err.Error())
		found, ferr := findUnlisted(f, global, []uint64{global.Addr}, r.CPUs-1)
		if ferr != nil {
			r.OneCPUOnly = true
			r.check(CheckPerCPUTables, CheckFailed, "the per-CPU tracker tables of this %d-CPU machine were not found (nor in memory: %v): the figures cover one CPU's table only", r.CPUs, ferr)
			break
		}
		r.PerCPU = []uint64{global.Addr}
		for _, t := range found {
			r.PerCPU = append(r.PerCPU, t.Addr)
			tables = append(tables, t)
		}
		r.check(CheckPerCPUTables, CheckUnknown, "ExPoolTagTables was not found; the other %d CPUs' tables were found by scanning memory (%s), agree with the global table key by key and were summed: which CPU each belongs to is not known", r.CPUs-1, tableAddrs(found))
	default:
		r.PerCPU, r.PerCPUArray, r.MissingCPUs, r.TableCPUs = pc.tables, pc.arrayAddr, pc.missing, pc.cpus
		if len(pc.missing) > 0 {
			r.Partial = true
			what := fmt.Sprintf("the tracker tables of CPUs %s are not in the dump: their counts are", cpuList(pc.missing))
			if len(pc.missing) == 1 {
				what = fmt.Sprintf("the tracker table of CPU %d is not in the dump: its counts are", pc.missing[0])
			}
			r.Missing = append(r.Missing, what+" left out of every total")
		}
		for n, t := range pc.read {
			cpu := pc.cpus[n+1]
			if t.Unreadable() == t.Size {
				tables = append(tables, t) // said above, as a whole
				continue
			}
			if len(t.span.missing) > 0 {
				r.Partial = true
				for _, d := range t.span.describe() {
					r.Missing = append(r.Missing, fmt.Sprintf("CPU %d tracker table: %s", cpu, d))
				}
			}
			tables = append(tables, t)
		}
		var found []*Table
		var ferr error
		if r.CPUs > len(pc.cpus) && len(pc.missing) == 0 {
			// Slots the kernel skips (NULL) below the CPU count: the
			// tables may still be in memory, only unlisted.
			found, ferr = findUnlisted(f, global, pc.tables, r.CPUs-len(pc.cpus))
			if ferr == nil {
				for _, t := range found {
					r.PerCPU = append(r.PerCPU, t.Addr)
					tables = append(tables, t)
				}
			}
		}
		r.checkPerCPU(pc, found, ferr)
	}
	return tables
}

// tableAddrs lists the tables' addresses.
func tableAddrs(ts []*Table) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = fmt.Sprintf("%#x", t.Addr)
	}
	return strings.Join(s, ", ")
}

// checkPerCPU says which CPUs had tables; found are the tables of the
// CPUs with no slot, found in memory and summed (ferr: why they were
// not).
func (r *Result) checkPerCPU(pc *perCPU, found []*Table, ferr error) {
	had := fmt.Sprintf("tables of CPUs %s found in ExPoolTagTables at %#x", cpuRanges(pc.cpus), pc.arrayAddr)
	switch {
	case r.CPUs > len(pc.cpus) && len(found) == r.CPUs-len(pc.cpus) && ferr == nil:
		r.check(CheckPerCPUTables, CheckUnknown, "%s; %d tables for %d CPUs: the other %d were found by scanning memory (%s), agree with the global table key by key and were summed, but ExPoolTagTables does not list them, so which CPU each belongs to is not known", had, len(pc.cpus), r.CPUs, len(found), tableAddrs(found))
	case r.CPUs == 0:
		r.check(CheckPerCPUTables, CheckPassed, "%s (%d tables; the header's CPU count is not believed)", had, len(pc.cpus))
	case len(pc.cpus) > r.CPUs:
		r.check(CheckPerCPUTables, CheckUnknown, "%s: %d tables for %d CPUs, so NumberProcessors or the array is not what the kernel kept", had, len(pc.cpus), r.CPUs)
	case len(pc.cpus) < r.CPUs:
		var none []int
		has := map[int]bool{}
		for _, c := range pc.cpus {
			has[c] = true
		}
		for c := 0; c < r.CPUs; c++ {
			if !has[c] {
				none = append(none, c)
			}
		}
		why := ""
		if ferr != nil {
			why = " (nor in memory: " + ferr.Error() + ")"
		}
		r.check(CheckPerCPUTables, CheckUnknown, "%s; %d tables for %d CPUs: no table for CPU numbers %s%s (the kernel's own query skips NULL slots too), so any counts of the missing CPUs are unaccounted for", had, len(pc.cpus), r.CPUs, cpuRanges(none), why)
	case len(pc.missing) > 0:
		r.check(CheckPerCPUTables, CheckUnknown, "%s; the tables of CPUs %s are not in the dump", had, cpuRanges(pc.missing))
	default:
		r.check(CheckPerCPUTables, CheckPassed, "%s", had)
	}
}

// checkPages runs the page-by-page check on every table read.
func (r *Result) checkPages(tables []*Table) {
	global := tables[0]
	keyed := make([]bool, global.Size)
	for i, u := range global.entries {
		keyed[i] = !global.bad[i] && u.Tag != 0
	}
	var faults []string
	record := func(t *Table, cpu int, ds []Damage) {
		for _, d := range ds {
			d.CPU, d.Table = cpu, t.Addr
			d.name(tables)
			r.Damage = append(r.Damage, d)
		}
	}
	ss, ds := pageDamage(global, hashOf(global), nil)
	for _, d := range ss {
		faults = append(faults, "global table "+d)
	}
	record(global, 0, ds)
	for n, t := range tables[1:] {
		which := fmt.Sprintf("table at %#x (found in memory)", t.Addr)
		cpu := -1
		if n+1 < len(r.TableCPUs) {
			which = fmt.Sprintf("CPU %d table", r.TableCPUs[n+1])
			cpu = r.TableCPUs[n+1]
		}
		ss, ds := pageDamage(t, nil, keyed)
		for _, d := range ss {
			faults = append(faults, which+" "+d)
		}
		record(t, cpu, ds)
	}
	if len(faults) > 0 {
		r.check(CheckTablePages, CheckFailed, "%s", strings.Join(faults, "; "))
		return
	}
	r.check(CheckTablePages, CheckPassed, "%d table(s): every key reachable from its hash slot, no page zeroed", len(tables))
}

// sumTables adds the tables index by index, as ExpGetPoolTagInfoTarget
// does, keyed by the global table's key at that index.
func sumTables(tables []*Table, r *Result) map[pooltag.Tag]*Usage {
	global := tables[0]
	sum := make(map[pooltag.Tag]*Usage)
	conflicts, orphans := 0, 0
	for i, g := range global.entries {
		if global.bad[i] {
			continue
		}
		if g.Tag == 0 {
			// The kernel inserts every key in the global table first: a
			// CPU's key where it has none means the global entry was lost.
			n := 0
			for _, t := range tables[1:] {
				if !t.bad[i] && t.entries[i].Tag != 0 {
					n++
				}
			}
			if n > 0 {
				orphans += n
				r.damaged(Damage{Kind: DamageOrphan, Table: global.Addr, First: i, Last: i}, tables)
			}
			continue
		}
		u := g
		u.Tag = g.Tag.Unprotected()
		n := 0
		for _, t := range tables[1:] {
			if t.bad[i] {
				continue
			}
			e := t.entries[i]
			if e.Tag != 0 && e.Tag != g.Tag {
				n++
				continue
			}
			e.Tag = u.Tag
			u.Add(e)
		}
		if n > 0 {
			conflicts += n
			r.damaged(conflictAt(tables, i), tables)
		}
		add(sum, global.Layout.Truncate(u))
	}
	switch {
	case orphans > 0:
		r.check(CheckPerCPUAgree, CheckFailed, "%d per-CPU entries hold keys where the global table has none (the kernel inserts every key there first: global entries were zeroed or overwritten) and %d hold a different key", orphans, conflicts)
	case conflicts > 0:
		r.Notes = append(r.Notes, fmt.Sprintf("%d per-CPU entries hold a different key than the global table and were left out", conflicts))
		r.check(CheckPerCPUAgree, CheckFailed, "%d per-CPU entries hold a different key than the global table at the same index (left out of the sums)", conflicts)
	case len(tables) > 1:
		r.check(CheckPerCPUAgree, CheckPassed, "%d per-CPU tables agree with the global table key by key", len(tables)-1)
	}
	return sum
}

// conflictAt is the damage at index i, where CPUs' tables hold another
// key than the global table. When they agree on one key, the counters
// survive it: every table's entry at i, under that key.
func conflictAt(tables []*Table, i int) Damage {
	global := tables[0]
	d := Damage{Kind: DamageKeyConflict, Table: global.Addr, First: i, Last: i}
	var other pooltag.Tag
	for _, t := range tables[1:] {
		if k := t.entries[i].Tag; !t.bad[i] && k != 0 && k != global.entries[i].Tag {
			if other != 0 && other != k {
				return d
			}
			other = k
		}
	}
	s := Usage{Tag: other.Unprotected()}
	for _, t := range tables {
		if !t.bad[i] {
			e := t.entries[i]
			e.Tag = s.Tag
			s.Add(e)
		}
	}
	s = global.Layout.Truncate(s)
	d.Surviving = &s
	return d
}

// damaged records d, found in the global table, with the tags the
// tables hold at its indices.
func (r *Result) damaged(d Damage, tables []*Table) {
	d.name(tables)
	r.Damage = append(r.Damage, d)
}

func add(sum map[pooltag.Tag]*Usage, u Usage) {
	u.Tag = u.Tag.Unprotected()
	if p, ok := sum[u.Tag]; ok {
		p.Add(u)
		return
	}
	c := u
	sum[u.Tag] = &c
}

// cpuRanges formats CPU numbers with runs collapsed: "0-3, 5".
func cpuRanges(cpus []int) string {
	var s []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			s = append(s, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			s = append(s, fmt.Sprint(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(s, ", ")
}

// cpuList formats CPU numbers: "1, 2, 5".
func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, ", ")
}

// full reports a table with no free slot before its sentinel.
func full(t *Table) bool {
	for i := 0; i < t.Size-1; i++ {
		if !t.bad[i] && t.entries[i].Tag == 0 {
			return false
		}
	}
	return true
}

// Find returns the usage of one tag.
func (r *Result) Find(t pooltag.Tag) (Usage, bool) {
	i := sort.Search(len(r.Usages), func(i int) bool { return !r.Usages[i].Tag.Less(t) })
	if i < len(r.Usages) && r.Usages[i].Tag == t {
		return r.Usages[i], true
	}
	return Usage{}, false
}
