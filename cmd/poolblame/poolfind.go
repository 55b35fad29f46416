package main

import (
	"bufio"
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
	withFree := fs.Bool("free", false, "list freed blocks too (classic pool; segment-heap LFH blocks whose subsegment bitmap is read)")
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
	if !*contents {
		opt.Sample = -1 // only --contents reads blocks
	}
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
	// The listing is streamed from Walk, buffered: millions of rows cost
	// neither memory nor a write each.
	bw := bufio.NewWriterSize(stdout, 64<<10)
	ls := &listing{ctx: ctx, f: f, r: r, free: *withFree}
	switch {
	case *asJSON:
		err = writePoolfindJSON(bw, ls, checks, cts)
	case *asCSV:
		err = writePoolfindCSV(bw, ls)
	default:
		err = writePoolfindText(bw, ls, tags, checks, cts)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

// listing is the blocks of one scan, listed by Walk as they are written.
type listing struct {
	ctx  context.Context
	f    *dumpfile.File
	r    *poolscan.Result
	free bool // freed blocks too
}

// each calls fn for every block to list until fn returns an error.
func (l *listing) each(fn func(poolscan.Block) error) error {
	var werr error
	err := l.r.Walk(l.ctx, l.f, func(b poolscan.Block) bool {
		if b.Free && !l.free {
			return true
		}
		werr = fn(b)
		return werr == nil
	})
	if werr != nil {
		return werr
	}
	return err
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

func writePoolfindText(w io.Writer, ls *listing, tags []pooltag.Tag, checks []poolscan.Check, cts []*poolscan.Contents) error {
	r := ls.r
	ew := &report.ErrWriter{W: w}
	ew.Printf("Scanning %s pool (one pass): %s\n\n", r.Mode, report.ScanPagesSummary(r.Pages))
	ew.Printf("%-18s %-4s %10s  %-16s %-4s %-7s %s\n", "Address", "Tag", "Size", "Pool", "Kind", "Status", "State")
	if err := ls.each(func(b poolscan.Block) error {
		ew.Printf("%-18s %-4s %#10x  %-16s %-4s %-7s %s\n", addrString(b), b.Tag, b.Size, b.Pool(), b.Kind, blockStatus(b), b.State)
		return ew.Err
	}); err != nil {
		return err
	}
	ew.Printf("\n")
	for _, t := range tags {
		c := r.Count(t)
		ew.Printf("%-4s %d in use (%d nonpaged, %d paged, %d session, %d big of which %d in pages the dump lacks); %d free; %d on unmapped pages; %d unconfirmed headers",
			t, c.InUse(), c.NonPaged, c.Paged, c.Session, c.Big, c.BigAbsent, c.Free, c.Unmapped, c.Unconfirmed)
		if c.Unread > 0 {
			ew.Printf("; %d in use whose freed state the scan cannot read", c.Unread)
		}
		ew.Printf("\n")
	}
	if len(tags) == 0 {
		ew.Printf("no block of these tags was found\n")
	}
	if r.Big.Addr != 0 {
		ew.Printf("big page table at %#x (variable at %#x): %d entries, %d used, layout %s\n", r.Big.Addr, r.Big.Var, r.Big.Size, r.Big.Used, r.Big.Layout)
	}
	for _, k := range checks {
		ew.Printf("check %s: %s\n", k.Tag.Trimmed(), k.Text)
	}
	for _, n := range r.Notes {
		ew.Printf("note: %s\n", n)
	}
	for _, c := range cts {
		ew.Printf("\n")
		report.WriteScanContents(ew, c, "")
	}
	return ew.Err
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

// writePoolfindJSON writes one object, indented as encoding/json would,
// with the blocks array streamed in the middle.
func writePoolfindJSON(w io.Writer, ls *listing, checks []poolscan.Check, cts []*poolscan.Contents) error {
	r := ls.r
	ew := &report.ErrWriter{W: w}
	field := func(name string, v any, last bool) {
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil && ew.Err == nil {
			ew.Err = err
		}
		sep := ","
		if last {
			sep = ""
		}
		ew.Printf("  %q: %s%s\n", name, b, sep)
	}
	ew.Printf("{\n")
	field("dump", ls.f.Name(), false)
	field("mode", r.Mode, false)
	field("pages", r.Pages, false)
	field("big_page_table", r.Big, false)
	ew.Printf("  \"blocks\": [")
	n := 0
	if err := ls.each(func(b poolscan.Block) error {
		j := blockJSON{Address: fmt.Sprintf("%#x", b.Addr), Tag: b.Tag.String(), Size: b.Size, Pool: b.Pool(), Kind: b.Kind.String(), Free: b.Free, State: b.State.String()}
		if b.Phys != 0 {
			j.Phys = fmt.Sprintf("%#x", b.Phys)
		}
		raw, err := json.Marshal(j)
		if err != nil {
			return err
		}
		if n > 0 {
			ew.Printf(",")
		}
		n++
		ew.Printf("\n    %s", raw)
		return ew.Err
	}); err != nil {
		return err
	}
	if n > 0 {
		ew.Printf("\n  ")
	}
	var rest []jsonField
	if len(checks) > 0 {
		var cs []checkJSON
		for _, k := range checks {
			cs = append(cs, checkJSON{k.Tag.String(), k.Tracker, k.Found, k.Agreement, k.Text})
		}
		rest = append(rest, jsonField{"checks", cs})
	}
	if len(cts) > 0 {
		rest = append(rest, jsonField{"contents", cts})
	}
	if len(r.Notes) > 0 {
		rest = append(rest, jsonField{"notes", r.Notes})
	}
	ew.Printf("]")
	if len(rest) > 0 {
		ew.Printf(",")
	}
	ew.Printf("\n")
	for i, f := range rest {
		field(f.name, f.v, i == len(rest)-1)
	}
	ew.Printf("}\n")
	return ew.Err
}

// jsonField is one member of the object writePoolfindJSON writes.
type jsonField struct {
	name string
	v    any
}

func writePoolfindCSV(w io.Writer, ls *listing) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"address", "tag", "size", "pool", "kind", "status", "state"}); err != nil {
		return err
	}
	if err := ls.each(func(b poolscan.Block) error {
		return cw.Write([]string{"0x" + addrString(b), report.CSVCell(strings.TrimRight(b.Tag.String(), " ")), fmt.Sprint(b.Size), b.Pool(), b.Kind.String(), blockStatus(b), b.State.String()})
	}); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
