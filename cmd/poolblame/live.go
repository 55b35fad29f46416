package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/internal/outfile"
	"github.com/poolblame/poolblame/live"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/report"
	"github.com/poolblame/poolblame/units"
)

// liveSource is where samples come from: the kernel on Windows, built
// SYSTEM_POOLTAG buffers in tests.
type liveSource struct {
	sys live.System
	now func() time.Time
	// wait sleeps for d, returning false when ctx ends first.
	wait func(ctx context.Context, d time.Duration) bool
	host string
}

func runLive(args []string, stdout, stderr io.Writer) int {
	host, _ := os.Hostname()
	return runLiveFrom(liveSource{sys: live.Kernel{}, now: time.Now, wait: sleepCtx, host: host}, args, stdout, stderr)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// liveEnd is what the final report of a run needs.
type liveEnd struct {
	first, last *live.Sample
	samples     int
	growing     int // growing tags listed
	drivers     []string
	db          *pooltag.DB
	logPath     string
	host        string
	format      report.Format
	out         string // -o FILE; "" for stdout
	guard       *outfile.Guard
	color       string
	noCache     bool
	thirdParty  bool
}

func runLiveFrom(src liveSource, args []string, stdout, stderr io.Writer) int {
	o, st, ok := parseLive(args, stdout, stderr)
	if !ok {
		return st
	}
	var logf *os.File
	if o.end.logPath != "" {
		// Appended to, never truncated: a log may hold an earlier run.
		var err error
		if logf, err = os.OpenFile(o.end.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return fail(stderr, err)
		}
		defer logf.Close()
		o.end.guard.AddInput(o.end.logPath)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	first, last, samples, st := sampleLive(ctx, src, o, logf, stderr)
	if st != exitOK || first == nil || o.end.growing == 0 {
		return st
	}
	stop() // a second Ctrl-C during the report ends the program
	e := o.end
	e.first, e.last, e.samples, e.host = first, last, samples, src.host
	return liveReport(stdout, o.tw, stderr, e)
}

// liveOptions are live's flags, checked.
type liveOptions struct {
	interval time.Duration
	count    int
	key      live.SortKey
	top      int
	tw       io.Writer // where the tables go
	end      liveEnd   // the final report's settings
}

// parseLive reads and checks the flags, the drivers folders and -o before
// any sampling, not after an hour of it.
func parseLive(args []string, stdout, stderr io.Writer) (*liveOptions, int, bool) {
	fs := newFlags("live", "[-i INTERVAL] [-n COUNT] [--sort KEY] [--top N] [--log FILE] [--drivers DIR]... [--format text|json|markdown|csv|html] [-o FILE]", stderr)
	interval := fs.DurationP("interval", "i", 5*time.Second, "time between samples")
	count := fs.IntP("count", "n", 0, "samples to take (0: until Ctrl-C)")
	sortBy := fs.String("sort", "bytes", "table order: bytes, diff, allocs, frees, change, rate or tag")
	top := fs.Int("top", 30, "rows shown per sample (0: all)")
	logPath := fs.String("log", "", "append each sample to this file as poolmon /n text (for poolblame batch)")
	var drivers []string
	fs.StringArrayVar(&drivers, "drivers", nil, `folders of driver files for the final report (default: %SystemRoot%\System32\drivers)`)
	growing := fs.Int("report-top", 5, "growing tags listed at the end (0: no final report)")
	pooltagPath := fs.String("pooltag", "", "pooltag.txt for descriptions (default: the Debugging Tools' copy, if installed)")
	format := fs.String("format", "", "final report as text, json, markdown, csv or html (default: from -o's extension, else text); the tables go to stderr when stdout carries another format")
	out := fs.StringP("output", "o", "", "write the final report to this file")
	force := fs.Bool("force", false, "let -o replace an existing file this run did not write (never an input)")
	colorMode := fs.String("color", "auto", "auto, always or never (NO_COLOR is honoured)")
	thirdParty := fs.Bool("third-party", false, "final report: hide tags whose only candidates are Microsoft drivers")
	noCache := fs.Bool("no-cache", false, "scan every driver file again instead of reusing earlier scans kept in the user's cache folder")
	if st, ok := parseFlags(fs, args); !ok {
		return nil, st, false
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return nil, exitError, false
	}
	bad := func(err error) (*liveOptions, int, bool) { return nil, fail(stderr, err), false }
	key, err := live.ParseSortKey(*sortBy)
	if err != nil {
		return bad(err)
	}
	if *interval <= 0 || *count < 0 || *top < 0 || *growing < 0 {
		return bad(errors.New("live: --interval must be positive, --count, --top and --report-top not negative"))
	}
	ff, err := chooseFormat(*format, *out)
	if err != nil {
		return bad(err)
	}
	if *colorMode != "auto" && *colorMode != "always" && *colorMode != "never" {
		return bad(fmt.Errorf("--color %q: want auto, always or never", *colorMode))
	}
	db, err := loadPooltag(*pooltagPath)
	if err != nil {
		return bad(err)
	}
	if len(drivers) == 0 {
		if root := os.Getenv("SystemRoot"); root != "" {
			drivers = []string{filepath.Join(root, "System32", "drivers")}
		}
	}
	guard := &outfile.Guard{Force: *force}
	if *pooltagPath != "" {
		guard.AddInput(*pooltagPath)
	}
	for _, d := range drivers {
		if fi, err := os.Stat(d); err != nil {
			return bad(fmt.Errorf("drivers folder: %w", err))
		} else if !fi.IsDir() {
			return bad(fmt.Errorf("drivers folder %s: not a directory", d))
		}
		guard.AddInputDir(d)
	}
	if *out != "" {
		if *logPath != "" && filepath.Clean(*out) == filepath.Clean(*logPath) {
			return bad(fmt.Errorf("-o %s is also the --log file", *out))
		}
		if err := guard.Check(*out); err != nil {
			return bad(fmt.Errorf("-o %w", err))
		}
	}
	o := &liveOptions{interval: *interval, count: *count, key: key, top: *top, tw: stdout,
		end: liveEnd{growing: *growing, drivers: drivers, db: db, logPath: *logPath, format: ff, out: *out, guard: guard,
			color: *colorMode, noCache: *noCache, thirdParty: *thirdParty}}
	// The tables and the growing tags go where the report does not: a
	// JSON or HTML report on stdout is one document.
	if *out == "" && ff != report.Text {
		o.tw = stderr
	}
	return o, exitOK, true
}

// sampleLive takes the samples, showing each as a table and appending it
// to logf, until the count is reached, ctx ends or the counters can no
// longer be read. It returns the first and the last sample (nil when
// none was taken) and a status other than exitOK when it must stop.
func sampleLive(ctx context.Context, src liveSource, o *liveOptions, logf *os.File, stderr io.Writer) (first, prev *live.Sample, samples, status int) {
	redraw := terminalEscapes(o.tw)
	for o.count == 0 || samples < o.count {
		if samples > 0 && !src.wait(ctx, o.interval) {
			break
		}
		tags, err := live.Query(src.sys)
		if err != nil {
			if samples == 0 {
				return nil, nil, 0, fail(stderr, err)
			}
			fmt.Fprintf(stderr, "poolblame: live: sampling stopped: %v\n", err)
			break
		}
		cur := &live.Sample{Time: src.now(), Tags: tags}
		samples++
		if first == nil {
			first = cur
		}
		rows := live.Rows(first, prev, cur)
		live.Sort(rows, o.key)
		if o.top > 0 {
			rows = rows[:min(o.top, len(rows))]
		}
		if redraw {
			fmt.Fprint(o.tw, "\033[H\033[2J")
		} else if samples > 1 {
			fmt.Fprintln(o.tw)
		}
		if err := live.WriteTable(o.tw, rows, cur.Time, cur.Time.Sub(first.Time), samples); err != nil {
			return nil, nil, 0, fail(stderr, err)
		}
		if logf != nil {
			if err := live.WritePoolmonLog(logf, cur, src.host); err != nil {
				return nil, nil, 0, fail(stderr, fmt.Errorf("%s: %w", o.end.logPath, err))
			}
		}
		prev = cur
	}
	return first, prev, samples, exitOK
}

// liveReportTop is how many leading tags per pool the final report shows.
const liveReportTop = 10

// liveReport ends a live run: the tags that grew, fastest first, then the
// culprit report on the last sample, with each tag's growth measured
// since the first, and the drivers from the drivers folders (the
// machine's own by default). Growing tags the report does not show get
// their drivers listed beside them. The report goes to stdout or -o; the
// rest to tw.
func liveReport(stdout, tw, stderr io.Writer, e liveEnd) int {
	span := e.last.Time.Sub(e.first.Time)
	fmt.Fprintf(tw, "\nGROWING TAGS over %s (%d samples)\n", units.Uptime(span.Seconds()), e.samples)
	var grew []live.Row
	switch {
	case e.samples < 2 || span <= 0:
		fmt.Fprintln(tw, "  one sample: no growth measured (take more: --count, --interval)")
	default:
		if grew = live.Growing(live.Rows(e.first, nil, e.last), e.growing); len(grew) == 0 {
			fmt.Fprintln(tw, "  no tag's bytes grew between the first and the last sample")
		}
	}
	var growingTags []pooltag.Tag
	for _, r := range grew {
		fmt.Fprintf(tw, "  %-4s %-5s %12s/h  %s now, %s outstanding\n", r.Tag, map[bool]string{false: "Nonp", true: "Paged"}[r.Paged],
			units.BytesF(r.PerHour), units.Bytes(r.Bytes), units.Count(r.Diff))
		if !slices.Contains(growingTags, r.Tag) {
			growingTags = append(growingTags, r.Tag)
		}
	}
	if e.logPath != "" {
		fmt.Fprintf(tw, "  samples written to %s: poolblame batch %s shows the trend\n", e.logPath, e.logPath)
	}

	source := "live sampling"
	if e.host != "" {
		source += " of " + e.host
	}
	snap := live.Snapshot(e.first, e.last, source)
	opts := report.Options{Top: liveReportTop, ThirdParty: e.thirdParty, Pooltag: e.db, DriverDirs: e.drivers, Now: time.Now().UTC()}
	if len(e.drivers) > 0 {
		// One index serves the report's leading tags and the growing ones.
		tags := slices.Clone(growingTags)
		for _, key := range []pool.SortKey{pool.SortNonPaged, pool.SortPaged} {
			for _, u := range pool.Select(snap.Usages, pool.Selection{Sort: key, Top: liveReportTop}) {
				if !slices.Contains(tags, u.Tag) {
					tags = append(tags, u.Tag)
				}
			}
		}
		cat, err := pe.Index(context.Background(), e.drivers, pe.IndexOptions{Tags: tags, Cache: openDriverCache(e.noCache, stderr)})
		if err != nil {
			return fail(stderr, err)
		}
		opts.Catalog = cat
	}
	r, err := report.BuildSnapshot(context.Background(), snap, opts)
	if err != nil {
		return fail(stderr, err)
	}

	if others := notShown(growingTags, r); len(others) > 0 {
		switch {
		case opts.Catalog == nil:
			fmt.Fprintln(tw, "\nNo drivers folder: give --drivers DIR to name the drivers that use these tags.")
		default:
			res := tagResults{Files: opts.Catalog.Files, Drivers: len(opts.Catalog.Drivers)}
			res.Tags, _ = lookupTags(&analysis.Evidence{Folder: opts.Catalog}, e.db, others)
			if e.db != nil {
				res.Pooltag = e.db.Path
			}
			fmt.Fprintf(tw, "\nDRIVERS USING THE GROWING TAGS THE REPORT DOES NOT LIST (%s)\n", strings.Join(e.drivers, ", "))
			writeTagText(tw, res)
		}
	}

	w := stdout
	var buf bytes.Buffer
	if e.out != "" {
		w = &buf
	} else if e.format == report.Text {
		fmt.Fprintln(w)
	}
	col, err := useColor(e.color, w)
	if err != nil {
		return fail(stderr, err)
	}
	err = report.Render(w, r, e.format, report.RenderOptions{Color: col && e.format == report.Text})
	if err == nil && e.out != "" {
		if err = e.guard.WriteFile(e.out, buf.Bytes()); err != nil {
			err = fmt.Errorf("-o %w", err)
		} else {
			fmt.Fprintf(tw, "\nReport written to %s\n", e.out)
		}
	}
	if err != nil {
		return fail(stderr, err)
	}
	if r.Pool == nil {
		fmt.Fprintf(stderr, "poolblame: live: no pool analysis possible: %s\n", r.PoolError)
		return exitNoPool
	}
	return exitOK
}

// notShown is the tags of tags that the report's leading tables do not
// list.
func notShown(tags []pooltag.Tag, r *report.Report) []pooltag.Tag {
	shown := map[string]bool{}
	for _, row := range append(slices.Clone(r.LeadingNonPaged), r.LeadingPaged...) {
		shown[row.Tag] = true
	}
	var out []pooltag.Tag
	for _, t := range tags {
		if !shown[t.String()] {
			out = append(out, t)
		}
	}
	return out
}
