package report

import (
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/units"
)

// checkDetail words a check of the pool data in one sentence: what was
// found, from the figures package pool gives. Every output shows this
// sentence (the JSON schema's "detail").
func checkDetail(c pool.Check) string {
	if s := countDetail(c); s != "" {
		return s
	}
	if s := perCPUDetail(c); s != "" {
		return s
	}
	if s := limitDetail(c); s != "" {
		return s
	}
	switch c.Outcome {
	case pool.KernBaseNoOther:
		return fmt.Sprintf("%v, and the module list gives no other kernel image", c.Err)
	case pool.KernBaseNeither:
		return fmt.Sprintf("%v, nor is the module list's first entry (%s at %#x): %v", c.Err, c.Module, c.ModuleBase, c.ModuleErr)
	case pool.KernBaseFromModules:
		return fmt.Sprintf("%v; the module list's first entry, %s at %#x, is, and was used to find the per-CPU tracker tables", c.Err, c.Module, c.ModuleBase)
	case pool.PagesDamaged:
		return pageFaults(c.Pages)
	case pool.PagesSound:
		return fmt.Sprintf("%d table(s): every key reachable from its hash slot, no page zeroed", c.N)
	}
	return ""
}

// countDetail words the checks of counts: the CPU count, the entries
// read, the per-CPU keys and the counters.
func countDetail(c pool.Check) string {
	switch c.Outcome {
	case pool.CPUCountNotBelieved:
		return fmt.Sprintf("NumberProcessors is %d, not 1 to %d: the CPU count is unknown and per-CPU tables are looked for anyway", c.NumberProcessors, c.Of)
	case pool.CPUCountBelieved:
		return fmt.Sprintf("NumberProcessors is %d", c.N)
	case pool.TablesMissingEntries:
		return fmt.Sprintf("%d of %d tracker entries are not in the dump (%.0f%% read): every total is a lower bound", c.N, c.Of, c.Percent)
	case pool.TablesAllRead:
		return fmt.Sprintf("all %d tracker entries read", c.N)
	case pool.AgreeOrphans:
		return fmt.Sprintf("%d per-CPU entries hold keys where the global table has none (the kernel inserts every key there first: global entries were zeroed or overwritten) and %d hold a different key", c.Orphans, c.Conflicts)
	case pool.AgreeConflicts:
		return fmt.Sprintf("%d per-CPU entries hold a different key than the global table at the same index (left out of the sums)", c.Conflicts)
	case pool.AgreeAll:
		return fmt.Sprintf("%d per-CPU tables agree with the global table key by key", c.N)
	case pool.CountersNone:
		return "no tag has counters"
	case pool.CountersBroken:
		return fmt.Sprintf("%d of %d tags break the tracker's counting rules (%s)", c.N, c.Of, counterFaults(c.Faults))
	case pool.CountersWrapped:
		return fmt.Sprintf("%d of %d tags break the counting rules, within what wrapped counters explain (%s)", c.N, c.Of, counterFaults(c.Faults))
	case pool.CountersAllSound:
		return fmt.Sprintf("all %d tags: allocs >= frees, bytes held only while allocations are outstanding, average size at least %d bytes", c.Of, c.MinBlock)
	}
	return ""
}

// perCPUDetail words the per-cpu-tables check.
func perCPUDetail(c pool.Check) string {
	had := fmt.Sprintf("tables of CPUs %s found in ExPoolTagTables at %#x", cpuRanges(c.CPUs), c.Array)
	switch c.Outcome {
	case pool.PerCPUOneCPU:
		return "one CPU: the global table is the only one"
	case pool.PerCPUCountUnknown:
		return fmt.Sprintf("the CPU count is unknown and no per-CPU tables were found: the figures may cover one CPU's table only (%v)", c.Err)
	case pool.PerCPUNotFound:
		return fmt.Sprintf("the per-CPU tracker tables of this %d-CPU machine were not found (nor in memory: %v): the figures cover one CPU's table only", c.N, c.Err)
	case pool.PerCPUFoundInMemory:
		return fmt.Sprintf("ExPoolTagTables was not found; the other %d CPUs' tables were found by scanning memory (%s), agree with the global table key by key and were summed: which CPU each belongs to is not known", c.N, addrs(c.Found))
	case pool.PerCPUUnlistedFound:
		return fmt.Sprintf("%s; %d tables for %d CPUs: the other %d were found by scanning memory (%s), agree with the global table key by key and were summed, but ExPoolTagTables does not list them, so which CPU each belongs to is not known", had, c.N, c.Of, len(c.Found), addrs(c.Found))
	case pool.PerCPUCountDisbelieved:
		return fmt.Sprintf("%s (%d tables; the header's CPU count is not believed)", had, c.N)
	case pool.PerCPUMoreTables:
		return fmt.Sprintf("%s: %d tables for %d CPUs, so NumberProcessors or the array is not what the kernel kept", had, c.N, c.Of)
	case pool.PerCPUFewerTables:
		why := ""
		if c.Err != nil {
			why = " (nor in memory: " + c.Err.Error() + ")"
		}
		return fmt.Sprintf("%s; %d tables for %d CPUs: no table for CPU numbers %s%s (the kernel's own query skips NULL slots too), so any counts of the missing CPUs are unaccounted for", had, c.N, c.Of, cpuRanges(c.Missing), why)
	case pool.PerCPUTablesAbsent:
		return fmt.Sprintf("%s; the tables of CPUs %s are not in the dump", had, cpuRanges(c.Missing))
	case pool.PerCPUAll:
		return had
	}
	return ""
}

// limitDetail words the maxima and the use within them.
func limitDetail(c pool.Check) string {
	which := "nonpaged"
	if c.Name == pool.CheckPagedBounds {
		which = "paged"
	}
	switch c.Outcome {
	case pool.MaxNoFixed:
		return c.Source
	case pool.MaxUnknown:
		return "maximum unknown on a build that has one: " + c.Source
	case pool.MaxRead:
		return fmt.Sprintf("%s from %s", units.Bytes(c.Max), c.Source)
	case pool.BoundsAbove:
		return fmt.Sprintf("%s use %s is above its maximum %s (%.0f%%): the tracker sums cannot be right", which, units.Bytes(c.Used), units.Bytes(c.Max), float64(c.Used)*100/float64(c.Max))
	case pool.BoundsAbovePhysical:
		return fmt.Sprintf("%s use %s is above the machine's physical memory %s: the tracker sums cannot be right", which, units.Bytes(c.Used), units.Bytes(c.Max))
	case pool.BoundsWithin:
		return fmt.Sprintf("%s use %s within its maximum %s", which, units.Bytes(c.Used), units.Bytes(c.Max))
	case pool.BoundsWithinPhysical:
		return fmt.Sprintf("%s use %s within physical memory %s", which, units.Bytes(c.Used), units.Bytes(c.Max))
	case pool.BoundsNoFixed:
		return fmt.Sprintf("%s use %s; no fixed maximum on this build (bounded by commit, which the dump does not give)", which, units.Bytes(c.Used))
	case pool.BoundsNoMaximum:
		return fmt.Sprintf("%s use %s: no maximum to compare with", which, units.Bytes(c.Used))
	case pool.SnapshotMaxNoFixed:
		return "no fixed maximum on this build (!vm)"
	case pool.SnapshotMaxNone:
		return "the snapshot gives no maximum (no !vm text)"
	case pool.SnapshotMaxRead:
		return "maximum from !vm"
	case pool.SnapshotWithin:
		return "use within the !vm maximum"
	case pool.SnapshotAbove:
		return "use above the !vm maximum"
	}
	return ""
}

// pageFaults words the table-pages findings, table by table: the zeroed
// pages, then the pages whose empty slots keys placed after them cross,
// with how many keys each.
func pageFaults(ds []pool.Damage) string {
	var out []string
	for i := 0; i < len(ds); {
		j := i
		for j < len(ds) && ds[j].Table == ds[i].Table && ds[j].CPU == ds[i].CPU {
			j++
		}
		which := "global table"
		switch cpu := ds[i].CPU; {
		case cpu < 0:
			which = fmt.Sprintf("table at %#x (found in memory)", ds[i].Table)
		case cpu > 0:
			which = fmt.Sprintf("CPU %d table", cpu)
		}
		for k := i; k < j; {
			d := ds[k]
			if d.Kind == pool.DamageZeroedPage {
				out = append(out, fmt.Sprintf("%s page %d (at %#x) is all zero where the rest of the table is full (odds %.0e)", which, d.Page, d.PageAddr, d.Odds))
				k++
				continue
			}
			n := 0
			for k < j && ds[k].Kind == pool.DamageUnreachable && ds[k].Page == d.Page {
				n++
				k++
			}
			out = append(out, fmt.Sprintf("%s page %d (at %#x): %d keys placed after it are unreachable from their hash slots across its empty slots", which, d.Page, d.PageAddr, n))
		}
		i = j
	}
	return strings.Join(out, "; ")
}

// counterFaults words the first tags that break the counting rules.
func counterFaults(fs []pool.CounterFault) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		which := "nonpaged"
		if f.Paged {
			which = "paged"
		}
		switch f.Rule {
		case pool.FreesExceedAllocs:
			out[i] = fmt.Sprintf("%s: %s frees %d > allocs %d", f.Tag, which, f.Frees, f.Allocs)
		case pool.BytesWithNothingHeld:
			out[i] = fmt.Sprintf("%s: %s %d bytes with nothing outstanding", f.Tag, which, f.Bytes)
		default:
			out[i] = fmt.Sprintf("%s: %s %d bytes for %d outstanding", f.Tag, which, f.Bytes, f.Allocs-f.Frees)
		}
	}
	return strings.Join(out, "; ")
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

// addrs formats table addresses: "0x1000, 0x2000".
func addrs(as []uint64) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = fmt.Sprintf("%#x", a)
	}
	return strings.Join(s, ", ")
}
