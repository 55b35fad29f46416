package snapshot

import (
	"fmt"
	"regexp"
	"strings"
)

// VM is what WinDbg's !vm (or !vm 1) text says of memory and the pools.
// Byte counts come from the Kb column; the page column only gives the
// page size. These are the figures a !poolused paste lacks: the pools'
// use as the kernel counts it and their maxima.
type VM struct {
	Present        bool
	PageSize       uint64 // Kb*1024/pages of the lines read, 0 when no line had pages
	PhysicalMemory uint64
	// NonPagedUsage adds "NonPagedPoolNx Usage" (Windows 8 and later) to
	// "NonPagedPool Usage": both are nonpaged pool.
	NonPagedUsage uint64
	NonPagedMax   uint64
	PagedUsage    uint64
	PagedMax      uint64
	// NoFixedMax is set for a pool whose Max line reads 2^32 pages or more:
	// 64-bit Windows 8.1 and later bound nonpaged pool by RAM and paged pool
	// by commit, and !vm prints a placeholder. The Max field is then 0.
	NonPagedNoFixedMax bool
	PagedNoFixedMax    bool
	CommitLimit        uint64
	Committed          uint64
	// TrackedByTag is set when the usage lines say "(tracked by tag)": sums
	// of the tag counters (poolblame poolused), not the kernel's own.
	TrackedByTag bool
}

// vmLine is one "Label:   pages (   Kb Kb)" line.
var vmLine = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9 ]*?)\s*:\s*(\d+)\s*\(\s*(\d+)\s*Kb\s*\)(.*)$`)

// noFixedMaxPages is the page count !vm prints as a maximum on builds
// that have none (4294967296 pages, 17179869184 Kb).
const noFixedMaxPages = 1 << 32

// isVMTitle reports !vm's first line.
func isVMTitle(t string) bool {
	return strings.Contains(t, "*** Virtual Memory Usage ***") || strings.Contains(t, `\*\*\* Virtual Memory Usage \*\*\*`)
}

// vmReader collects !vm lines into a VM.
type vmReader struct {
	vm    VM
	nx    uint64 // NonPagedPoolNx Usage, added at the end
	np    uint64 // NonPagedPool Usage
	sawNP bool
}

// line reads t if it is a !vm line; ok is false for anything else. A
// line with a known label whose numbers do not parse is an error.
func (r *vmReader) line(t string) (ok bool, err error) {
	m := vmLine.FindStringSubmatch(t)
	if m == nil {
		return false, nil
	}
	label := strings.Join(strings.Fields(m[1]), " ")
	pages, okP := parseUint(m[2])
	kbv, okK := parseUint(m[3])
	if !okP || !okK || kbv > (1<<64-1)/1024 {
		return true, fmt.Errorf("bad %s value %q (%s Kb)", label, m[2], m[3])
	}
	b := kbv * 1024
	switch label {
	case "Physical Memory":
		r.vm.PhysicalMemory = b
	case "NonPagedPool Usage":
		r.np, r.sawNP = b, true
	case "NonPagedPoolNx Usage":
		r.nx = b
	case "NonPagedPool Max":
		if pages >= noFixedMaxPages {
			r.vm.NonPagedNoFixedMax = true
		} else {
			r.vm.NonPagedMax = b
		}
	case "PagedPool Usage":
		r.vm.PagedUsage = b
	case "PagedPool Maximum", "PagedPool Max":
		if pages >= noFixedMaxPages {
			r.vm.PagedNoFixedMax = true
		} else {
			r.vm.PagedMax = b
		}
	case "Commit limit", "Commit Limit":
		r.vm.CommitLimit = b
	case "Committed pages", "Committed Pages":
		r.vm.Committed = b
	}
	// Other !vm counters (Available Pages, Free System PTEs, ...) are read
	// past; they give the page size like the rest.
	if strings.Contains(m[4], "tracked by tag") {
		r.vm.TrackedByTag = true
	}
	r.vm.Present = true
	if pages > 0 && pages < noFixedMaxPages && r.vm.PageSize == 0 && kbv%pages == 0 {
		r.vm.PageSize = kbv / pages * 1024
	}
	return true, nil
}

// done settles the nonpaged sum and says what the figures mean.
func (r *vmReader) done() (VM, []string) {
	v := r.vm
	if !v.Present {
		return v, nil
	}
	v.NonPagedUsage = r.np + r.nx
	var notes []string
	if v.TrackedByTag {
		notes = append(notes, "the !vm usage lines are sums of the tag counters (tracked by tag), not the kernel's own counters")
	}
	if v.NonPagedNoFixedMax || v.PagedNoFixedMax {
		notes = append(notes, "!vm prints a maximum of 2^32 pages: this build has no fixed pool maximum (nonpaged pool is bounded by RAM, paged pool by commit)")
	}
	if v.NonPagedMax > 0 && v.NonPagedUsage > v.NonPagedMax {
		notes = append(notes, fmt.Sprintf("!vm's nonpaged usage (%s) is above its maximum (%s): the figures contradict each other", kb(v.NonPagedUsage), kb(v.NonPagedMax)))
	}
	if v.PagedMax > 0 && v.PagedUsage > v.PagedMax {
		notes = append(notes, fmt.Sprintf("!vm's paged usage (%s) is above its maximum (%s): the figures contradict each other", kb(v.PagedUsage), kb(v.PagedMax)))
	}
	if !r.sawNP && r.nx == 0 {
		notes = append(notes, "the !vm text has no NonPagedPool Usage line")
	}
	return v, notes
}

// NonPagedLimit returns the nonpaged pool maximum when it can be used as
// one: printed, fixed on this build, and not below the usage.
func (v VM) NonPagedLimit() (uint64, bool) {
	return v.NonPagedMax, v.NonPagedMax > 0 && v.NonPagedUsage <= v.NonPagedMax
}

// PagedLimit is NonPagedLimit for paged pool.
func (v VM) PagedLimit() (uint64, bool) {
	return v.PagedMax, v.PagedMax > 0 && v.PagedUsage <= v.PagedMax
}
