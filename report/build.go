package report

import (
	"context"
	"strings"
	"time"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
)

// Options controls Build: what the analysis reads (passed on to package
// analysis) and what the report shows of it.
type Options struct {
	Top int // leading tags shown per pool; 0: 10
	// Gather is how many leading tags per pool the analysis gathers with
	// their drivers when more than Top are wanted (a batch keeps more for
	// trends, in Report.Analysis); 0: Top.
	Gather       int
	ThirdParty   bool              // hide tags whose only candidates are Microsoft's; never changes the verdict
	Pooltag      *pooltag.DB       // descriptions and weak evidence; nil: none
	DriverDirs   []string          // folders of driver files to index
	NoDumpImages bool              // do not scan the driver images inside the dump
	ScanPool     bool              // scan the pool itself: tracker cross-check and block contents
	Progress     func(step string) // called before each long step; nil: silent
	Now          time.Time         // Report.Generated; zero leaves it zero

	// Catalog, when set, is an index of DriverDirs already built (a batch
	// shares one across dumps); Build reads it and never changes it.
	Catalog *pe.Catalog
	// DriverCache, when set, keeps driver scans across runs.
	DriverCache *pe.Cache
}

// Display is what a report shows of an analysis: choices that never
// change the analysis or its verdict.
type Display struct {
	Top        int       // leading tags per pool; 0: 10
	ThirdParty bool      // hide tags whose only candidates are Microsoft's
	Now        time.Time // Report.Generated
}

// Build analyses an open dump (package analysis) and makes its report.
// It fails only on errors that stop the whole analysis (an unreadable
// drivers folder); a dump that cannot support a pool analysis gives a
// report with Pool == nil and PoolError set.
func Build(ctx context.Context, f *dumpfile.File, o Options) (*Report, error) {
	return build(ctx, analysis.FromDump(f), o)
}

// BuildSnapshot analyses a pool snapshot (a poolmon screen or log,
// !poolused text, with the !vm lines of the same paste) and makes its
// report: everything that does not need a dump.
func BuildSnapshot(ctx context.Context, s *snapshot.Snapshot, o Options) (*Report, error) {
	return build(ctx, analysis.FromSnapshot(s), o)
}

func build(ctx context.Context, src analysis.Source, o Options) (*Report, error) {
	res, err := analysis.Analyze(ctx, src, analysis.Options{
		Leading: max(o.Top, o.Gather), Pooltag: o.Pooltag, DriverDirs: o.DriverDirs, Catalog: o.Catalog, DriverCache: o.DriverCache,
		NoDumpImages: o.NoDumpImages, Progress: o.Progress, ScanPool: o.ScanPool,
	})
	if err != nil {
		return nil, err
	}
	return New(res, Display{Top: o.Top, ThirdParty: o.ThirdParty, Now: o.Now}), nil
}

// New makes the report of an analysis: the same facts, in the form the
// renderers and the JSON schema use, with the display choices applied.
func New(res *analysis.Result, d Display) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Generated:     d.Now,
		Dump:          dumpFacts(res.Machine),
		Sources: Sources{DriverFolders: res.Sources.DriverFolders, NotSearched: res.Sources.NotSearched, FilesIndexed: res.Sources.FilesIndexed,
			DumpImagesScanned: res.Sources.DumpImagesScanned, DumpPagesMissing: res.Sources.DumpPagesMissing,
			Pooltag: res.Sources.Pooltag},
		Warnings:        append([]string{}, res.Warnings...),
		LeadingNonPaged: shown(res.NonPaged, d),
		LeadingPaged:    shown(res.Paged, d),
		Verdict:         verdict(res),
		Analysis:        res,
	}
	if res.PoolErr != nil {
		r.PoolError = res.PoolErr.Error()
	}
	if res.Pool != nil {
		r.Pool = poolSection(res.Pool)
	}
	r.PoolScan = poolScanSection(res.Scan)
	r.SessionPool = sessionSection(res.Session, d)
	return r
}

func dumpFacts(m analysis.Machine) Dump {
	return Dump{
		File:           m.File,
		Size:           m.Size,
		Release:        m.Release,
		Build:          m.Build,
		Arch:           m.Arch,
		CPUs:           m.CPUs,
		DumpType:       m.DumpType,
		BugCheck:       m.BugCheck,
		BugCheckName:   m.BugCheckName,
		Capture:        m.Capture,
		BugCheckParams: m.BugCheckParams,
		SystemTime:     m.SystemTime,
		UptimeSeconds:  m.Uptime.Seconds(),
		GrowthSeconds:  m.GrowthSpan.Seconds(),
		PhysicalBytes:  m.PhysicalBytes,
		Modules:        m.Modules,
	}
}

func poolSection(p *analysis.Pool) *Pool {
	out := &Pool{
		NonPaged:    pressure(p.NonPaged),
		Paged:       pressure(p.Paged),
		Tags:        p.Tags,
		OneCPUOnly:  p.OneCPUOnly,
		PerCPU:      p.PerCPU,
		Partial:     p.Partial,
		Missing:     p.Missing,
		Notes:       p.Notes,
		TableLayout: p.Layout,
		// The checks of the pool data, as the verdict weighed them.
		HTTPSysApplies: p.HTTPSysApplies,
		Checks:         []Check{},
	}
	for _, c := range p.Checks {
		out.Checks = append(out.Checks, Check{Name: c.Name, Status: c.Status.String(), Detail: checkDetail(c)})
	}
	out.NonPaged.Contradicted = checkFailed(out, pool.CheckNonPagedBounds)
	out.Paged.Contradicted = checkFailed(out, pool.CheckPagedBounds)
	if h := p.HTTPSys; h != nil {
		out.HTTPSys = &HTTPSys{FreeNonPaged: h.FreeNonPaged, Threshold: h.Threshold, Below: h.Below}
	}
	return out
}

func pressure(p analysis.Pressure) PoolPressure {
	return PoolPressure{Used: p.Used, Max: p.Max, MaxSource: p.MaxSource, Percent: p.Percent,
		GrowthPerDay: p.GrowthPerDay, DaysToExhaustion: p.DaysToExhaustion, Documented: p.Documented,
		NoFixedMax: p.NoFixedMax, PhysicalBytes: p.PhysicalBytes, OfPhysical: p.OfPhysical, LowerBound: p.LowerBound}
}

// shown is the rows a report lists: the first Top leading tags, then,
// with ThirdParty, without those only Microsoft drivers use.
func shown(tags []analysis.TagUsage, d Display) []TagRow {
	top := d.Top
	if top <= 0 {
		top = analysis.DefaultLeading
	}
	rows := []TagRow{}
	for i := range tags[:min(top, len(tags))] {
		t := &tags[i]
		if d.ThirdParty && t.MicrosoftOnly() {
			continue
		}
		rows = append(rows, rowOf(t))
	}
	return rows
}

func rowOf(t *analysis.TagUsage) TagRow {
	row := TagRow{Tag: t.Tag.String(), Pool: t.Pool.String(), Outstanding: t.Outstanding, Allocs: t.Allocs,
		Frees: t.Frees, Bytes: t.Bytes, Share: t.Share, AvgSize: t.AvgSize, GrowthPerDay: t.GrowthPerDay,
		Description: t.Description, PooltagBinary: t.PooltagBinary, Candidates: []Candidate{}, tag: t.Tag}
	for i := range t.Candidates {
		row.Candidates = append(row.Candidates, candidate(&t.Candidates[i]))
	}
	row.TextOnly = t.TextOnly
	return row
}

func candidate(c *analysis.Candidate) Candidate {
	id := c.Identity
	out := Candidate{
		Name:          c.Name,
		Path:          c.Path,
		Source:        c.Source,
		Evidence:      evidenceName(c),
		Count:         c.Count(),
		Routines:      c.Evidence.Routines,
		Company:       id.Company,
		Description:   id.Description,
		Product:       id.Product,
		Version:       id.Version,
		Signer:        c.Signature.Signer,
		Signature:     c.Signature.String(),
		Microsoft:     c.Owner == analysis.OwnerMicrosoft,
		Owner:         c.Owner,
		SHA256:        id.SHA256,
		Machine:       id.Machine,
		Loaded:        c.Loaded,
		LoadedNote:    c.LoadedNote,
		LoadedUnknown: c.LoadedUnknown,
		PDB:           id.PDB,
		OwnerHint:     id.OwnerHint,
	}
	if !id.Built.IsZero() {
		out.TimeStamp = id.Built.UTC().Format(time.RFC3339)
	}
	return out
}

// evidenceName is the evidence as the report names it: the kind found in
// the file, or "pooltag" for a pooltag.txt entry.
func evidenceName(c *analysis.Candidate) string {
	if c.Source == analysis.FromPooltag {
		return "pooltag"
	}
	return c.Kind().String()
}

func trimTag(t string) string { return strings.TrimRight(t, " ") }
