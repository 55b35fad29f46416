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

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/live"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// liveSource is where samples come from: the kernel on Windows, built
// counters in tests.
type liveSource struct {
	query func() ([]live.TagCounters, error)
	now   func() time.Time
	// wait sleeps for d, returning false when ctx ends first.
	wait func(ctx context.Context, d time.Duration) bool
	host string
}

func runLive(args []string, stdout, stderr io.Writer) int {
	host, _ := os.Hostname()
	return runLiveFrom(liveSource{query: live.Query, now: time.Now, wait: sleepCtx, host: host}, args, stdout, stderr)
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

func runLiveFrom(src liveSource, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("live", "[-i INTERVAL] [-n COUNT] [--sort KEY] [--top N] [--log FILE] [--drivers DIR]...", stderr)
	interval := fs.DurationP("interval", "i", 5*time.Second, "time between samples")
	count := fs.IntP("count", "n", 0, "samples to take (0: until Ctrl-C)")
	sortBy := fs.String("sort", "bytes", "table order: bytes, diff, allocs, frees, change, rate or tag")
	top := fs.Int("top", 30, "rows shown per sample (0: all)")
	logPath := fs.String("log", "", "append each sample to this file as poolmon /n text (for poolblame batch)")
	var drivers []string
	fs.StringArrayVar(&drivers, "drivers", nil, `folders of driver files for the final report (default: %SystemRoot%\System32\drivers)`)
	growing := fs.Int("report-top", 5, "growing tags whose drivers the final report looks up (0: no final report)")
	pooltagPath := fs.String("pooltag", "", "pooltag.txt for descriptions (default: the Debugging Tools' copy, if installed)")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitError
	}
	key, err := live.ParseSortKey(*sortBy)
	if err != nil {
		return fail(stderr, err)
	}
	if *interval <= 0 || *count < 0 || *top < 0 || *growing < 0 {
		return fail(stderr, errors.New("live: --interval must be positive, --count, --top and --report-top not negative"))
	}
	db, err := loadPooltag(*pooltagPath)
	if err != nil {
		return fail(stderr, err)
	}
	if len(drivers) == 0 {
		if root := os.Getenv("SystemRoot"); root != "" {
			drivers = []string{filepath.Join(root, "System32", "drivers")}
		}
	}
	var logf *os.File
	if *logPath != "" {
		// Appended to, never truncated: a log may hold an earlier run.
		if logf, err = os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return fail(stderr, err)
		}
		defer logf.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	redraw := terminalEscapes(stdout)
	var first, prev *live.Sample
	samples := 0
	for *count == 0 || samples < *count {
		if samples > 0 && !src.wait(ctx, *interval) {
			break
		}
		tags, err := src.query()
		if err != nil {
			if samples == 0 {
				return fail(stderr, err)
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
		live.Sort(rows, key)
		if *top > 0 {
			rows = rows[:min(*top, len(rows))]
		}
		if redraw {
			fmt.Fprint(stdout, "\033[H\033[2J")
		} else if samples > 1 {
			fmt.Fprintln(stdout)
		}
		if err := live.WriteTable(stdout, rows, cur.Time, cur.Time.Sub(first.Time), samples); err != nil {
			return fail(stderr, err)
		}
		if logf != nil {
			if err := live.WritePoolmonLog(logf, cur, src.host); err != nil {
				return fail(stderr, fmt.Errorf("%s: %w", *logPath, err))
			}
		}
		prev = cur
	}
	if first == nil || *growing == 0 {
		return exitOK
	}
	stop() // a second Ctrl-C during the report ends the program
	return liveReport(stdout, stderr, first, prev, samples, *growing, drivers, db, *logPath)
}

// liveReport ends a live run: the tags that grew, fastest first, and the
// drivers that use them, as `poolblame tag` shows them.
func liveReport(stdout, stderr io.Writer, first, last *live.Sample, samples, n int, drivers []string, db *pooltag.DB, logPath string) int {
	span := last.Time.Sub(first.Time)
	fmt.Fprintf(stdout, "\nGROWING TAGS over %s (%d samples)\n", units.Uptime(span.Seconds()), samples)
	if samples < 2 || span <= 0 {
		fmt.Fprintln(stdout, "  one sample: no growth measured (take more: --count, --interval)")
		return exitOK
	}
	grew := live.Growing(live.Rows(first, nil, last), n)
	if len(grew) == 0 {
		fmt.Fprintln(stdout, "  no tag's bytes grew between the first and the last sample")
		return exitOK
	}
	var tags []pooltag.Tag
	for _, r := range grew {
		fmt.Fprintf(stdout, "  %-4s %-5s %12s/h  %s now, %s outstanding\n", r.Tag, map[bool]string{false: "Nonp", true: "Paged"}[r.Paged],
			units.BytesF(r.PerHour), units.Bytes(r.Bytes), units.Count(r.Diff))
		if len(tags) == 0 || tags[len(tags)-1] != r.Tag {
			tags = append(tags, r.Tag)
		}
	}
	if logPath != "" {
		fmt.Fprintf(stdout, "  samples written to %s: poolblame batch %s shows the trend\n", logPath, logPath)
	}
	if len(drivers) == 0 {
		fmt.Fprintln(stdout, "\nNo drivers folder: give --drivers DIR to name the drivers that use these tags.")
		return exitOK
	}
	cat, err := pe.Index(context.Background(), drivers, pe.IndexOptions{Tags: tags, Cache: openDriverCache(false, stderr)})
	if err != nil {
		return fail(stderr, err)
	}
	res := tagResults{Files: cat.Files, Drivers: len(cat.Drivers)}
	res.Tags, _ = lookupTags(&analysis.Evidence{Folder: cat}, db, tags)
	if db != nil {
		res.Pooltag = db.Path
	}
	fmt.Fprintf(stdout, "\nDRIVERS USING THEM (%s)\n", strings.Join(drivers, ", "))
	writeTagText(stdout, res)
	return exitOK
}
