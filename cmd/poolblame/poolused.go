package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/report"
)

func runPoolused(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("poolused", "DUMP [--sort tag|nonpaged|paged|allocs|frees|diff] [--tag PATTERN] [--top N] [--verbose] [--session] [--json|--csv] [--pooltag FILE]", stderr)
	sortBy := fs.String("sort", "tag", "order: tag, nonpaged, paged, allocs, frees or diff")
	filter := fs.String("tag", "", "only tags matching this pattern (* and ? wildcards)")
	top := fs.Int("top", 0, "only the first N rows (0: all)")
	verbose := fs.BoolP("verbose", "v", false, "Allocs, Frees, Diff and Used for both pools")
	asJSON := fs.Bool("json", false, "write JSON")
	asCSV := fs.Bool("csv", false, "write CSV")
	pooltagPath := fs.String("pooltag", "", "pooltag.txt to describe tags (default: the Debugging Tools' copy, if installed)")
	session := fs.Bool("session", false, "the session pool of each Terminal Server session (!poolused 8) instead of the system pools")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 1 || (*asJSON && *asCSV) || (*session && *verbose) {
		fs.Usage()
		return exitError
	}
	key, err := pool.ParseSortKey(*sortBy)
	if err != nil {
		return fail(stderr, err)
	}
	db, err := loadPooltag(*pooltagPath)
	if err != nil {
		return fail(stderr, err)
	}
	f, closeDump, err := openDump(fs.Arg(0))
	if err != nil {
		return fail(stderr, err)
	}
	defer closeDump()
	sel := pool.Selection{Sort: key, Filter: *filter, Top: *top}
	if *session {
		return runSessionPoolused(stdout, stderr, f, sel, db, *asJSON, *asCSV)
	}
	r, err := pool.Analyze(f)
	if err != nil {
		fmt.Fprintf(stderr, "poolblame: %s: %v\n", f.Name(), err)
		if errors.Is(err, pool.ErrNoPoolData) {
			return exitNoPool
		}
		return exitError
	}
	switch {
	case *asJSON:
		err = writePoolusedJSON(stdout, f, r, sel, db)
	case *asCSV:
		err = writePoolusedCSV(stdout, r, sel, db)
	default:
		err = report.WritePoolused(stdout, r, report.PoolusedOptions{Selection: sel, Verbose: *verbose, Pooltag: db})
	}
	if err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

// loadPooltag reads the pooltag file named on the command line, else the
// Debugging Tools' copy when one is installed, else none.
func loadPooltag(explicit string) (*pooltag.DB, error) {
	path, err := pooltag.Find(explicit, os.Getenv)
	if err != nil || path == "" {
		return nil, err
	}
	return pooltag.Load(path)
}

type poolusedJSON struct {
	Dump       string     `json:"dump"`
	Build      uint32     `json:"build"`
	Arch       string     `json:"arch"`
	CPUs       int        `json:"cpus"`
	Layout     string     `json:"layout"`
	Table      string     `json:"table"`
	TableSize  int        `json:"table_size"`
	SizeSource string     `json:"table_size_source"`
	PerCPU     []string   `json:"per_cpu_tables,omitempty"`
	OneCPUOnly bool       `json:"one_cpu_only"`
	Partial    bool       `json:"partial"`
	Missing    []string   `json:"missing,omitempty"`
	Notes      []string   `json:"notes,omitempty"`
	Limits     limitsJSON `json:"limits"`
	Tags       []tagJSON  `json:"tags"`
}

type limitsJSON struct {
	NonPagedUsed   uint64  `json:"nonpaged_used"`
	NonPagedMax    uint64  `json:"nonpaged_max"`
	NonPagedPct    float64 `json:"nonpaged_percent"`
	PagedUsed      uint64  `json:"paged_used"`
	PagedMax       uint64  `json:"paged_max"`
	PagedPct       float64 `json:"paged_percent"`
	HTTPSysApplies bool    `json:"httpsys_threshold_applies"`
	HTTPSysBelow   bool    `json:"httpsys_below_threshold"`
}

type tagJSON struct {
	Tag            string `json:"tag"`
	NonPagedAllocs uint64 `json:"nonpaged_allocs"`
	NonPagedFrees  uint64 `json:"nonpaged_frees"`
	NonPagedDiff   int64  `json:"nonpaged_outstanding"`
	NonPagedBytes  uint64 `json:"nonpaged_bytes"`
	PagedAllocs    uint64 `json:"paged_allocs"`
	PagedFrees     uint64 `json:"paged_frees"`
	PagedDiff      int64  `json:"paged_outstanding"`
	PagedBytes     uint64 `json:"paged_bytes"`
	Description    string `json:"description,omitempty"`
	Binary         string `json:"binary,omitempty"`
}

func tagRow(u pool.Usage, db *pooltag.DB) tagJSON {
	t := tagJSON{Tag: u.Tag.String(), NonPagedAllocs: u.NonPagedAllocs, NonPagedFrees: u.NonPagedFrees,
		NonPagedDiff: u.NonPagedOutstanding(), NonPagedBytes: u.NonPagedBytes, PagedAllocs: u.PagedAllocs,
		PagedFrees: u.PagedFrees, PagedDiff: u.PagedOutstanding(), PagedBytes: u.PagedBytes}
	if db != nil {
		t.Description, t.Binary, _ = db.Describe(u.Tag)
	}
	return t
}

func writePoolusedJSON(w io.Writer, f *dumpfile.File, r *pool.Result, sel pool.Selection, db *pooltag.DB) error {
	out := poolusedJSON{
		Dump: f.Name(), Build: r.Build, Arch: r.Arch.String(), CPUs: r.CPUs, Layout: r.Layout.Name,
		Table: fmt.Sprintf("%#x", r.Global.Addr), TableSize: r.Global.Size, SizeSource: r.Global.SizeSource,
		OneCPUOnly: r.OneCPUOnly, Partial: r.Partial, Missing: r.Missing, Notes: r.Notes,
		Limits: limitsJSON{NonPagedUsed: r.Limits.NonPagedUsed, NonPagedMax: r.Limits.NonPagedMax, NonPagedPct: r.Limits.NonPagedPercent(),
			PagedUsed: r.Limits.PagedUsed, PagedMax: r.Limits.PagedMax, PagedPct: r.Limits.PagedPercent(),
			HTTPSysApplies: r.Limits.HTTPSysApplies, HTTPSysBelow: r.Limits.HTTPSysBelow},
		Tags: []tagJSON{},
	}
	for _, a := range r.PerCPU {
		out.PerCPU = append(out.PerCPU, fmt.Sprintf("%#x", a))
	}
	for _, u := range pool.Select(r.Usages, sel) {
		out.Tags = append(out.Tags, tagRow(u, db))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writePoolusedCSV(w io.Writer, r *pool.Result, sel pool.Selection, db *pooltag.DB) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"tag", "nonpaged_allocs", "nonpaged_frees", "nonpaged_outstanding", "nonpaged_bytes",
		"paged_allocs", "paged_frees", "paged_outstanding", "paged_bytes", "description", "binary"}); err != nil {
		return err
	}
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, u := range pool.Select(r.Usages, sel) {
		t := tagRow(u, db)
		c := report.CSVCell // tags and descriptions come from the dump and pooltag.txt
		if err := cw.Write([]string{c(t.Tag), u64(t.NonPagedAllocs), u64(t.NonPagedFrees), i64(t.NonPagedDiff), u64(t.NonPagedBytes),
			u64(t.PagedAllocs), u64(t.PagedFrees), i64(t.PagedDiff), u64(t.PagedBytes), c(t.Description), c(t.Binary)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
