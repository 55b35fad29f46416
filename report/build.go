package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
)

// Options controls Build.
type Options struct {
	Top          int               // leading tags per pool; 0: 10
	ThirdParty   bool              // hide tags whose only candidates are Microsoft's
	Pooltag      *pool.PooltagDB   // descriptions and weak evidence; nil: none
	DriverDirs   []string          // folders of driver files to index
	NoDumpImages bool              // do not scan the driver images inside the dump
	Progress     func(step string) // called before each long step; nil: silent
	Now          time.Time         // Report.Generated; zero leaves it zero

	// Catalog, when set, is an index of DriverDirs already built (a batch
	// shares one across dumps); Build reads it and never changes it.
	Catalog *pe.Catalog
}

// Build analyses an open dump. It fails only on errors that stop the
// whole report (an unreadable drivers folder); a dump that cannot support
// a pool analysis gives a report with Pool == nil and PoolError set.
func Build(ctx context.Context, f *dumpfile.File, o Options) (*Report, error) {
	if o.Top <= 0 {
		o.Top = 10
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	r := &Report{SchemaVersion: SchemaVersion, Generated: o.Now, Dump: dumpFacts(f), Warnings: append([]string{}, f.Warnings...)}
	if o.Pooltag != nil {
		r.Sources.Pooltag = o.Pooltag.Path
	}
	mods, modErr := f.Modules()
	r.Dump.Modules = len(mods)
	if modErr != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("module list: %v (%d modules read)", modErr, len(mods)))
	}

	progress("reading pool tracker tables")
	res, err := pool.Analyze(f)
	if err != nil {
		r.PoolError = err.Error()
		r.LeadingNonPaged, r.LeadingPaged = []TagRow{}, []TagRow{}
		r.Verdict = noPoolVerdict(f, err)
		return r, nil
	}
	r.Pool = poolSection(res, r.Dump.UptimeSeconds)
	np := leading(res, pool.SortNonPaged, o.Top, r.Dump.UptimeSeconds)
	pg := leading(res, pool.SortPaged, o.Top, r.Dump.UptimeSeconds)

	var tags []uint32
	for _, t := range append(append([]TagRow{}, np...), pg...) {
		tags = append(tags, uint32(t.tag))
	}
	ev := &evidence{mods: mods}
	if cat := o.Catalog; cat != nil || len(o.DriverDirs) > 0 {
		if cat == nil {
			progress("indexing driver folders")
			var err error
			if cat, err = pe.Index(ctx, o.DriverDirs, pe.IndexOptions{Tags: tags}); err != nil {
				return nil, err
			}
		}
		ev.folder = cat
		r.Sources.DriverFolders = o.DriverDirs
		r.Sources.FilesIndexed = cat.Files
		if n := len(cat.Warnings); n > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d files in the driver folders could not be read as drivers (first: %v)", n, cat.Warnings[0]))
		}
	}
	if !o.NoDumpImages && f.ReadableError() == nil {
		progress(fmt.Sprintf("scanning %d driver images in the dump", len(mods)))
		r.Warnings = append(r.Warnings, ev.scanDumpImages(ctx, f)...)
		r.Sources.DumpImagesScanned = len(ev.dump)
		r.Sources.DumpPagesMissing = ev.missingPages
	}
	for _, rows := range [][]TagRow{np, pg} {
		for i := range rows {
			rows[i].Candidates = ev.candidates(rows[i].tag, o.Pooltag)
			if o.Pooltag != nil {
				rows[i].Description, rows[i].PooltagBinary, _ = o.Pooltag.Describe(rows[i].tag)
			}
		}
	}
	if o.ThirdParty {
		np, pg = thirdPartyOnly(np), thirdPartyOnly(pg)
	}
	r.LeadingNonPaged, r.LeadingPaged = np, pg
	r.Verdict = verdict(r, res)
	return r, nil
}

func dumpFacts(f *dumpfile.File) Dump {
	d := Dump{
		File:           f.Name(),
		Size:           f.Size(),
		Release:        dumpfile.WindowsRelease(f.MinorVersion, f.ProductType),
		Build:          f.MinorVersion,
		Arch:           f.Arch().String(),
		CPUs:           int(f.NumberProcessors),
		DumpType:       f.DumpType.String(),
		BugCheck:       f.BugCheckCode,
		BugCheckName:   dumpfile.BugCheckName(f.BugCheckCode),
		BugCheckParams: f.BugCheckParameters[:],
		SystemTime:     f.SystemTime,
		UptimeSeconds:  f.SystemUpTime.Seconds(),
		PhysicalBytes:  f.DescribedPages() * dumpfile.PageSize,
	}
	return d
}

func poolSection(res *pool.Result, uptime float64) *Pool {
	l := res.Limits
	p := &Pool{
		NonPaged:    pressure(l.NonPagedUsed, l.NonPagedMax, l.NonPagedMaxSource, l.DocumentedNonPaged, uptime),
		Paged:       pressure(l.PagedUsed, l.PagedMax, l.PagedMaxSource, l.DocumentedPaged, uptime),
		Tags:        len(res.Usages),
		OneCPUOnly:  res.OneCPUOnly,
		PerCPU:      len(res.PerCPU),
		Partial:     res.Partial,
		Missing:     res.Missing,
		Notes:       res.Notes,
		TableLayout: res.Layout.Name,
	}
	if l.HTTPSysApplies && l.NonPagedMax != 0 {
		p.HTTPSys = &HTTPSys{FreeNonPaged: l.NonPagedFree(), Threshold: pool.HTTPSysThreshold, Below: l.HTTPSysBelow}
	}
	return p
}

// pressure computes use, growth and time to exhaustion. Growth is the
// average since boot (counters start at zero), the best a single dump
// can say.
func pressure(used, max uint64, source, doc string, uptime float64) PoolPressure {
	p := PoolPressure{Used: used, Max: max, MaxSource: source, Percent: -1, DaysToExhaustion: -1, Documented: doc}
	if max != 0 {
		p.Percent = float64(used) * 100 / float64(max)
	}
	if uptime > 0 {
		p.GrowthPerDay = float64(used) / (uptime / 86400)
	}
	switch {
	case max == 0 || p.GrowthPerDay <= 0:
	case used >= max:
		p.DaysToExhaustion = 0
	default:
		p.DaysToExhaustion = float64(max-used) / p.GrowthPerDay
	}
	return p
}

// leading returns the top tags of one pool with their figures.
func leading(res *pool.Result, key pool.SortKey, top int, uptime float64) []TagRow {
	paged := key == pool.SortPaged
	var total uint64
	for _, u := range res.Usages {
		if paged {
			total += u.PagedBytes
		} else {
			total += u.NonPagedBytes
		}
	}
	rows := []TagRow{}
	for _, u := range pool.Select(res.Usages, pool.Selection{Sort: key, Top: top}) {
		t := TagRow{Tag: u.Tag.String(), Pool: "nonpaged", Outstanding: u.NonPagedOutstanding(),
			Allocs: u.NonPagedAllocs, Frees: u.NonPagedFrees, Bytes: u.NonPagedBytes, tag: u.Tag}
		if paged {
			t = TagRow{Tag: u.Tag.String(), Pool: "paged", Outstanding: u.PagedOutstanding(),
				Allocs: u.PagedAllocs, Frees: u.PagedFrees, Bytes: u.PagedBytes, tag: u.Tag}
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
		if uptime > 0 {
			t.GrowthPerDay = float64(t.Bytes) / (uptime / 86400)
		}
		t.Candidates = []Candidate{}
		rows = append(rows, t)
	}
	return rows
}

// thirdPartyOnly drops tags whose candidates are all Microsoft's.
func thirdPartyOnly(rows []TagRow) []TagRow {
	out := rows[:0:0]
	for _, t := range rows {
		ms := len(t.Candidates) > 0
		for _, c := range t.Candidates {
			if !c.Microsoft && c.Source != "pooltag.txt" {
				ms = false
			}
		}
		if !ms {
			out = append(out, t)
		}
	}
	return out
}

// evidence gathers drivers from folders and from the dump.
type evidence struct {
	folder       *pe.Catalog
	dump         []*pe.Driver
	mods         []dumpfile.Module
	missingPages int
}

// scanDumpImages scans each loaded module's image in the dump. Pages the
// dump cannot give are counted; a module whose header is missing is
// skipped. Drivers in memory have usually lost their import names with
// their INIT sections, so the pool routines the loaded modules export,
// read once, name the IAT slots instead; when no module's exports can be
// read, the images' own import tables are all there is.
func (e *evidence) scanDumpImages(ctx context.Context, f *dumpfile.File) (notes []string) {
	exports, err := pe.NewKernelExports(f, e.mods)
	if err != nil {
		notes = append(notes, fmt.Sprintf("kernel exports unreadable (%v): call sites in the dump's driver images may be missed", err))
		exports = nil
	} else {
		notes = append(notes, exports.Notes...)
	}
	for _, m := range e.mods {
		if ctx.Err() != nil {
			return notes
		}
		d, st, err := pe.ScanLoadedWith(f, m, exports)
		e.missingPages += st.PagedOut + st.Absent
		if err != nil {
			continue
		}
		d.Path = "dump:" + m.Path
		e.dump = append(e.dump, d)
	}
	return notes
}

// module finds a loaded module by file name.
func (e *evidence) module(name string) *dumpfile.Module {
	for i := range e.mods {
		if strings.EqualFold(e.mods[i].Name, name) {
			return &e.mods[i]
		}
	}
	return nil
}

// candidates ranks the drivers with evidence for tag: strongest evidence
// first, then loaded in the dump, then count. A driver found both in a
// folder and in the dump is listed once, from the folder (which has its
// signature), marked loaded.
func (e *evidence) candidates(tg pool.Tag, db *pool.PooltagDB) []Candidate {
	var out []Candidate
	seen := map[string]int{}
	if e.folder != nil {
		for _, c := range e.folder.Find(uint32(tg)) {
			cand := fromDriver(c.Driver, c.Evidence, "folder")
			if m := e.module(c.Driver.Name); m != nil {
				cand.Loaded = true
				cand.LoadedNote = pe.MatchLoaded(c.Driver, *m).Note
			}
			seen[strings.ToLower(c.Driver.Name)] = len(out)
			out = append(out, cand)
		}
	}
	for _, d := range e.dump {
		ev := d.Evidence(uint32(tg))
		if ev.Count() == 0 {
			continue
		}
		cand := fromDriver(d, ev, "dump image")
		cand.Loaded = true
		if i, ok := seen[strings.ToLower(d.Name)]; ok {
			// The folder's copy is listed; keep the stronger evidence.
			if rank(cand) > rank(out[i]) {
				out[i].Evidence, out[i].Count, out[i].Routines = cand.Evidence, cand.Count, cand.Routines
			}
			continue
		}
		out = append(out, cand)
	}
	if db != nil {
		for _, pt := range db.Lookup(tg) {
			if pt.Binary == "" || strings.EqualFold(pt.Binary, "<unknown>") {
				continue
			}
			c := Candidate{Name: pt.Binary, Source: "pooltag.txt", Evidence: "pooltag", Count: 1,
				Description: pt.Description, Signature: "n/a (pooltag.txt entry)"}
			if m := e.module(pt.Binary); m != nil {
				c.Loaded = true
			}
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if rank(out[i]) != rank(out[j]) {
			return rank(out[i]) > rank(out[j])
		}
		if out[i].Loaded != out[j].Loaded {
			return out[i].Loaded
		}
		return out[i].Count > out[j].Count
	})
	if out == nil {
		out = []Candidate{}
	}
	return out
}

var evidenceRank = map[string]int{"call-site": 4, "immediate": 3, "bytes": 2, "pooltag": 1}

func rank(c Candidate) int { return evidenceRank[c.Evidence] }

func fromDriver(d *pe.Driver, ev pe.Evidence, source string) Candidate {
	c := Candidate{
		Name:        d.Name,
		Path:        d.Path,
		Source:      source,
		Evidence:    evidenceName(ev.Kind()),
		Count:       kindCount(ev),
		Routines:    ev.Routines,
		Company:     d.Version.CompanyName,
		Description: d.Version.FileDescription,
		Product:     d.Version.ProductName,
		Version:     d.Version.FileVersion,
		Signer:      d.Signature.Signer,
		Signature:   signatureText(d, source),
		Microsoft:   d.Microsoft,
		SHA256:      d.SHA256,
		Machine:     d.Machine.String(),
	}
	if d.Version.Fixed != nil && d.Version.Fixed.FileVersion != "" {
		c.Version = d.Version.Fixed.FileVersion
	}
	if !d.TimeDateStamp.IsZero() {
		c.TimeStamp = d.TimeDateStamp.UTC().Format(time.RFC3339)
	}
	return c
}

func evidenceName(k pe.EvidenceKind) string {
	switch k {
	case pe.CallSite:
		return "call-site"
	case pe.Immediate:
		return "immediate"
	case pe.Bytes:
		return "bytes"
	}
	return "none"
}

// kindCount is the count of the strongest kind of evidence.
func kindCount(ev pe.Evidence) int {
	switch ev.Kind() {
	case pe.CallSite:
		return ev.CallSites
	case pe.Immediate:
		return ev.Immediates
	}
	return ev.Bytes
}

func signatureText(d *pe.Driver, source string) string {
	s := d.Signature
	switch {
	case source == "dump image":
		return "not in memory (signatures are not mapped; index the file with --drivers)"
	case !s.Embedded:
		return "no embedded signature (may be catalog-signed)"
	case s.HashMatches:
		return fmt.Sprintf("signed by %s (issuer %s), hash matches", s.Signer, s.Issuer)
	default:
		return fmt.Sprintf("signed by %s (issuer %s), HASH DOES NOT MATCH", s.Signer, s.Issuer)
	}
}
