package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/poolblame/poolblame/batch"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/units"
)

// runBatch analyses many dumps and snapshots and finds the tags that grow.
func runBatch(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("batch", "PATH... [-j N] [-o DIR] [--drivers DIR]... [--pooltag FILE] [--group-by auto|folder|none] [--format FORMATS] [--httperr FILE]...", stderr)
	jobs := fs.IntP("jobs", "j", 0, "dumps analysed at once (default: the cores, fewer when memory is short)")
	out := fs.StringP("output", "o", "poolblame-batch", "folder for the reports, the summary and index.json")
	var drivers, httperr []string
	fs.StringArrayVar(&drivers, "drivers", nil, "folder of driver files to search for tag owners (repeatable)")
	pooltagPath := fs.String("pooltag", "", "pooltag.txt for descriptions (default: the Debugging Tools' copy, if installed)")
	groupBy := fs.String("group-by", "auto", "auto (dump facts, split by folder when folders overlap in time), folder or none")
	formats := fs.String("format", "html,json,md", "report formats per dump, comma-separated: text, json, md, csv, html")
	fs.StringArrayVar(&httperr, "httperr", nil, "HTTP.SYS error log whose refused connections go onto the timeline (repeatable)")
	top := fs.Int("top", 10, "leading tags per pool in each report")
	noImages := fs.Bool("no-dump-images", false, "do not scan the driver images inside the dumps")
	noCache := fs.Bool("no-cache", false, "scan every driver file again instead of reusing earlier scans kept in the user's cache folder")
	force := fs.Bool("force", false, "replace files in -o's folder that no run of poolblame wrote (inputs never are)")
	tmp := fs.String("temp", "", "folder for decompressed dumps (default: the system's temporary folder)")
	var timeArgs []string
	fs.StringArrayVar(&timeArgs, "time", nil, "FILE=TIME: when a snapshot file was captured (2005-09-02 18:59, UTC unless a zone is given); repeatable")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintln(stderr, "exit status: 0 every input read, 1 some inputs could not be analysed (listed in the summary),\n2 bad usage or nothing to do, 3 no dump or snapshot held pool data")
	}
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() == 0 && len(httperr) == 0 {
		fs.Usage()
		return exitError
	}
	gb, err := batch.ParseGroupBy(*groupBy)
	if err != nil {
		return fail(stderr, err)
	}
	ff, err := batch.ParseFormats(*formats)
	if err != nil {
		return fail(stderr, err)
	}
	if *jobs < 0 {
		return fail(stderr, fmt.Errorf("-j %d: want a positive number of workers", *jobs))
	}
	for _, d := range drivers {
		if fi, err := os.Stat(d); err != nil {
			return fail(stderr, fmt.Errorf("drivers folder: %w", err))
		} else if !fi.IsDir() {
			return fail(stderr, fmt.Errorf("drivers folder %s: not a directory", d))
		}
	}
	db, err := loadPooltag(*pooltagPath)
	if err != nil {
		return fail(stderr, err)
	}
	times, err := parseTimes(timeArgs)
	if err != nil {
		return fail(stderr, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := batch.Options{Paths: fs.Args(), OutDir: *out, Force: *force, HTTPErr: httperr, Workers: *jobs, TempDir: *tmp,
		Formats: ff, DriverDirs: drivers, Pooltag: db, Top: *top, NoDumpImages: *noImages, GroupBy: gb,
		Times: times, Now: time.Now().UTC(), TuneGC: true}
	if len(drivers) > 0 {
		opts.DriverCache = openDriverCache(*noCache, stderr)
	}
	bar := newStatusLine(stderr)
	opts.Progress = func(p batch.Progress) { showProgress(stderr, p, bar) }
	sum, err := batch.Run(ctx, opts)
	if bar != nil {
		bar.clear()
	}
	if sum == nil {
		return fail(stderr, err)
	}
	writeBatchResult(stdout, sum)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "poolblame: interrupted; the summary covers the dumps analysed so far\n")
		return exitError
	case err != nil:
		return fail(stderr, err)
	case sum.Counts.Failed > 0, sum.Counts.SnapshotsFailed > 0:
		return exitSomeFailed
	case !anyPoolData(sum):
		fmt.Fprintln(stderr, "poolblame: no dump or snapshot held pool data")
		return exitNoPool
	}
	return exitOK
}

// parseTimes reads --time FILE=TIME values.
func parseTimes(args []string) (map[string]time.Time, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := make(map[string]time.Time, len(args))
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--time %q: want FILE=TIME, naming the snapshot file the time belongs to", a)
		}
		t, err := snapshot.ParseTime(value)
		if err != nil {
			return nil, fmt.Errorf("--time %s: %w", name, err)
		}
		out[strings.TrimSpace(name)] = t
	}
	return out, nil
}

// showProgress draws a bar on a terminal, else one line per input.
func showProgress(w io.Writer, p batch.Progress, bar *statusLine) {
	if bar == nil {
		line := fmt.Sprintf("poolblame: [%d/%d] %s: %s", p.Done, p.Total, p.Item, p.State)
		if p.Err != nil {
			line += ": " + p.Err.Error()
		}
		fmt.Fprintln(w, line)
		return
	}
	const width = 30
	filled := width * p.Done / max(1, p.Total)
	name := p.Item
	if r := []rune(name); len(r) > 40 {
		name = "..." + string(r[len(r)-37:])
	}
	bar.show(fmt.Sprintf("[%s%s] %d/%d %s (%s)", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.Done, p.Total, name, p.State))
}

func anyPoolData(s *batch.Summary) bool {
	for _, d := range s.Dumps {
		if d.Status == batch.StatusOK || d.Status == batch.StatusPartial {
			return true
		}
	}
	return len(s.Snapshots) > 0 || len(s.CounterLogs) > 0
}

// writeBatchResult prints the counts, the growing tags and where the
// summary is.
func writeBatchResult(w io.Writer, s *batch.Summary) {
	fmt.Fprintln(w, s.CountsLine())
	for _, g := range s.Groups {
		for _, t := range g.Flagged() {
			fmt.Fprintf(w, "%s %s: %s %s grows %s", g.ID, g.Name, t.Tag, t.Pool, units.PerDay(max(0, t.Growth)))
			if len(t.Drivers) > 0 {
				fmt.Fprintf(w, " (%s)", strings.Join(t.Drivers, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	for _, se := range s.Snapshots {
		rate := units.PerDay
		if se.PerStep {
			rate = units.PerSnapshot
		}
		for _, t := range se.Flagged() {
			fmt.Fprintf(w, "%s %s: %s %s grows %s", se.ID, se.Name, t.Tag, t.Pool, rate(max(0, t.Growth)))
			if len(t.Drivers) > 0 {
				fmt.Fprintf(w, " (%s)", strings.Join(t.Drivers, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	for _, l := range s.CounterLogs {
		for _, c := range l.Flagged() {
			fmt.Fprintf(w, "%s %s: %s only grows, %s\n", l.ID, l.Machine, c.Counter, c.Rate())
		}
	}
	fmt.Fprintf(w, "summary: %s (also %s, %s)\n", filepath.Join(s.OutDir, batch.SummaryText), batch.SummaryHTML, batch.SummaryJSONL)
}
