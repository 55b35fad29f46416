package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"

	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/units"

	"github.com/poolblame/poolblame/report"
)

// workerMemory is the memory a worker is allowed when the worker count
// is chosen: dumps are mapped, not read, so it is the tracker tables,
// the driver images scanned and the report (a generous bound).
const workerMemory = 256 << 20

// runner holds what the workers share.
type runner struct {
	opts    Options
	formats []report.Format
	spool   *spool // where decompressed dumps are put

	// The driver folders are indexed once, by the first dump that needs
	// them, and the catalog is shared read-only by every worker.
	catOnce sync.Once
	catalog *pe.Catalog
	catErr  error
	indexed int // times the folders were indexed: once per run
}

// driverCatalog indexes opts.DriverDirs once per run, keeping every tag's
// evidence (the tags each dump and snapshot needs are not known in
// advance); dumps and snapshots share it.
func (r *runner) driverCatalog(ctx context.Context) (*pe.Catalog, error) {
	if len(r.opts.DriverDirs) == 0 {
		return nil, nil
	}
	r.catOnce.Do(func() {
		r.indexed++
		r.catalog, r.catErr = pe.Index(ctx, r.opts.DriverDirs, pe.IndexOptions{Cache: r.opts.DriverCache})
	})
	return r.catalog, r.catErr
}

// Run analyses every dump and snapshot the options name, writes the
// reports and the summary into opts.OutDir and returns the summary. One
// unreadable dump does not stop the run: it is listed with its error. Run
// fails only when nothing can be done (no output folder, a path that does
// not exist, nothing found); when ctx is cancelled it writes the summary
// of what was done and returns it with ctx's error.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.OutDir == "" {
		return nil, errors.New("batch: no output folder")
	}
	if len(opts.Paths) == 0 && len(opts.HTTPErr) == 0 {
		return nil, errors.New("batch: no dumps, folders or snapshots named")
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	for _, p := range opts.HTTPErr {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("httperr log: %w", err)
		}
	}
	found, err := discover(opts.Paths)
	if err != nil {
		return nil, err
	}
	if len(found.inputs) == 0 && len(opts.HTTPErr) == 0 {
		return nil, fmt.Errorf("no crash dump, pool snapshot or HTTP.SYS log found (%d other files ignored)", found.ignored)
	}
	r := &runner{opts: opts, formats: opts.Formats}
	if len(r.formats) == 0 {
		r.formats = DefaultFormats
	}
	sum := &Summary{Generated: opts.Now, OutDir: opts.OutDir}
	sum.Counts.Ignored = found.ignored

	var dumps, snaps, logs, perf []*input
	for _, in := range found.inputs {
		switch in.kind {
		case kindSnapshot:
			snaps = append(snaps, in)
		case kindPerfmon:
			perf = append(perf, in)
		case kindHTTPErr:
			logs = append(logs, in)
		default:
			dumps = append(dumps, in)
		}
	}

	if len(dumps) > 0 {
		workers, note := chooseWorkers(opts.Workers, len(dumps))
		sum.Workers = workers
		if note != "" {
			sum.Notes = append(sum.Notes, note)
		}
		tmp, err := os.MkdirTemp(opts.TempDir, "poolblame-batch-")
		if err != nil {
			return nil, fmt.Errorf("temporary folder: %w", err)
		}
		defer os.RemoveAll(tmp)
		r.spool = &spool{dir: tmp, disk: newDiskBudget(tmp), mem: newMemBudget(opts.MemoryBudget)}
	}
	var recs []*DumpRecord
	var tags map[*DumpRecord][]TagBytes
	var runErr error
	if len(dumps) > 0 {
		recs, tags, runErr = r.runDumps(ctx, dumps, sum)
	}

	ts, failed, notes := readSnapshots(snaps, opts.GroupBy, opts.Times)
	sum.Notes = append(sum.Notes, notes...)
	sum.FailedSnapshots = failed
	sum.Counts.Snapshots = len(snaps) - len(failed)
	sum.Counts.SnapshotsFailed = len(failed)
	var perfFailed []FailedInput
	sum.CounterLogs, perfFailed = readCounterLogs(perf)
	sum.FailedSnapshots = append(sum.FailedSnapshots, perfFailed...)
	sum.Counts.SnapshotsFailed += len(perfFailed)
	sum.Counts.CounterLogs = len(sum.CounterLogs)
	sum.Snapshots = buildSeries(ts, opts.Trend)
	if note := r.snapshotDrivers(ctx, sum.Snapshots); note != "" {
		sum.Notes = append(sum.Notes, note)
	}
	sum.Refusals = readRefusals(opts.HTTPErr, logs)

	sum.Groups = groupDumps(recs, opts.GroupBy)
	for _, g := range sum.Groups {
		dumpTrends(g, tags, opts.Trend)
	}
	sum.Dumps = summaryOrder(sum.Groups, recs)
	if err := writeSummary(sum); err != nil {
		return sum, err
	}
	return sum, runErr
}

// chooseWorkers picks the worker count: the cores, fewer when free
// memory is short, never more than the dumps.
func chooseWorkers(asked, dumps int) (int, string) {
	if asked > 0 {
		return asked, ""
	}
	n := runtime.GOMAXPROCS(0)
	note := ""
	if avail, ok := availableMemory(); ok {
		if byMem := max(1, int(avail/workerMemory)); byMem < n {
			note = fmt.Sprintf("%d workers rather than %d: %s of memory available, %s allowed per worker", byMem, n, units.Bytes(avail), units.Bytes(workerMemory))
			n = byMem
		}
	}
	return max(1, min(n, dumps)), note
}

// runDumps analyses the dumps not already in the index, in parallel, and
// returns every dump's record with the tags kept for trends.
func (r *runner) runDumps(ctx context.Context, dumps []*input, sum *Summary) ([]*DumpRecord, map[*DumpRecord][]TagBytes, error) {
	ix, note := loadIndex(r.opts.OutDir, settingsOf(r.opts))
	if note != "" {
		sum.Notes = append(sum.Notes, note)
	}
	formats := make([]string, len(r.formats))
	for i, f := range r.formats {
		formats[i] = f.String()
	}
	recs := make([]*DumpRecord, len(dumps))
	tags := map[*DumpRecord][]TagBytes{}
	done := 0
	progress := func(rec *DumpRecord, state string) {
		done++
		if r.opts.Progress != nil {
			p := Progress{Done: done, Total: len(dumps), Item: rec.Name(), State: state}
			if rec.Error != "" && state == "failed" {
				p.Err = errors.New(rec.Error)
			}
			r.opts.Progress(p)
		}
	}

	// First the dumps that need no work: known unreadable, duplicates,
	// already analysed.
	firstByKey := map[string]*DumpRecord{}
	var jobs []int
	for i, in := range dumps {
		rec := newRecord(in)
		recs[i] = rec
		switch {
		case in.err != nil:
			rec.Status, rec.Error = StatusError, in.err.Error()
			progress(rec, "failed")
		case firstByKey[in.key] != nil:
			rec.Status = StatusDuplicate
			rec.Error = "the same dump as " + firstByKey[in.key].Name()
			progress(rec, "skipped")
		default:
			firstByKey[in.key] = rec
			e, ok := ix.lookup(in.key, r.opts.OutDir, formats)
			if !ok {
				jobs = append(jobs, i)
				continue
			}
			c := *e.Record
			c.Path, c.Member, c.Container, c.Folder, c.Cached = rec.Path, rec.Member, rec.Container, rec.Folder, true
			c.Group, c.Boot = "", 0
			restoreFacts(&c)
			recs[i] = &c
			firstByKey[in.key] = &c
			tags[&c] = e.Tags
			progress(&c, "skipped")
		}
	}

	type result struct {
		i int
		o outcome
	}
	work := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for w := 0; w < max(1, sum.Workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results <- result{i, r.analyseSafely(ctx, dumps[i])}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, i := range jobs {
			if ctx.Err() != nil {
				return
			}
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	analysed := map[int]bool{}
	for res := range results {
		rec := res.o.rec
		recs[res.i] = rec
		analysed[res.i] = true
		if res.o.remember {
			ix.Entries[rec.Key] = &indexEntry{Key: rec.Key, Record: rec, Tags: res.o.tags}
		}
		tags[rec] = res.o.tags
		state := "analysed"
		switch rec.Status {
		case StatusError:
			state = "failed"
		case StatusNoPool:
			state = "no pool data"
		}
		progress(rec, state)
	}
	for _, i := range jobs {
		if !analysed[i] {
			recs[i].Status, recs[i].Error = StatusError, "not analysed: the run was interrupted"
		}
	}

	sum.Counts.Analysed = len(analysed)
	for _, rec := range recs {
		sum.Counts.Dumps++
		switch {
		case rec.Status == StatusDuplicate:
			sum.Counts.Duplicates++
		case rec.Cached:
			sum.Counts.Skipped++
		}
		switch rec.Status {
		case StatusError:
			sum.Counts.Failed++
		case StatusNoPool:
			sum.Counts.NoPool++
		}
	}
	if len(ix.Entries) > 0 {
		if err := ix.save(r.opts.OutDir); err != nil {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s could not be saved (%v): a re-run will analyse everything again", IndexName, err))
		}
	}
	return recs, tags, ctx.Err()
}

// analyseSafely is analyse, with a failure of the reader in one dump
// turned into that dump's error instead of the end of the batch.
func (r *runner) analyseSafely(ctx context.Context, in *input) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			rec := newRecord(in)
			rec.Status = StatusError
			rec.Error = fmt.Sprintf("%s: internal error while reading this dump (please report it with the dump's header): %v", in.name(), p)
			o = outcome{rec: rec}
		}
	}()
	return r.analyse(ctx, in)
}

// summaryOrder lists the dumps by group, each by time, then the dumps no
// group holds (unreadable, duplicates) in input order.
func summaryOrder(groups []*Group, recs []*DumpRecord) []*DumpRecord {
	var out []*DumpRecord
	in := map[*DumpRecord]bool{}
	for _, g := range groups {
		for _, d := range g.Dumps {
			out = append(out, d)
			in[d] = true
		}
	}
	var rest []*DumpRecord
	for _, d := range recs {
		if !in[d] {
			rest = append(rest, d)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].Status == StatusError && rest[j].Status != StatusError })
	return append(out, rest...)
}
