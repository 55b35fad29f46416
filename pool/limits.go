package pool

import (
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
)

// Limits is how close each pool was to its maximum.
type Limits struct {
	NonPagedUsed uint64 // bytes tracked by tag (what !poolused sums)
	PagedUsed    uint64

	NonPagedMax       uint64 // from the dump; 0 when unknown
	PagedMax          uint64
	NonPagedMaxSource string // where the maximum came from, or why it is unknown
	PagedMaxSource    string

	// Documented is the documented limit for this Windows version and
	// architecture ("Memory Limits for Windows and Windows Server Releases").
	DocumentedNonPaged string
	DocumentedPaged    string

	// HTTP.SYS on Server 2003 and Vista/2008 refuses connections
	// (HTTPERR Connections_Refused) when free nonpaged pool is below 20 MB.
	HTTPSysApplies bool
	HTTPSysBelow   bool // free nonpaged pool was below the threshold, by figures that passed their checks
	// HTTPSysChecked: the sums passed the checks the HTTP.SYS claim rests
	// on (per-CPU tables, agreement, pages, counters, bounds).
	HTTPSysChecked bool

	// UsedLowerBound is set when part of the tracker data is missing: the
	// used figures are then at least what they say.
	UsedLowerBound bool

	// NoFixedMax is set on builds whose pools have no fixed maximum
	// (64-bit Windows 8.1 and later): nonpaged pool is bounded by
	// physical memory, paged pool by commit. Pressure is then measured
	// against PhysicalBytes.
	NoFixedMax bool
	// PhysicalBytes is the physical memory the dump describes (the
	// header's PhysicalMemoryBlock or bitmap); 0 when unknown.
	PhysicalBytes uint64
}

// NonPagedOfPhysical is nonpaged use as a percent of physical memory, or
// -1 when the physical memory is unknown.
func (l Limits) NonPagedOfPhysical() float64 { return percent(l.NonPagedUsed, l.PhysicalBytes) }

// PagedOfPhysical is paged use as a percent of physical memory, or -1.
func (l Limits) PagedOfPhysical() float64 { return percent(l.PagedUsed, l.PhysicalBytes) }

// HTTPSysThreshold is HTTP.SYS's free nonpaged pool floor (KB820729, KB934878).
const HTTPSysThreshold = 20 << 20

// NonPagedPercent is used/max in percent, or -1 when the maximum is unknown.
func (l Limits) NonPagedPercent() float64 { return percent(l.NonPagedUsed, l.NonPagedMax) }

// PagedPercent is used/max in percent, or -1.
func (l Limits) PagedPercent() float64 { return percent(l.PagedUsed, l.PagedMax) }

// NonPagedFree is max - used, or 0 when unknown or exceeded.
func (l Limits) NonPagedFree() uint64 {
	if l.NonPagedMax > l.NonPagedUsed {
		return l.NonPagedMax - l.NonPagedUsed
	}
	return 0
}

func percent(used, max uint64) float64 {
	if max == 0 {
		return -1
	}
	return float64(used) * 100 / float64(max)
}

// docLimit is a documented pool limit for builds from minBuild on.
type docLimit struct {
	is64            bool
	minBuild        uint32
	nonPaged, paged string
}

// docLimits: MicrosoftDocs "Memory Limits for Windows and Windows Server
// Releases", Memory and Address Space Limits.
var docLimits = []docLimit{
	{false, 0, "256 MB (128 MB with /3GB)", "530 MB (XP) to 650 MB (2003)"},
	{false, 6000, "limited by kernel address space and RAM (Vista: up to 75% of RAM)", "limited by kernel address space (2 GB)"},
	{false, 7600, "min(75% of RAM, 2 GB)", "2 GB"},
	{false, 9600, "min(RAM, 2 GB)", "2 GB"},
	{true, 0, "up to 128 GB", "up to 128 GB"},
	{true, 6000, "40% of RAM, up to 128 GB", "up to 128 GB"},
	{true, 7600, "75% of RAM, up to 128 GB", "up to 128 GB"},
	{true, 9600, "min(RAM, 16 TB)", "up to 15.5 TB"},
}

func documented(is64 bool, build uint32) (np, p string) {
	for _, d := range docLimits {
		if d.is64 == is64 && build >= d.minBuild {
			np, p = d.nonPaged, d.paged
		}
	}
	return np, p
}

// httpSysEra reports Server 2003 and Vista / Server 2008, where HTTP.SYS's
// 20 MB floor is documented.
func httpSysEra(build uint32) bool { return build == 3790 || (build >= 6000 && build <= 6003) }

// noFixedMax reports builds whose pools grow with RAM and commit: 64-bit
// Windows 8.1 (9600) and later.
func noFixedMax(is64 bool, build uint32) bool { return is64 && build >= 9600 }

// readLimits fills the maxima from the KDBG: both fields hold the ADDRESS
// of a SIZE_T variable, read with the kernel's pointer width. On builds
// with no fixed maximum the variables are not limits (real Windows 10
// kernels leave MmMaximumNonPagedPoolInBytes 0, and MmSizeOfPagedPoolInBytes
// holds the size of a virtual region of hundreds of GiB), so they are not
// used as maxima there.
func readLimits(f *dumpfile.File, k *dumpfile.KDBG, l *Limits) {
	read := func(addr uint64, name string) (uint64, string) {
		if addr == 0 {
			return 0, fmt.Sprintf("KDBG has no %s field", name)
		}
		v, err := f.ReadPointer(addr)
		if err != nil {
			return 0, fmt.Sprintf("nt!%s at %#x unreadable: %v", name, addr, err)
		}
		if v == 0 {
			return 0, fmt.Sprintf("nt!%s is 0", name)
		}
		return v, "nt!" + name + " (via KDBG)"
	}
	l.PhysicalBytes = f.DescribedPages() * dumpfile.PageSize
	l.DocumentedNonPaged, l.DocumentedPaged = documented(f.Is64, f.MinorVersion)
	l.HTTPSysApplies = httpSysEra(f.MinorVersion)
	if noFixedMax(f.Is64, f.MinorVersion) {
		l.NoFixedMax = true
		l.NonPagedMaxSource = "no fixed maximum on this build: nonpaged pool is bounded by physical memory"
		l.PagedMaxSource = "no fixed maximum on this build: paged pool is bounded by commit (nt!MmSizeOfPagedPoolInBytes is the size of a virtual region, not a limit)"
		return
	}
	l.NonPagedMax, l.NonPagedMaxSource = read(k.MmMaximumNonPagedPoolInBytes(), "MmMaximumNonPagedPoolInBytes")
	l.PagedMax, l.PagedMaxSource = read(k.MmSizeOfPagedPoolInBytes(), "MmSizeOfPagedPoolInBytes")
}

// checkLimits checks use against the maxima and physical memory, then
// decides the HTTP.SYS claim on figures that passed their checks only.
func (r *Result) checkLimits() {
	l := &r.Limits
	maxCheck := func(name string, max uint64, src string) {
		c := Check{Name: name, Status: CheckPassed, Max: max, Source: src}
		switch {
		case l.NoFixedMax:
			c.Outcome = MaxNoFixed
		case max == 0:
			c.Status, c.Outcome = CheckUnknown, MaxUnknown
		default:
			c.Outcome = MaxRead
		}
		r.check(c)
	}
	maxCheck(CheckNonPagedMax, l.NonPagedMax, l.NonPagedMaxSource)
	maxCheck(CheckPagedMax, l.PagedMax, l.PagedMaxSource)
	bounds := func(name, pool string, used, max uint64) {
		c := Check{Name: name, Status: CheckPassed, Used: used, Max: max}
		switch {
		case max != 0 && used > max:
			c.Status, c.Outcome = CheckFailed, BoundsAbove
		case l.PhysicalBytes != 0 && used > l.PhysicalBytes && pool == "nonpaged":
			c.Status, c.Outcome, c.Max = CheckFailed, BoundsAbovePhysical, l.PhysicalBytes
		case max != 0:
			c.Outcome = BoundsWithin
		case l.PhysicalBytes != 0 && pool == "nonpaged":
			c.Outcome, c.Max = BoundsWithinPhysical, l.PhysicalBytes
		case l.NoFixedMax:
			c.Outcome = BoundsNoFixed
		default:
			c.Status, c.Outcome = CheckUnknown, BoundsNoMaximum
		}
		r.check(c)
	}
	bounds(CheckNonPagedBounds, "nonpaged", l.NonPagedUsed, l.NonPagedMax)
	bounds(CheckPagedBounds, "paged", l.PagedUsed, l.PagedMax)

	// Free nonpaged pool is max - used. With used a lower bound, free is
	// an upper bound: "below the floor" still holds. With any contradiction
	// in the sums it does not.
	trusted := true
	for _, c := range r.Checks {
		switch c.Name {
		case CheckPerCPUTables, CheckPerCPUAgree, CheckTablePages, CheckCounters, CheckNonPagedBounds:
			trusted = trusted && c.Status != CheckFailed
		}
	}
	l.HTTPSysChecked = trusted
	l.HTTPSysBelow = l.HTTPSysApplies && trusted && l.NonPagedMax != 0 && l.NonPagedFree() < HTTPSysThreshold
}
