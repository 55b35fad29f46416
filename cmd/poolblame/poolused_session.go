package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/report"
)

// runSessionPoolused is `poolused --session`: WinDbg's !poolused 8 for
// every session. A dump whose session pool cannot be read gets the one
// line that says why and exit status 3, as a dump without pool data does.
func runSessionPoolused(stdout, stderr io.Writer, f *dumpfile.File, sel pool.Selection, db *pooltag.DB, asJSON, asCSV bool) int {
	sp := pool.ReadSessions(f)
	var err error
	switch {
	case asJSON:
		err = writeSessionJSON(stdout, f, sp, sel, db)
	case asCSV && sp.Read:
		err = writeSessionCSV(stdout, sp, sel, db)
	default:
		err = report.WriteSessionPoolused(stdout, sp, sel, db)
	}
	if err != nil {
		return fail(stderr, err)
	}
	if !sp.Read {
		if asCSV { // the text and JSON forms carry the reason themselves
			fmt.Fprintf(stderr, "poolblame: %s: %s\n", f.Name(), sp.Reason)
		}
		return exitNoPool
	}
	return exitOK
}

type sessionPoolsJSON struct {
	Dump   string `json:"dump"`
	Build  uint32 `json:"build"`
	Arch   string `json:"arch"`
	Read   bool   `json:"read"`
	Reason string `json:"reason,omitempty"`
	Layout string `json:"layout,omitempty"`
	// Placement: which candidate place of the tracker the data confirmed.
	Placement string        `json:"placement,omitempty"`
	Sessions  []sessionJSON `json:"sessions"`
}

type sessionJSON struct {
	ID        uint32   `json:"id"`
	Struct    string   `json:"mm_session_space"`
	Space     string   `json:"session_space_address,omitempty"`
	Table     string   `json:"table,omitempty"`
	TableSize int      `json:"table_size,omitempty"`
	Processes []string `json:"processes"`
	Full      bool     `json:"full"`
	// The session's expansion table and the tags read from it.
	Expansion      string    `json:"expansion,omitempty"`
	ExpansionSize  uint64    `json:"expansion_size,omitempty"`
	ExpansionTags  []string  `json:"expansion_tags,omitempty"`
	OverflowInOvfl bool      `json:"overflow_in_ovfl,omitempty"`
	Missing        []string  `json:"missing,omitempty"`
	Total          tagJSON   `json:"total"`
	Tags           []tagJSON `json:"tags"`
}

func hexOrEmpty(v uint64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("%#x", v)
}

func writeSessionJSON(w io.Writer, f *dumpfile.File, sp *pool.SessionPools, sel pool.Selection, db *pooltag.DB) error {
	out := sessionPoolsJSON{Dump: f.Name(), Build: f.MinorVersion, Arch: f.Arch().String(), Read: sp.Read,
		Reason: sp.Reason, Layout: sp.Layout, Placement: sp.Placement, Sessions: []sessionJSON{}}
	for _, s := range sp.Sessions {
		tot := s.Total()
		j := sessionJSON{ID: s.ID, Struct: fmt.Sprintf("%#x", s.Struct), Space: hexOrEmpty(s.Space), Table: hexOrEmpty(s.Table),
			TableSize: s.TableSize, Processes: s.Processes, Full: s.Full, Missing: s.Missing, Total: tagRow(tot, nil), Tags: []tagJSON{}}
		j.Total.Tag = "TOTAL"
		j.Expansion, j.OverflowInOvfl = hexOrEmpty(s.Expansion), s.OverflowInOvfl
		if s.Expansion != 0 {
			j.ExpansionSize = s.ExpansionSize
		}
		for _, t := range s.ExpansionTags {
			j.ExpansionTags = append(j.ExpansionTags, t.String())
		}
		for _, u := range pool.Select(s.Usages, sel) {
			j.Tags = append(j.Tags, tagRow(u, db))
		}
		out.Sessions = append(out.Sessions, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeSessionCSV(w io.Writer, sp *pool.SessionPools, sel pool.Selection, db *pooltag.DB) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"session", "tag", "nonpaged_allocs", "nonpaged_frees", "nonpaged_outstanding", "nonpaged_bytes",
		"paged_allocs", "paged_frees", "paged_outstanding", "paged_bytes", "description", "binary"}); err != nil {
		return err
	}
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	c := report.CSVCell // tags and descriptions come from the dump and pooltag.txt
	for _, s := range sp.Sessions {
		for _, u := range pool.Select(s.Usages, sel) {
			t := tagRow(u, db)
			if err := cw.Write([]string{u64(uint64(s.ID)), c(t.Tag), u64(t.NonPagedAllocs), u64(t.NonPagedFrees), i64(t.NonPagedDiff), u64(t.NonPagedBytes),
				u64(t.PagedAllocs), u64(t.PagedFrees), i64(t.PagedDiff), u64(t.PagedBytes), c(t.Description), c(t.Binary)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
