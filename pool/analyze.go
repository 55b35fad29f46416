package pool

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
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

	Expansion *Table

	// Usages is the sum over all tables, one per tag, sorted by tag.
	Usages []Usage

	Limits Limits

	// Partial is set when part of the data could not be read; Missing
	// says what.
	Partial bool
	Missing []string
	Notes   []string
}

// ErrNoPoolData: the dump cannot support a pool analysis at all.
var ErrNoPoolData = errors.New("no pool tracker data")

// Analyze rebuilds the pool tag totals of a dump from its tracker tables.
// It returns an error only when nothing can be said; a partial result
// says what it lacks.
func Analyze(f *dumpfile.File) (*Result, error) {
	if err := f.ReadableError(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPoolData, err)
	}
	k, err := f.KDBG()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPoolData, err)
	}
	lay, err := LayoutFor(f.Is64, f.MinorVersion)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPoolData, err)
	}
	r := &Result{Build: f.MinorVersion, Arch: f.Arch(), CPUs: int(f.NumberProcessors), Layout: lay}
	global, notes, err := findTable(f, k, lay)
	r.Notes = append(r.Notes, notes...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPoolData, err)
	}
	r.Global, r.Layout = global, global.Layout
	if len(global.span.missing) > 0 {
		r.Partial = true
		for _, d := range global.span.describe() {
			r.Missing = append(r.Missing, "tracker table: "+d)
		}
		r.Missing = append(r.Missing, fmt.Sprintf("%d of %d tracker entries unreadable: their tags are left out, not counted as zero", global.Unreadable(), global.Size))
	}

	tables := []*Table{global}
	if r.CPUs > 1 {
		pc, err := findPerCPU(f, k, global)
		if err != nil {
			r.OneCPUOnly = true
			r.Notes = append(r.Notes, err.Error())
		} else {
			r.PerCPU, r.PerCPUArray, r.MissingCPUs = pc.tables, pc.arrayAddr, pc.missing
			if len(pc.missing) > 0 {
				r.Partial = true
				what := fmt.Sprintf("the tracker tables of CPUs %s are not in the dump: their counts are", cpuList(pc.missing))
				if len(pc.missing) == 1 {
					what = fmt.Sprintf("the tracker table of CPU %d is not in the dump: its counts are", pc.missing[0])
				}
				r.Missing = append(r.Missing, what+" left out of every total")
			}
			for cpu, t := range pc.read {
				if t.Unreadable() == t.Size {
					tables = append(tables, t) // said above, as a whole
					continue
				}
				if len(t.span.missing) > 0 {
					r.Partial = true
					for _, d := range t.span.describe() {
						r.Missing = append(r.Missing, fmt.Sprintf("CPU %d tracker table: %s", cpu+1, d))
					}
				}
				tables = append(tables, t)
			}
		}
	}
	sum := sumTables(tables, r)

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
	readLimits(f, k, &r.Limits)
	return r, nil
}

// sumTables adds the tables index by index, as ExpGetPoolTagInfoTarget
// does, keyed by the global table's key at that index.
func sumTables(tables []*Table, r *Result) map[Tag]*Usage {
	global := tables[0]
	sum := make(map[Tag]*Usage)
	conflicts := 0
	for i, g := range global.entries {
		if global.bad[i] || g.Tag == 0 {
			continue
		}
		u := g
		u.Tag = g.Tag.Unprotected()
		for _, t := range tables[1:] {
			if t.bad[i] {
				continue
			}
			e := t.entries[i]
			if e.Tag != 0 && e.Tag != g.Tag {
				conflicts++
				continue
			}
			e.Tag = u.Tag
			u.Add(e)
		}
		add(sum, global.Layout.Truncate(u))
	}
	if conflicts > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d per-CPU entries hold a different key than the global table and were left out", conflicts))
	}
	return sum
}

func add(sum map[Tag]*Usage, u Usage) {
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
func (r *Result) Find(t Tag) (Usage, bool) {
	i := sort.Search(len(r.Usages), func(i int) bool { return !r.Usages[i].Tag.Less(t) })
	if i < len(r.Usages) && r.Usages[i].Tag == t {
		return r.Usages[i], true
	}
	return Usage{}, false
}
