package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/outfile"
	"github.com/poolblame/poolblame/report"
)

// runReport is the main job: one dump in, one culprit report out.
func runReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("[report]", "DUMP [--drivers DIR]... [--format text|json|markdown|csv|html] [-o FILE]", stderr)
	var drivers []string
	fs.StringArrayVar(&drivers, "drivers", nil, "folder of driver files to search for tag owners (repeatable)")
	format := fs.String("format", "", "text, json, markdown, csv or html (default: from -o's extension, else text)")
	out := fs.StringP("output", "o", "", "write the report to this file")
	top := fs.Int("top", 10, "leading tags per pool")
	thirdParty := fs.Bool("third-party", false, "hide tags whose only candidates are Microsoft drivers")
	pooltagPath := fs.String("pooltag", "", "pooltag.txt for descriptions (default: the Debugging Tools' copy, if installed)")
	noImages := fs.Bool("no-dump-images", false, "do not scan the driver images inside the dump")
	scan := fs.Bool("scan", true, "scan the pool itself (one pass over the dump; --scan=false skips it): check the tracker's counts against the blocks found and show what the leading tags' blocks hold; a dump without pool pages says so without lowering the confidence")
	colorMode := fs.String("color", "auto", "auto, always or never (NO_COLOR is honoured)")
	force := fs.Bool("force", false, "let -o replace an existing file this run did not write (never an input)")
	snapTime := fs.String("time", "", "for a pool snapshot without a time of its own: when it was captured (2005-09-02 18:59, UTC unless a zone is given)")
	noCache := fs.Bool("no-cache", false, "scan every driver file again instead of reusing earlier scans kept in the user's cache folder")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError
	}
	ff, err := chooseFormat(*format, *out)
	if err != nil {
		return fail(stderr, err)
	}
	db, err := loadPooltag(*pooltagPath)
	if err != nil {
		return fail(stderr, err)
	}
	for _, d := range drivers {
		if fi, err := os.Stat(d); err != nil {
			return fail(stderr, fmt.Errorf("drivers folder: %w", err))
		} else if !fi.IsDir() {
			return fail(stderr, fmt.Errorf("drivers folder %s: not a directory", d))
		}
	}
	// -o never names evidence: checked before the work, and again when
	// the report is written.
	guard := &outfile.Guard{Force: *force}
	guard.AddInput(fs.Arg(0))
	if *pooltagPath != "" {
		guard.AddInput(*pooltagPath)
	}
	for _, d := range drivers {
		guard.AddInputDir(d)
	}
	if *out != "" {
		if err := guard.Check(*out); err != nil {
			return fail(stderr, fmt.Errorf("-o %w", err))
		}
	}
	snap, err := openSnapshot(fs.Arg(0), *snapTime, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	var f *dumpfile.File
	name := fs.Arg(0)
	if snap == nil {
		if *snapTime != "" {
			return fail(stderr, fmt.Errorf("--time is for pool snapshots; %s is a dump, whose header gives its time", name))
		}
		var closeDump func()
		if f, closeDump, err = openDump(name); err != nil {
			return fail(stderr, err)
		}
		defer closeDump()
		name = f.Name()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := report.Options{Top: *top, ThirdParty: *thirdParty, Pooltag: db, DriverDirs: drivers,
		NoDumpImages: *noImages, ScanPool: *scan, Now: time.Now().UTC()}
	if snap != nil && !fs.Changed("scan") {
		opts.ScanPool = false // a snapshot has no memory to scan: only when asked for by name
	}
	if len(drivers) > 0 {
		opts.DriverCache = openDriverCache(*noCache, stderr)
	}
	line := newStatusLine(stderr)
	if line != nil {
		start := time.Now()
		opts.Progress = func(step string) {
			line.show(fmt.Sprintf("[%5.1fs] %s...", time.Since(start).Seconds(), step))
		}
	}
	var r *report.Report
	if snap != nil {
		r, err = report.BuildSnapshot(ctx, snap, opts)
	} else {
		r, err = report.Build(ctx, f, opts)
	}
	if line != nil {
		line.clear()
	}
	if err != nil {
		return fail(stderr, err)
	}

	w := stdout
	var buf bytes.Buffer
	if *out != "" {
		w = &buf
	}
	col, err := useColor(*colorMode, w)
	if err != nil {
		return fail(stderr, err)
	}
	err = report.Render(w, r, ff, report.RenderOptions{Color: col && ff == report.Text})
	if err == nil && *out != "" {
		if err = guard.WriteFile(*out, buf.Bytes()); err != nil {
			err = fmt.Errorf("-o %w", err)
		}
	}
	if err != nil {
		return fail(stderr, err)
	}
	if r.Pool == nil {
		fmt.Fprintf(stderr, "poolblame: %s: no pool analysis possible: %s\n", name, r.PoolError)
		return exitNoPool
	}
	return exitOK
}

func chooseFormat(flag, out string) (report.Format, error) {
	if flag != "" {
		return report.ParseFormat(flag)
	}
	if out != "" {
		if f, ok := report.FormatFromPath(out); ok {
			return f, nil
		}
	}
	return report.Text, nil
}

// useColor decides on color: never when NO_COLOR is set (https://no-color.org)
// or the output is not a terminal, unless --color always.
func useColor(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if _, set := os.LookupEnv("NO_COLOR"); set {
			return false, nil
		}
		return terminalEscapes(w), nil
	}
	return false, fmt.Errorf("--color %q: want auto, always or never", mode)
}
