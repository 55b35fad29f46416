package analysis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// DefaultLeading is how many tags per pool Analyze gathers when
// Options.Leading is 0.
const DefaultLeading = 10

// Options controls Analyze.
type Options struct {
	// Leading is how many tags per pool to gather with their candidates;
	// 0: DefaultLeading. It is never fewer than the verdict weighs
	// (verdictDepth), so it cannot change the verdict.
	Leading    int
	Pooltag    *pooltag.DB // descriptions and weak evidence; nil: none
	DriverDirs []string    // folders of driver files to index
	// Catalog, when set, is an index of DriverDirs already built (a batch
	// shares one across dumps); Analyze reads it and never changes it.
	Catalog *pe.Catalog
	// DriverCache, when set, keeps driver scans across runs.
	DriverCache  *pe.Cache
	NoDumpImages bool // do not scan the driver images inside the dump
	// ScanPool scans the pool itself, one pass over the dump's pages: the
	// leading tags' tracker counts are checked against the blocks found
	// (a check on the verdict), and the blocks are read (Result.Scan).
	ScanPool bool
	Progress func(step string) // called before each long step; nil: silent
}

func (o Options) leading() int {
	if o.Leading <= 0 {
		return DefaultLeading
	}
	return max(o.Leading, verdictDepth)
}

func (o Options) progress(step string) {
	if o.Progress != nil {
		o.Progress(step)
	}
}

// Source is what an analysis reads: an opened crash dump (FromDump).
// Sources of other kinds (pool snapshots, a live machine) gather the same
// facts; the decisions after gathering are shared.
type Source interface {
	// gather reads the machine facts, the pool accounting and the
	// modules; it fails only when the whole analysis must stop.
	gather(ctx context.Context, o Options) (*gathered, error)
}

// gathered is what a source gives the decisions.
type gathered struct {
	machine  Machine
	pool     *pool.Result // nil when poolErr is set
	poolErr  error
	mods     []dumpfile.Module
	dump     *dumpfile.File // images to scan; nil when the source has none
	warnings []string
	// earlier is the pool accounting of an earlier snapshot of the same
	// machine, machine.GrowthSpan before this one; nil when there is none.
	earlier *pool.Result
	// session is the session pool; nil for a source without one.
	session *pool.SessionPools
}

// FromDump is an opened crash dump as a Source.
func FromDump(f *dumpfile.File) Source { return dumpSource{f} }

type dumpSource struct{ f *dumpfile.File }

func (s dumpSource) gather(_ context.Context, o Options) (*gathered, error) {
	f := s.f
	g := &gathered{machine: machineFacts(f), warnings: append([]string{}, f.Warnings...)}
	mods, err := f.Modules()
	g.mods = mods
	g.machine.Modules = len(mods)
	if err != nil {
		g.warnings = append(g.warnings, fmt.Sprintf("module list: %v (%d modules read)", err, len(mods)))
	}
	if f.ReadableError() == nil {
		g.dump = f
	}
	o.progress("reading pool tracker tables")
	g.pool, g.poolErr = pool.Analyze(f)
	o.progress("reading session pool trackers")
	g.session = pool.ReadSessions(f)
	return g, nil
}

// cpus is the header's processor count, or 0 (unknown) when it is not
// plausible.
func cpus(f *dumpfile.File) int {
	n, _ := f.CPUs()
	return n
}

func machineFacts(f *dumpfile.File) Machine {
	m := Machine{
		File:           f.Name(),
		Size:           f.Size(),
		Release:        dumpfile.WindowsRelease(f.MinorVersion, f.ProductType),
		Build:          f.MinorVersion,
		Arch:           f.Arch().String(),
		CPUs:           cpus(f),
		DumpType:       f.DumpType.String(),
		Triage:         f.DumpType == dumpfile.TypeTriage,
		BugCheck:       f.BugCheckCode,
		BugCheckName:   dumpfile.BugCheckName(f.BugCheckCode),
		Capture:        f.CaptureTool(),
		BugCheckParams: append([]uint64{}, f.BugCheckParameters[:]...),
		SystemTime:     f.SystemTime,
		Uptime:         f.SystemUpTime,
		PhysicalBytes:  f.DescribedPages() * dumpfile.PageSize,
		BootID:         f.BootID,
	}
	if k, err := f.KDBG(); err == nil {
		m.KernBase = k.KernBase()
	}
	return m
}

// Analyze reads src and decides. It fails only on errors that stop the
// whole analysis (an unreadable drivers folder, a cancelled ctx while
// indexing); a source that cannot support a pool analysis gives a Result
// with Pool == nil and PoolErr set.
func Analyze(ctx context.Context, src Source, o Options) (*Result, error) {
	g, err := src.gather(ctx, o)
	if err != nil {
		return nil, err
	}
	r := &Result{Machine: g.machine, Warnings: g.warnings, NonPaged: []TagUsage{}, Paged: []TagUsage{}, Session: g.session}
	if o.Pooltag != nil {
		r.Sources.Pooltag = o.Pooltag.Path
	}
	if g.poolErr != nil {
		r.PoolErr = g.poolErr
		if len(o.DriverDirs) > 0 {
			// Given but not searched: the report must not say none were given.
			r.Sources.DriverFolders = o.DriverDirs
			r.Sources.NotSearched = "no pool tags to look for, since the dump gave no pool data"
		}
		r.Verdict = noPoolVerdict(g.machine, g.poolErr)
		return r, nil
	}
	rt := newRates(g.machine.Uptime, g.machine.GrowthSpan, g.earlier)
	r.Pool = poolFacts(g.pool, rt)
	r.NonPaged = leading(g.pool, NonPaged, o.leading(), rt)
	r.Paged = leading(g.pool, Paged, o.leading(), rt)

	r.excl = exclusion(g.pool, g.machine, rt, o.leading())

	var tags []pooltag.Tag
	for _, t := range append(append([]TagUsage{}, r.NonPaged...), r.Paged...) {
		tags = append(tags, t.Tag)
	}
	ranked := [][]TagUsage{r.NonPaged, r.Paged}
	if r.excl != nil {
		for _, t := range r.excl.restTags() {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		ranked = append(ranked, r.excl.NonPaged.Rows, r.excl.Paged.Rows)
	}
	ev, err := gatherEvidence(ctx, g, o, tags, r)
	if err != nil {
		return nil, err
	}
	for _, rows := range ranked {
		for i := range rows {
			rows[i].Candidates, rows[i].TextOnly = splitTextOnly(ev.Candidates(rows[i].Tag, o.Pooltag))
			if g.machine.Snapshot != "" {
				for j := range rows[i].Candidates {
					rows[i].Candidates[j].LoadedUnknown = true
				}
			}
			if o.Pooltag != nil {
				rows[i].Description, rows[i].PooltagBinary, _ = o.Pooltag.Describe(rows[i].Tag)
			}
		}
	}
	if o.ScanPool {
		if g.dump == nil {
			r.Scan = &Scan{Err: "the source holds no memory to scan"}
		} else if r.Scan, err = scanPool(ctx, g, r, o); err != nil {
			return nil, err
		}
	}
	r.Verdict, r.Checks = decide(r)
	return r, nil
}

// gatherEvidence indexes the driver folders (unless a catalog is given)
// and scans the dump's images, recording both in r.Sources.
func gatherEvidence(ctx context.Context, g *gathered, o Options, tags []pooltag.Tag, r *Result) (*Evidence, error) {
	ev := &Evidence{Modules: g.mods}
	if cat := o.Catalog; cat != nil || len(o.DriverDirs) > 0 {
		if cat == nil {
			o.progress("indexing driver folders")
			var err error
			if cat, err = pe.Index(ctx, o.DriverDirs, pe.IndexOptions{Tags: tags, Cache: o.DriverCache}); err != nil {
				return nil, err
			}
		}
		ev.Folder = cat
		r.Sources.DriverFolders = o.DriverDirs
		r.Sources.FilesIndexed = cat.Files
		if n := len(cat.Warnings); n > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d files in the driver folders could not be read as drivers (first: %v)", n, cat.Warnings[0]))
		}
		if n := countARM32(cat.Drivers); n > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d ARM32 images in the driver folders: %s", n, pe.ThumbNote))
		}
	}
	if !o.NoDumpImages && g.dump != nil {
		o.progress(fmt.Sprintf("scanning %d driver images in the dump", len(g.mods)))
		imgs := ScanDumpImages(ctx, g.dump, g.mods)
		r.Warnings = append(r.Warnings, imgs.Notes...)
		ev.Dump = imgs.Drivers
		r.Sources.DumpImagesScanned = len(imgs.Drivers)
		r.Sources.DumpImagesFailed = len(imgs.Failed)
		r.Sources.DumpPagesMissing = imgs.MissingPages
	}
	return ev, nil
}

func poolFacts(res *pool.Result, rt rates) *Pool {
	l := res.Limits
	p := &Pool{
		NonPaged:    pressure(l.NonPagedUsed, l.NonPagedMax, l.NonPagedMaxSource, l.DocumentedNonPaged, rt.pool(NonPaged, l.NonPagedUsed)),
		Paged:       pressure(l.PagedUsed, l.PagedMax, l.PagedMaxSource, l.DocumentedPaged, rt.pool(Paged, l.PagedUsed)),
		Tags:        len(res.Usages),
		OneCPUOnly:  res.OneCPUOnly,
		PerCPU:      len(res.PerCPU),
		MissingCPUs: res.MissingCPUs,
		Partial:     res.Partial,
		Missing:     res.Missing,
		Notes:       res.Notes,
	}
	if res.Layout != nil {
		p.Layout = res.Layout.Name
	}
	p.HTTPSysApplies = l.HTTPSysApplies
	p.Checks = res.Checks
	if l.HTTPSysApplies && l.NonPagedMax != 0 && l.HTTPSysChecked {
		p.HTTPSys = &HTTPSys{FreeNonPaged: l.NonPagedFree(), Threshold: pool.HTTPSysThreshold, Below: l.HTTPSysBelow}
	}
	for _, pp := range []*Pressure{&p.NonPaged, &p.Paged} {
		pp.NoFixedMax, pp.PhysicalBytes, pp.LowerBound = l.NoFixedMax, l.PhysicalBytes, l.UsedLowerBound
		if l.PhysicalBytes != 0 {
			pp.OfPhysical = float64(pp.Used) * 100 / float64(l.PhysicalBytes)
		}
	}
	return p
}

// perDay converts an amount accumulated over uptime to a daily rate; 0
// without an uptime.
func perDay(amount float64, uptime time.Duration) float64 {
	if uptime <= 0 {
		return 0
	}
	return amount / (uptime.Seconds() / 86400)
}

// pressure computes use and time to exhaustion at the growth given (see
// rates: the average since boot, the best a single dump can say, or
// measured between snapshots).
func pressure(used, max uint64, source, doc string, growth float64) Pressure {
	p := Pressure{Used: used, Max: max, MaxSource: source, Percent: -1, DaysToExhaustion: -1, Documented: doc, OfPhysical: -1}
	if max != 0 {
		p.Percent = float64(used) * 100 / float64(max)
	}
	p.GrowthPerDay = growth
	switch {
	case max == 0 || p.GrowthPerDay <= 0:
	case used >= max:
		p.DaysToExhaustion = 0
	default:
		p.DaysToExhaustion = float64(max-used) / p.GrowthPerDay
	}
	return p
}

// leading returns the top tags of one pool with their figures; tags
// holding no bytes in that pool are left out.
func leading(res *pool.Result, which PoolType, top int, rt rates) []TagUsage {
	key := pool.SortNonPaged
	if which == Paged {
		key = pool.SortPaged
	}
	var total uint64
	for _, u := range res.Usages {
		total += poolBytes(u, which)
	}
	// A snapshot may list part of the tags while stating the whole pool's
	// use: a share is of the pool, not of the rows listed.
	whole := res.Limits.NonPagedUsed
	if which == Paged {
		whole = res.Limits.PagedUsed
	}
	total = max(total, whole)
	rows := []TagUsage{}
	for _, u := range pool.Select(res.Usages, pool.Selection{Sort: key, Top: top}) {
		t := TagUsage{Tag: u.Tag, Pool: NonPaged, Outstanding: u.NonPagedOutstanding(),
			Allocs: u.NonPagedAllocs, Frees: u.NonPagedFrees, Bytes: u.NonPagedBytes}
		if which == Paged {
			t = TagUsage{Tag: u.Tag, Pool: Paged, Outstanding: u.PagedOutstanding(),
				Allocs: u.PagedAllocs, Frees: u.PagedFrees, Bytes: u.PagedBytes}
		}
		if t.Bytes == 0 {
			break
		}
		if total > 0 {
			t.Share = float64(t.Bytes) * 100 / float64(total)
		}
		if t.Outstanding > 0 {
			t.AvgSize = float64(t.Bytes) / float64(t.Outstanding)
		}
		t.GrowthPerDay = rt.tag(u, which)
		t.Candidates = []Candidate{}
		rows = append(rows, t)
	}
	return rows
}

func poolBytes(u pool.Usage, which PoolType) uint64 {
	if which == Paged {
		return u.PagedBytes
	}
	return u.NonPagedBytes
}
