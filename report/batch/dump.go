package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/report"
)

// outcome is what analysing one dump gave.
type outcome struct {
	rec      *DumpRecord
	tags     []TagBytes
	remember bool // worth keeping in index.json
}

// newRecord starts a dump's record from what discovery knows.
func newRecord(in *input) *DumpRecord {
	return &DumpRecord{Schema: RecordSchema, Path: in.path, Member: in.member, Container: in.container,
		Folder: in.folder, Key: in.key}
}

// failed is the outcome of a dump that could not be read. Failures of
// the machine and of cancellation are not remembered.
func failed(ctx context.Context, rec *DumpRecord, err error) outcome {
	rec.Status, rec.Error = StatusError, err.Error()
	var me *machineError
	return outcome{rec: rec, remember: rec.Key != "" && !errors.As(err, &me) && ctx.Err() == nil}
}

// analyse reads one dump, writes its reports and returns its record.
func (r *runner) analyse(ctx context.Context, in *input) outcome {
	rec := newRecord(in)
	f, cleanup, err := openDump(ctx, in, r.tmpDir, r.disk)
	if err != nil {
		return failed(ctx, rec, err)
	}
	defer cleanup()

	rep, err := report.Build(ctx, f, report.Options{Top: r.opts.Top, Pooltag: r.opts.Pooltag,
		DriverDirs: r.opts.DriverDirs, NoDumpImages: r.opts.NoDumpImages, Now: r.opts.Now})
	if err != nil {
		// Build fails only on what stops every report: the drivers folder.
		return failed(ctx, rec, &machineError{fmt.Errorf("%s: %v", in.name(), err)})
	}
	fillFacts(rec, f, rep)
	var tags []TagBytes
	if rep.Pool != nil {
		// The report keeps the leading tags only; trends need more.
		if res, err := pool.Analyze(f); err == nil {
			tags = keepTags(res.Usages, keptTags)
		}
	}

	rec.Reports = map[string]string{}
	base := reportBase(in)
	for _, fm := range r.formats {
		name := base + formatExt[fm]
		if err := writeReport(filepath.Join(r.opts.OutDir, name), rep, fm); err != nil {
			return failed(ctx, rec, &machineError{fmt.Errorf("%s: writing its %s report: %v", in.name(), fm, err)})
		}
		rec.Reports[fm.String()] = name
	}
	return outcome{rec: rec, tags: tags, remember: rec.Key != "" && ctx.Err() == nil}
}

// fillFacts copies what the summary needs from the dump and its report.
func fillFacts(rec *DumpRecord, f *dumpfile.File, rep *report.Report) {
	d := rep.Dump
	rec.Build, rec.Release, rec.Arch, rec.CPUs = d.Build, d.Release, d.Arch, d.CPUs
	rec.DumpType, rec.PhysicalBytes = d.DumpType, d.PhysicalBytes
	rec.BugCheck, rec.BugCheckName = d.BugCheck, d.BugCheckName
	rec.SystemTime, rec.UptimeSeconds = d.SystemTime.UTC(), d.UptimeSeconds
	rec.BootID = f.BootID
	if k, err := f.KDBG(); err == nil && k.KernBase() != 0 {
		rec.kernBase = k.KernBase()
		rec.KernBase = fmt.Sprintf("%#x", rec.kernBase)
	}
	rec.Confidence = rep.Verdict.Confidence
	if rep.Pool == nil {
		rec.Status, rec.PoolError = StatusNoPool, rep.PoolError
		return
	}
	rec.Status = StatusOK
	if rep.Pool.Partial {
		rec.Status, rec.Missing = StatusPartial, rep.Pool.Missing
	}
	rec.NonPaged = &PoolUse{Used: rep.Pool.NonPaged.Used, Max: rep.Pool.NonPaged.Max, Percent: rep.Pool.NonPaged.Percent}
	rec.Paged = &PoolUse{Used: rep.Pool.Paged.Used, Max: rep.Pool.Paged.Max, Percent: rep.Pool.Paged.Percent}
	for _, rows := range [][]report.TagRow{rep.LeadingNonPaged, rep.LeadingPaged} {
		for _, t := range rows {
			l := Leading{Tag: strings.TrimRight(t.Tag, " "), Pool: t.Pool, Bytes: t.Bytes, Outstanding: t.Outstanding, RatePerDay: t.GrowthPerDay}
			if len(t.Candidates) > 0 {
				l.Driver = t.Candidates[0].Name
			}
			rec.Leading = append(rec.Leading, l)
		}
	}
	// The leading nonpaged tag: nonpaged exhaustion is what stops machines.
	if len(rec.Leading) > 0 {
		top := rec.Leading[0]
		rec.TopTag, rec.TopPool, rec.TopBytes, rec.TopDriver = top.Tag, top.Pool, top.Bytes, top.Driver
	}
}

// restoreFacts sets what a record keeps unexported after index.json.
func restoreFacts(rec *DumpRecord) {
	if v, err := strconv.ParseUint(strings.TrimPrefix(rec.KernBase, "0x"), 16, 64); err == nil {
		rec.kernBase = v
	}
}

// keepTags returns the n largest tags of each pool.
func keepTags(us []pool.Usage, n int) []TagBytes {
	var np, pg []TagBytes
	for _, u := range us {
		if u.NonPagedBytes > 0 {
			np = append(np, TagBytes{Tag: u.Tag.Trimmed(), Pool: "nonpaged", Bytes: u.NonPagedBytes, Outstanding: u.NonPagedOutstanding()})
		}
		if u.PagedBytes > 0 {
			pg = append(pg, TagBytes{Tag: u.Tag.Trimmed(), Pool: "paged", Bytes: u.PagedBytes, Outstanding: u.PagedOutstanding()})
		}
	}
	top := func(ts []TagBytes) []TagBytes {
		sort.SliceStable(ts, func(i, j int) bool {
			if ts[i].Bytes != ts[j].Bytes {
				return ts[i].Bytes > ts[j].Bytes
			}
			return ts[i].Tag < ts[j].Tag
		})
		return ts[:min(n, len(ts))]
	}
	return append(top(np), top(pg)...)
}

// formatExt is the file extension of each report format.
var formatExt = map[report.Format]string{
	report.Text: ".txt", report.JSON: ".json", report.Markdown: ".md", report.CSV: ".csv", report.HTML: ".html",
}

// reportBase names a dump's reports: its file name without the
// container and .dmp extensions, made safe, and the start of its key.
func reportBase(in *input) string {
	name := filepath.Base(in.path)
	if in.member != "" {
		name = path.Base(in.member)
	}
	for _, ext := range []string{".gz", ".zst", ".dmp"} {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			name = name[:len(name)-len(ext)]
		}
	}
	var b strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	key := in.key
	if i := strings.IndexByte(key, '-'); i >= 0 {
		key = key[:i]
	}
	return b.String() + "-" + key[:min(8, len(key))]
}

func writeReport(p string, rep *report.Report, f report.Format) error {
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	err = report.Render(out, rep, f, report.RenderOptions{})
	return errors.Join(err, out.Close())
}
