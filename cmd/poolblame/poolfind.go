package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/report"
)

// runPoolfind is !poolfind: every block of the given tags, from one pass
// over the dump's pages and the big page table.
func runPoolfind(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("poolfind", "DUMP TAG... [--json|--csv] [--free] [--contents] [--check]", stderr)
	asJSON := fs.Bool("json", false, "write JSON")
	asCSV := fs.Bool("csv", false, "write CSV")
	withFree := fs.Bool("free", false, "list freed blocks too (classic pool)")
	contents := fs.Bool("contents", false, "say what the blocks of each tag hold (text and JSON)")
	check := fs.Bool("check", false, "compare the blocks found with the pool tracker's counts")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() < 2 || (*asJSON && *asCSV) {
		fs.Usage()
		return exitError
	}
	m, err := poolscan.NewMatcher(fs.Args()[1:]...)
	if err != nil {
		return fail(stderr, err)
	}
	f, closeDump, err := openDump(fs.Arg(0))
	if err != nil {
		return fail(stderr, err)
	}
	defer closeDump()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := poolscan.Options{Tags: m}
	line := newStatusLine(stderr)
	if line != nil {
		start := time.Now()
		opt.Progress = func(done, total uint64) {
			line.show(fmt.Sprintf("[%5.1fs] scanning pages: %d%%", time.Since(start).Seconds(), 100*done/max(total, 1)))
		}
	}
	r, err := poolscan.Scan(ctx, f, opt)
	if line != nil {
		line.clear()
	}
	if err != nil {
		fmt.Fprintf(stderr, "poolblame: %s: %v\n", f.Name(), err)
		if errors.Is(err, poolscan.ErrNoMemory) {
			return exitNoPool
		}
		return exitError
	}
	var blocks []poolscan.Block
	for _, b := range r.Blocks {
		if !b.Free || *withFree {
			blocks = append(blocks, b)
		}
	}
	tags := foundTags(r)
	var checks []poolscan.Check
	if *check {
		if tr, err := pool.Analyze(f); err != nil {
			r.Notes = append(r.Notes, "tracker not read, no cross-check: "+err.Error())
		} else {
			var us []pool.Usage
			for _, u := range tr.Usages {
				if m.Match(u.Tag) {
					us = append(us, u)
				}
			}
			checks = poolscan.CrossCheck(r, us, tr.Limits.NonPagedUsed+tr.Limits.PagedUsed)
		}
	}
	var cts []*poolscan.Contents
	if *contents {
		mods, _ := f.Modules()
		for _, t := range tags {
			cts = append(cts, poolscan.ReadContents(f, r, t, poolscan.ContentOptions{Modules: mods}))
		}
	}
	switch {
	case *asJSON:
		err = writePoolfindJSON(stdout, f, r, blocks, checks, cts)
	case *asCSV:
		err = writePoolfindCSV(stdout, blocks)
	default:
		err = writePoolfindText(stdout, r, blocks, tags, checks, cts)
	}
	if err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

// foundTags lists the tags with anything found, in tag order.
func foundTags(r *poolscan.Result) []pooltag.Tag {
	var out []pooltag.Tag
	for t := range r.Tags {
		out = append(out, t)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Less(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func blockStatus(b poolscan.Block) string {
	if b.Free {
		return "free"
	}
	return "in use"
}

func addrString(b poolscan.Block) string {
	if b.Addr == 0 {
		return fmt.Sprintf("phys:%x", b.Phys)
	}
	return fmt.Sprintf("%x", b.Addr)
}

func writePoolfindText(w io.Writer, r *poolscan.Result, blocks []poolscan.Block, tags []pooltag.Tag, checks []poolscan.Check, cts []*poolscan.Contents) error {
	ew := &errWriter{w: w}
	ew.printf("Scanning %s pool (one pass): %s\n\n", r.Mode, report.ScanPagesSummary(r.Pages))
	ew.printf("%-18s %-4s %10s  %-16s %-4s %-7s %s\n", "Address", "Tag", "Size", "Pool", "Kind", "Status", "State")
	for _, b := range blocks {
		ew.printf("%-18s %-4s %#10x  %-16s %-4s %-7s %s\n", addrString(b), b.Tag, b.Size, b.Pool(), b.Kind, blockStatus(b), b.State)
	}
	ew.printf("\n")
	for _, t := range tags {
		c := r.Count(t)
		ew.printf("%-4s %d in use (%d nonpaged, %d paged, %d session, %d big of which %d in pages the dump lacks); %d free; %d on unmapped pages; %d unconfirmed headers\n",
			t, c.InUse(), c.NonPaged, c.Paged, c.Session, c.Big, c.BigAbsent, c.Free, c.Unmapped, c.Unconfirmed)
	}
	if len(tags) == 0 {
		ew.printf("no block of these tags was found\n")
	}
	if r.Big.Addr != 0 {
		ew.printf("big page table at %#x (variable at %#x): %d entries, %d used, layout %s\n", r.Big.Addr, r.Big.Var, r.Big.Size, r.Big.Used, r.Big.Layout)
	}
	for _, k := range checks {
		ew.printf("check %s: %s\n", k.Tag.Trimmed(), k.Text)
	}
	for _, n := range r.Notes {
		ew.printf("note: %s\n", n)
	}
	for _, c := range cts {
		ew.printf("\n")
		report.WriteScanContents(ew, c, "")
	}
	return ew.err
}

// errWriter keeps the first write error, so a long listing checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

type blockJSON struct {
	Address string `json:"address"`
	Phys    string `json:"physical,omitempty"`
	Tag     string `json:"tag"`
	Size    uint64 `json:"size"`
	Pool    string `json:"pool"`
	Kind    string `json:"kind"`
	Free    bool   `json:"free"`
	State   string `json:"state"`
}

type checkJSON struct {
	Tag       string             `json:"tag"`
	Tracker   int64              `json:"tracker"`
	Found     int64              `json:"found"`
	Agreement poolscan.Agreement `json:"agreement"`
	Text      string             `json:"text"`
}

func writePoolfindJSON(w io.Writer, f *dumpfile.File, r *poolscan.Result, blocks []poolscan.Block, checks []poolscan.Check, cts []*poolscan.Contents) error {
	out := struct {
		Dump     string               `json:"dump"`
		Mode     string               `json:"mode"`
		Pages    poolscan.PageStats   `json:"pages"`
		Big      poolscan.BigTable    `json:"big_page_table"`
		Blocks   []blockJSON          `json:"blocks"`
		Checks   []checkJSON          `json:"checks,omitempty"`
		Contents []*poolscan.Contents `json:"contents,omitempty"`
		Notes    []string             `json:"notes,omitempty"`
	}{Dump: f.Name(), Mode: r.Mode, Pages: r.Pages, Big: r.Big, Blocks: []blockJSON{}, Contents: cts, Notes: r.Notes}
	for _, b := range blocks {
		j := blockJSON{Address: fmt.Sprintf("%#x", b.Addr), Tag: b.Tag.String(), Size: b.Size, Pool: b.Pool(), Kind: b.Kind.String(), Free: b.Free, State: b.State.String()}
		if b.Phys != 0 {
			j.Phys = fmt.Sprintf("%#x", b.Phys)
		}
		out.Blocks = append(out.Blocks, j)
	}
	for _, k := range checks {
		out.Checks = append(out.Checks, checkJSON{k.Tag.String(), k.Tracker, k.Found, k.Agreement, k.Text})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writePoolfindCSV(w io.Writer, blocks []poolscan.Block) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"address", "tag", "size", "pool", "kind", "status", "state"}); err != nil {
		return err
	}
	for _, b := range blocks {
		if err := cw.Write([]string{"0x" + addrString(b), report.CSVCell(strings.TrimRight(b.Tag.String(), " ")), fmt.Sprint(b.Size), b.Pool(), b.Kind.String(), blockStatus(b), b.State.String()}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
