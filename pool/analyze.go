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
		r.check(Check{Name: CheckCPUCount, Status: CheckFailed, Outcome: CPUCountNotBelieved, NumberProcessors: f.NumberProcessors, Of: maxCPUs})
	} else {
		r.CPUs = n
		r.check(Check{Name: CheckCPUCount, Status: CheckPassed, Outcome: CPUCountBelieved, N: r.CPUs})
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
		r.check(Check{Name: CheckTableComplete, Status: CheckUnknown, Outcome: TablesMissingEntries, N: unread, Of: total, Percent: 100 * r.TableCoverage})
	} else {
		r.check(Check{Name: CheckTableComplete, Status: CheckPassed, Outcome: TablesAllRead, N: total})
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
		r.check(Check{Name: CheckPerCPUTables, Status: CheckPassed, Outcome: PerCPUOneCPU})
		return tables
	}
	pc, err := findPerCPU(f, k, global, r.CPUs, r)
	switch {
	case err != nil && r.CPUs == 0:
		r.OneCPUOnly = true
		r.Notes = append(r.Notes, err.Error())
		r.check(Check{Name: CheckPerCPUTables, Status: CheckFailed, Outcome: PerCPUCountUnknown, Err: err})
	case err != nil:
		r.Notes = append(r.Notes, err.Error())
		found, ferr := findUnlisted(f, global, []uint64{global.Addr}, r.CPUs-1)
		if ferr != nil {
			r.OneCPUOnly = true
			r.check(Check{Name: CheckPerCPUTables, Status: CheckFailed, Outcome: PerCPUNotFound, N: r.CPUs, Err: ferr})
			break
		}
		r.PerCPU = []uint64{global.Addr}
		for _, t := range found {
			r.PerCPU = append(r.PerCPU, t.Addr)
			tables = append(tables, t)
		}
		r.check(Check{Name: CheckPerCPUTables, Status: CheckUnknown, Outcome: PerCPUFoundInMemory, N: r.CPUs - 1, Found: tableAddrs(found)})
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
func tableAddrs(ts []*Table) []uint64 {
	s := make([]uint64, len(ts))
	for i, t := range ts {
		s[i] = t.Addr
	}
	return s
}

// checkPerCPU says which CPUs had tables; found are the tables of the
// CPUs with no slot, found in memory and summed (ferr: why they were
// not).
func (r *Result) checkPerCPU(pc *perCPU, found []*Table, ferr error) {
	c := Check{Name: CheckPerCPUTables, Status: CheckUnknown, Array: pc.arrayAddr, CPUs: pc.cpus, N: len(pc.cpus), Of: r.CPUs}
	switch {
	case r.CPUs > len(pc.cpus) && len(found) == r.CPUs-len(pc.cpus) && ferr == nil:
		c.Outcome, c.Found = PerCPUUnlistedFound, tableAddrs(found)
	case r.CPUs == 0:
		c.Status, c.Outcome = CheckPassed, PerCPUCountDisbelieved
	case len(pc.cpus) > r.CPUs:
		c.Outcome = PerCPUMoreTables
	case len(pc.cpus) < r.CPUs:
		has := map[int]bool{}
		for _, c := range pc.cpus {
			has[c] = true
		}
		for n := 0; n < r.CPUs; n++ {
			if !has[n] {
				c.Missing = append(c.Missing, n)
			}
		}
		c.Outcome, c.Err = PerCPUFewerTables, ferr
	case len(pc.missing) > 0:
		c.Outcome, c.Missing = PerCPUTablesAbsent, pc.missing
	default:
		c.Status, c.Outcome = CheckPassed, PerCPUAll
	}
	r.check(c)
}

// checkPages runs the page-by-page check on every table read.
func (r *Result) checkPages(tables []*Table) {
	global := tables[0]
	keyed := make([]bool, global.Size)
	for i, u := range global.entries {
		keyed[i] = !global.bad[i] && u.Tag != 0
	}
	var pages []Damage
	record := func(t *Table, cpu int, ds []Damage) {
		for _, d := range ds {
			d.CPU, d.Table = cpu, t.Addr
			d.name(tables)
			r.Damage = append(r.Damage, d)
			pages = append(pages, d)
		}
	}
	record(global, 0, pageDamage(global, hashOf(global), nil))
	for n, t := range tables[1:] {
		cpu := -1 // found in memory
		if n+1 < len(r.TableCPUs) {
			cpu = r.TableCPUs[n+1]
		}
		record(t, cpu, pageDamage(t, nil, keyed))
	}
	if len(pages) > 0 {
		r.check(Check{Name: CheckTablePages, Status: CheckFailed, Outcome: PagesDamaged, Pages: pages})
		return
	}
	r.check(Check{Name: CheckTablePages, Status: CheckPassed, Outcome: PagesSound, N: len(tables)})
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
	c := Check{Name: CheckPerCPUAgree, Status: CheckFailed, Orphans: orphans, Conflicts: conflicts, N: len(tables) - 1}
	switch {
	case orphans > 0:
		c.Outcome = AgreeOrphans
	case conflicts > 0:
		r.Notes = append(r.Notes, fmt.Sprintf("%d per-CPU entries hold a different key than the global table and were left out", conflicts))
		c.Outcome = AgreeConflicts
	case len(tables) > 1:
		c.Status, c.Outcome = CheckPassed, AgreeAll
	default:
		return sum
	}
	r.check(c)
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
