package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/poolblame/poolblame/internal/outfile"
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
	spool   *spool         // where decompressed dumps are put
	out     *outfile.Guard // every file written goes through it

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
		why := ""
		if len(found.unusable) > 0 {
			why = "; not read: " + strings.Join(found.unusable, "; ")
		}
		return nil, fmt.Errorf("%s: no crash dump, pool snapshot or HTTP.SYS log found (%d other files ignored%s)",
			strings.Join(opts.Paths, ", "), found.ignored, why)
	}
	r := &runner{opts: opts, formats: opts.Formats, out: outputGuard(opts, found.inputs)}
	// The files every run writes: refused before any work, not after it.
	for _, name := range []string{SummaryText, SummaryJSONL, SummaryHTML, IndexName} {
		if err := r.out.Check(filepath.Join(opts.OutDir, name)); err != nil {
			return nil, fmt.Errorf("output folder: %w", err)
		}
	}
	if len(r.formats) == 0 {
		r.formats = DefaultFormats
	}
	sum := &Summary{Generated: opts.Now, OutDir: opts.OutDir}
	sum.Counts.Ignored = found.ignored
	for _, u := range found.unusable {
		sum.Notes = append(sum.Notes, "not read: "+u)
	}

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
		tmp, release, cleared, err := newRunTemp(opts.TempDir)
		for _, c := range cleared {
			sum.Notes = append(sum.Notes, fmt.Sprintf("removed %s, the temporary folder of an earlier run that was killed", c))
		}
		if err != nil {
			return nil, fmt.Errorf("temporary folder: %w", err)
		}
		defer release()
		r.spool = &spool{dir: tmp, disk: newDiskBudget(tmp), mem: newMemBudget(opts.MemoryBudget)}
		if opts.TuneGC {
			var decompress int64
			if hasCompressed(dumps) {
				decompress = r.spool.mem.budget
			}
			defer tuneGC(memoryLimit(workers, decompress))()
		}
	}
	var recs []*DumpRecord
	var tags map[*DumpRecord]keptTags
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
	if err := writeSummary(sum, r.out); err != nil {
		return sum, err
	}
	if _, err := os.Stat(filepath.Join(opts.OutDir, IndexName)); errors.Is(err, os.ErrNotExist) {
		// No dumps: an empty index still marks the folder as the tool's.
		ix := &index{Schema: indexSchema, Settings: settingsOf(opts), Entries: map[string]*indexEntry{}}
		if err := ix.save(opts.OutDir, r.out); err != nil {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s could not be saved: %v", IndexName, err))
		}
	}
	return sum, runErr
}

// hasCompressed reports a dump that is decompressed to be read.
func hasCompressed(dumps []*input) bool {
	for _, in := range dumps {
		if in.container != "" {
			return true
		}
	}
	return false
}

// outputGuard protects the run's inputs (dumps, archives, snapshots,
// logs, driver folders) from its outputs, and files in OutDir that no
// run wrote unless opts.Force.
func outputGuard(opts Options, inputs []*input) *outfile.Guard {
	g := &outfile.Guard{Force: opts.Force}
	for _, in := range inputs {
		g.AddInput(in.path)
	}
	for _, p := range opts.HTTPErr {
		g.AddInput(p)
	}
	if opts.Pooltag != nil && opts.Pooltag.Path != "" {
		g.AddInput(opts.Pooltag.Path)
	}
	for _, d := range opts.DriverDirs {
		g.AddInputDir(d)
	}
	if _, err := os.Stat(filepath.Join(opts.OutDir, IndexName)); err == nil {
		g.AddOwnedDir(opts.OutDir) // an earlier run's folder: its outputs are replaced
	}
	return g
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
func (r *runner) runDumps(ctx context.Context, dumps []*input, sum *Summary) ([]*DumpRecord, map[*DumpRecord]keptTags, error) {
	d := newDumpRun(r, dumps, sum)
	d.triage()
	d.dispatch(ctx)
	d.finish()
	return d.recs, d.tags, ctx.Err()
}

// dumpRun is one pass over a run's dumps. It alone owns the records, the
// tags kept for trends, the index and the queue; the workers only read
// their input and hand back an outcome, so nothing here is shared.
type dumpRun struct {
	r       *runner
	dumps   []*input
	sum     *Summary
	ix      *index
	formats []string // the report formats an index entry must have

	recs []*DumpRecord            // per input, in input order
	tags map[*DumpRecord]keptTags // the tags each record keeps for trends
	done int                      // dumps reported to Progress

	// A dump whose key was seen waits: it is a duplicate only if the
	// first copy is read; if that copy fails (a damaged archive), the
	// next copy is analysed in its place.
	firstByKey map[string]*DumpRecord
	pending    map[string][]int // key -> later copies, in input order

	queue    []int        // inputs still to send to a worker
	queued   map[int]bool // sent to a worker
	analysed map[int]bool // came back from a worker

	lastSave time.Time
	saveTook time.Duration // how long the last save took
	saveErr  error
}

func newDumpRun(r *runner, dumps []*input, sum *Summary) *dumpRun {
	ix, note := loadIndex(r.opts.OutDir, settingsOf(r.opts))
	if note != "" {
		sum.Notes = append(sum.Notes, note)
	}
	formats := make([]string, len(r.formats))
	for i, f := range r.formats {
		formats[i] = f.String()
	}
	return &dumpRun{r: r, dumps: dumps, sum: sum, ix: ix, formats: formats,
		recs: make([]*DumpRecord, len(dumps)), tags: map[*DumpRecord]keptTags{},
		firstByKey: map[string]*DumpRecord{}, pending: map[string][]int{},
		queued: map[int]bool{}, analysed: map[int]bool{}}
}

// progress reports one more dump settled.
func (d *dumpRun) progress(rec *DumpRecord, state string) {
	d.done++
	if d.r.opts.Progress == nil {
		return
	}
	p := Progress{Done: d.done, Total: len(d.dumps), Item: rec.Name(), State: state}
	if rec.Error != "" && state == "failed" {
		p.Err = errors.New(rec.Error)
	}
	d.r.opts.Progress(p)
}

// triage settles the dumps that need no work (known unreadable, already
// analysed, later copies of a dump) and queues the rest.
func (d *dumpRun) triage() {
	for i, in := range d.dumps {
		rec := newRecord(in)
		d.recs[i] = rec
		first := d.firstByKey[in.key]
		switch {
		case in.err != nil:
			rec.Status, rec.Error = StatusError, in.err.Error()
			d.progress(rec, "failed")
		case first != nil && !(first.Cached && first.Status == StatusError):
			rec.Status = StatusDuplicate
			d.pending[in.key] = append(d.pending[in.key], i)
		case first != nil: // the index remembers the first copy failing: read this one
			d.firstByKey[in.key] = rec
			d.queue = append(d.queue, i)
		default:
			d.firstByKey[in.key] = rec
			if !d.fromIndex(i, rec) {
				d.queue = append(d.queue, i)
			}
		}
	}
}

// fromIndex takes dump i's record from the index when it can stand for a
// new analysis, and says whether it did.
func (d *dumpRun) fromIndex(i int, rec *DumpRecord) bool {
	e, ok := d.ix.lookup(rec.Key, d.r.opts.OutDir, d.formats)
	if !ok {
		return false
	}
	c := *e.Record
	c.Path, c.Member, c.Container, c.Folder, c.Cached = rec.Path, rec.Member, rec.Container, rec.Folder, true
	c.Group, c.Boot = "", 0
	restoreFacts(&c)
	d.recs[i] = &c
	d.firstByKey[rec.Key] = &c
	d.tags[&c] = e.Tags
	d.progress(&c, "skipped")
	return true
}

// result is a worker's outcome for input i.
type result struct {
	i int
	o outcome
}

// dispatch runs the queue through the workers until it is empty or ctx
// is cancelled, then waits for the dumps in flight.
func (d *dumpRun) dispatch(ctx context.Context) {
	work := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for w := 0; w < max(1, d.sum.Workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results <- result{i, d.r.analyseSafely(ctx, d.dumps[i])}
			}
		}()
	}
	inflight := 0
	for inflight > 0 || len(d.queue) > 0 && ctx.Err() == nil {
		var send chan int
		var next int
		if len(d.queue) > 0 && ctx.Err() == nil {
			send, next = work, d.queue[0]
		}
		var cancelled <-chan struct{}
		if ctx.Err() == nil {
			cancelled = ctx.Done()
		}
		select {
		case send <- next:
			d.queue = d.queue[1:]
			d.queued[next] = true
			inflight++
		case <-cancelled:
		case res := <-results:
			inflight--
			d.settle(res)
		}
	}
	close(work)
	wg.Wait()
}

// settle takes in one worker's outcome: the record, its tags, the index
// entry and, when the dump failed, the next copy of it in its place.
func (d *dumpRun) settle(res result) {
	rec := res.o.rec
	d.recs[res.i] = rec
	d.analysed[res.i] = true
	if res.o.remember {
		d.remember(rec, res.o.tags)
	}
	d.tags[rec] = res.o.tags
	state := "analysed"
	switch rec.Status {
	case StatusError:
		state = "failed"
		key := d.dumps[res.i].key
		if p := d.pending[key]; len(p) > 0 { // the next copy stands in for this one
			d.pending[key] = p[1:]
			d.recs[p[0]] = newRecord(d.dumps[p[0]])
			d.firstByKey[key] = d.recs[p[0]]
			d.queue = append(d.queue, p[0])
		}
	case StatusNoPool:
		state = "no pool data"
	}
	d.progress(rec, state)
}

// remember puts a result in the index. The index is saved as results
// arrive (atomically), so a run that is killed keeps what it finished:
// at most once a second, and never more often than ten times the last
// save took, so that saving a large index stays a tenth of the run at
// most and the cost per dump does not grow with the run.
func (d *dumpRun) remember(rec *DumpRecord, tags keptTags) {
	d.ix.Entries[rec.Key] = &indexEntry{Key: rec.Key, Record: rec, Tags: tags}
	if time.Since(d.lastSave) < max(time.Second, 10*d.saveTook) {
		return
	}
	start := time.Now()
	d.saveErr = d.ix.save(d.r.opts.OutDir, d.r.out)
	d.lastSave = time.Now()
	d.saveTook = d.lastSave.Sub(start)
}

// finish marks what an interruption left undone, settles the duplicates,
// counts the dumps and saves the index.
func (d *dumpRun) finish() {
	const interrupted = "not analysed: the run was interrupted"
	for i := range d.queued {
		if !d.analysed[i] {
			d.recs[i].Status, d.recs[i].Error = StatusError, interrupted
		}
	}
	for _, i := range d.queue {
		d.recs[i].Status, d.recs[i].Error = StatusError, interrupted
	}
	for key, p := range d.pending {
		for _, i := range p {
			d.recs[i].Error = "the same dump as " + d.firstByKey[key].Name()
			d.progress(d.recs[i], "skipped")
		}
	}
	countDumps(&d.sum.Counts, d.recs)
	// Saved even when empty: it marks the folder as the tool's, whose
	// files a later run may replace.
	if d.saveErr == nil {
		d.saveErr = d.ix.save(d.r.opts.OutDir, d.r.out)
	}
	if d.saveErr != nil {
		d.sum.Notes = append(d.sum.Notes, fmt.Sprintf("%s could not be saved (%v): a re-run will analyse everything again", IndexName, d.saveErr))
	}
}

// countDumps adds the records to the counts so that they add up: every
// dump is analysed, skipped (taken from the index), failed or a
// duplicate; no-pool dumps are among the first two.
func countDumps(c *Counts, recs []*DumpRecord) {
	for _, rec := range recs {
		c.Dumps++
		switch {
		case rec.Status == StatusDuplicate:
			c.Duplicates++
		case rec.Status == StatusError:
			c.Failed++
		case rec.Cached:
			c.Skipped++
		default:
			c.Analysed++
		}
		if rec.Status == StatusNoPool {
			c.NoPool++
		}
	}
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
