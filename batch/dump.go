package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/poolblame/poolblame/internal/outfile"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/report"
)

// outcome is what analysing one dump gave.
type outcome struct {
	rec      *DumpRecord
	tags     keptTags
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
	f, cleanup, err := openDump(ctx, in, r.spool)
	if err != nil {
		return failed(ctx, rec, err)
	}
	defer cleanup()

	// Trends need more tags than a report lists: the analysis gathers
	// keptPerPool per pool, the report shows its own number. The verdict is
	// decided before any row is cut (package analysis).
	top := r.opts.Top
	if top <= 0 {
		top = analysis.DefaultLeading
	}
	cat, err := r.driverCatalog(ctx)
	if err != nil {
		return failed(ctx, rec, &machineError{fmt.Errorf("%s: %w", in.name(), err)})
	}
	rep, err := report.Build(ctx, f, report.Options{Top: top, Gather: keptPerPool, Pooltag: r.opts.Pooltag,
		DriverDirs: r.opts.DriverDirs, Catalog: cat, NoDumpImages: r.opts.NoDumpImages, Now: r.opts.Now})
	if err != nil {
		// Build fails only on what stops every report: the drivers folder.
		return failed(ctx, rec, &machineError{fmt.Errorf("%s: %w", in.name(), err)})
	}
	tags := trendTags(rep.Analysis)
	fillFacts(rec, rep.Analysis, top)

	rec.Reports = map[string]string{}
	base := reportBase(in)
	for _, fm := range r.formats {
		name := base + formatExt[fm]
		if err := writeReport(r.out, filepath.Join(r.opts.OutDir, name), rep, fm); err != nil {
			return failed(ctx, rec, &machineError{fmt.Errorf("%s: writing its %s report: %w", in.name(), fm, err)})
		}
		rec.Reports[fm.String()] = name
	}
	return outcome{rec: rec, tags: tags, remember: rec.Key != "" && ctx.Err() == nil}
}

// fillFacts copies what the summary needs from a dump's analysis: the
// machine, the verdict, the pools and the top leading tags of each.
func fillFacts(rec *DumpRecord, res *analysis.Result, top int) {
	m := res.Machine
	rec.Build, rec.Release, rec.Arch, rec.CPUs = m.Build, m.Release, m.Arch, m.CPUs
	rec.DumpType, rec.PhysicalBytes = m.DumpType, m.PhysicalBytes
	rec.BugCheck, rec.BugCheckName, rec.Capture = m.BugCheck, m.BugCheckName, m.Capture
	rec.SystemTime, rec.UptimeSeconds = m.SystemTime.UTC(), m.Uptime.Seconds()
	rec.BootID = m.BootID
	if m.KernBase != 0 {
		rec.kernBase = m.KernBase
		rec.KernBase = fmt.Sprintf("%#x", rec.kernBase)
	}
	rec.Confidence = res.Verdict.Confidence.String()
	if len(res.Verdict.Culprits) > 0 {
		rec.Culprit = res.Verdict.Culprits[0].Driver
	}
	if len(res.Verdict.Suspects) > 0 {
		rec.Suspect = res.Verdict.Suspects[0].Driver
	}
	if res.Pool == nil {
		rec.Status, rec.PoolError = StatusNoPool, res.PoolErr.Error()
		return
	}
	rec.Status = StatusOK
	if res.Pool.Partial {
		rec.Status, rec.Missing = StatusPartial, res.Pool.Missing
	}
	rec.NonPaged = &PoolUse{Used: res.Pool.NonPaged.Used, Max: res.Pool.NonPaged.Max, Percent: res.Pool.NonPaged.Percent}
	rec.Paged = &PoolUse{Used: res.Pool.Paged.Used, Max: res.Pool.Paged.Max, Percent: res.Pool.Paged.Percent}
	// Sized once: every dump's record is kept until the summary is written.
	rec.Leading = make([]Leading, 0, min(top, len(res.NonPaged))+min(top, len(res.Paged)))
	for _, tags := range [][]analysis.TagUsage{res.NonPaged, res.Paged} {
		for i := range tags[:min(top, len(tags))] {
			t := &tags[i]
			l := Leading{Tag: strings.TrimRight(t.Tag.String(), " "), Pool: t.Pool.String(), Bytes: t.Bytes,
				Outstanding: t.Outstanding, RatePerDay: t.GrowthPerDay}
			if own := t.Owner(); own != nil {
				l.Driver = own.Name
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

func writeReport(g *outfile.Guard, p string, rep *report.Report, f report.Format) error {
	var b bytes.Buffer
	if err := report.Render(&b, rep, f, report.RenderOptions{}); err != nil {
		return err
	}
	return g.WriteFile(p, b.Bytes())
}
