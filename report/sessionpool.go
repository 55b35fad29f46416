package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// WriteSessionPoolused writes the session pools as WinDbg's !poolused 8
// does, one table per session (WinDbg shows the current session's; a
// dump read without a debugger has no current session, so every session
// is shown, each headed by its ID and processes). When no session pool
// was read, it writes the one line that says why.
func WriteSessionPoolused(w io.Writer, sp *pool.SessionPools, sel pool.Selection, db *pooltag.DB) error {
	ew := &ErrWriter{W: w}
	if !sp.Read {
		ew.Printf("%s\n", sp.Reason)
		return ew.Err
	}
	if sp.Placement != "" {
		ew.Printf("%s\n\n", sp.Placement)
	}
	for i, s := range sp.Sessions {
		if i > 0 {
			ew.Printf("\n")
		}
		ew.Printf("Session %d (%s): %s\n", s.ID, processList(s.Processes), sessionWhere(s))
		if len(s.Missing) > 0 {
			ew.Printf("*** WARNING: partial data: %s\n", strings.Join(s.Missing, "; "))
		}
		if len(s.ExpansionTags) > 0 {
			ew.Printf("From the session's expansion table (PoolTrackTableExpansion %#x, %d entries): %s\n", s.Expansion, s.ExpansionSize, tagList(s.ExpansionTags))
		}
		if s.OverflowInOvfl {
			ew.Printf("*** WARNING: %s\n", ovflNote)
		}
		if len(s.Usages) == 0 && len(s.Missing) > 0 {
			continue
		}
		writeUsageTable(ew, s.Usages, sel, db, false) // no verbose form: --session refuses --verbose
	}
	return ew.Err
}

// ovflNote says what a full table without an expansion table means.
const ovflNote = "the session's tracker table is full and it has no expansion table: tags that did not fit are counted under Ovfl, not under their own tags"

// tagList joins tags as the tables print them.
func tagList(tags []pooltag.Tag) string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = trimTag(t.String())
	}
	return strings.Join(out, ", ")
}

// sessionWhere says where a session's table was found.
func sessionWhere(s pool.SessionPool) string {
	if s.Table == 0 {
		return fmt.Sprintf("MM_SESSION_SPACE %#x, tracker table not found", s.Struct)
	}
	if s.Space == 0 { // the table is the structure's PoolTags member (Windows 10 1607 to 1903)
		return fmt.Sprintf("MM_SESSION_SPACE %#x, tracker (PoolTags) at %#x, %d entries", s.Struct, s.Table, s.TableSize)
	}
	return fmt.Sprintf("MM_SESSION_SPACE %#x (%#x in session space), tracker at %#x, %d entries", s.Struct, s.Space, s.Table, s.TableSize)
}

// processList names a session's processes: "3 processes: csrss.exe, ...".
func processList(names []string) string {
	if len(names) == 1 {
		return "1 process: " + names[0]
	}
	return fmt.Sprintf("%d processes: %s", len(names), strings.Join(names, ", "))
}

// SessionPool is the session pool of each Terminal Server session
// (!poolused 8), the pool desktop heap and win32k allocations come from.
type SessionPool struct {
	Read   bool   `json:"read"`
	Reason string `json:"reason,omitempty"` // one line, when nothing was read
	// Placement says which candidate place of the tracker the data
	// confirmed, on a build whose sources leave it open; one line.
	Placement string         `json:"placement,omitempty"`
	Sessions  []SessionUsage `json:"sessions"`
}

// SessionUsage is one session's tracker table.
type SessionUsage struct {
	ID            uint32       `json:"id"`
	Processes     []string     `json:"processes"`
	Table         string       `json:"table,omitempty"` // its address in session space
	TableSize     int          `json:"table_size,omitempty"`
	TagCount      int          `json:"tag_count"`
	NonPagedBytes uint64       `json:"nonpaged_bytes"`
	PagedBytes    uint64       `json:"paged_bytes"`
	Tags          []SessionTag `json:"tags"` // most bytes first, as many as the leading tags
	Full          bool         `json:"full,omitempty"`
	// Expansion is the session's expansion table (hex) and ExpansionSize
	// its entries; ExpansionTags the tags read from it.
	Expansion     string   `json:"expansion,omitempty"`
	ExpansionSize uint64   `json:"expansion_size,omitempty"`
	ExpansionTags []string `json:"expansion_tags,omitempty"`
	// OverflowInOvfl: full, and no expansion table: tags that did not fit
	// are counted under Ovfl.
	OverflowInOvfl bool     `json:"overflow_in_ovfl,omitempty"`
	Missing        []string `json:"missing,omitempty"`
}

// SessionTag is one tag of a session: outstanding allocations and bytes.
type SessionTag struct {
	Tag            string `json:"tag"`
	FromExpansion  bool   `json:"from_expansion,omitempty"` // read from the session's expansion table
	NonPagedAllocs int64  `json:"nonpaged_allocs"`
	NonPagedBytes  uint64 `json:"nonpaged_bytes"`
	PagedAllocs    int64  `json:"paged_allocs"`
	PagedBytes     uint64 `json:"paged_bytes"`
}

// sessionSection is the report's form of what package pool read.
func sessionSection(sp *pool.SessionPools, d Display) *SessionPool {
	if sp == nil {
		return nil
	}
	out := &SessionPool{Read: sp.Read, Reason: sp.Reason, Placement: sp.Placement, Sessions: []SessionUsage{}}
	top := d.Top
	if top <= 0 {
		top = defaultSessionTags
	}
	for _, s := range sp.Sessions {
		tot := s.Total()
		u := SessionUsage{ID: s.ID, Processes: append([]string{}, s.Processes...), TableSize: s.TableSize,
			TagCount: len(s.Usages), NonPagedBytes: tot.NonPagedBytes, PagedBytes: tot.PagedBytes,
			Tags: []SessionTag{}, Full: s.Full, OverflowInOvfl: s.OverflowInOvfl, Missing: append([]string(nil), s.Missing...)}
		if s.Table != 0 {
			u.Table = fmt.Sprintf("%#x", s.Table)
		}
		inExp := map[pooltag.Tag]bool{}
		if s.Expansion != 0 {
			u.Expansion, u.ExpansionSize = fmt.Sprintf("%#x", s.Expansion), s.ExpansionSize
		}
		for _, t := range s.ExpansionTags {
			inExp[t] = true
			u.ExpansionTags = append(u.ExpansionTags, trimTag(t.String()))
		}
		rows := append([]pool.Usage{}, s.Usages...)
		sort.SliceStable(rows, func(i, j int) bool {
			return rows[i].NonPagedBytes+rows[i].PagedBytes > rows[j].NonPagedBytes+rows[j].PagedBytes
		})
		for _, t := range rows[:min(top, len(rows))] {
			u.Tags = append(u.Tags, SessionTag{Tag: trimTag(t.Tag.String()), FromExpansion: inExp[t.Tag], NonPagedAllocs: t.NonPagedOutstanding(),
				NonPagedBytes: t.NonPagedBytes, PagedAllocs: t.PagedOutstanding(), PagedBytes: t.PagedBytes})
		}
		out.Sessions = append(out.Sessions, u)
	}
	return out
}

// defaultSessionTags is how many tags per session the report shows
// unless Display.Top says otherwise.
const defaultSessionTags = 10

// expansionNote names the tags read from the session's expansion table;
// "" when none were.
func (s SessionUsage) expansionNote() string {
	if len(s.ExpansionTags) == 0 {
		return ""
	}
	return fmt.Sprintf("%s from the session's expansion table (PoolTrackTableExpansion %s, %d entries), marked *: %s",
		plural(len(s.ExpansionTags), "tag"), s.Expansion, s.ExpansionSize, strings.Join(s.ExpansionTags, ", "))
}

// mark is " *" for a tag read from the expansion table.
func (g SessionTag) mark() string {
	if g.FromExpansion {
		return " *"
	}
	return ""
}

// line is a session's one-line summary.
func (s SessionUsage) line() string {
	return fmt.Sprintf("Session %d (%s): %s paged, %s nonpaged in %s", s.ID, processList(s.Processes),
		units.Bytes(s.PagedBytes), units.Bytes(s.NonPagedBytes), plural(s.TagCount, "tag"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%s %ss", units.Count(int64(n)), what)
}

// sessionPool writes the SESSION POOL section.
func (t *textWriter) sessionPool(r *Report) {
	p := r.SessionPool
	if p == nil {
		return
	}
	t.section("SESSION POOL (!poolused 8)")
	if !p.Read {
		t.para(2, "", p.Reason, nil)
		return
	}
	if p.Placement != "" {
		t.para(2, "", p.Placement, nil)
	}
	for _, s := range p.Sessions {
		t.para(2, "", s.line(), nil)
		for _, m := range s.Missing {
			t.para(4, "missing ", m, nil)
		}
		if n := s.expansionNote(); n != "" {
			t.para(4, "", n, nil)
		}
		if s.OverflowInOvfl {
			t.para(4, "", ovflNote, nil)
		}
		if len(s.Tags) == 0 {
			continue
		}
		t.printf("    %-4s  %14s  %14s  %14s  %14s\n", "Tag", "NP outstanding", "NP bytes", "P outstanding", "P bytes")
		for _, g := range s.Tags {
			t.printf("    %-4s  %14s  %14s  %14s  %14s%s\n", g.Tag, units.Count(g.NonPagedAllocs), units.Count(int64(g.NonPagedBytes)),
				units.Count(g.PagedAllocs), units.Count(int64(g.PagedBytes)), g.mark())
		}
	}
}

// sessionPool writes the Session pool section.
func (m mdWriter) sessionPool(r *Report) {
	p := r.SessionPool
	if p == nil {
		return
	}
	m.printf("## Session pool\n\n")
	if !p.Read {
		m.printf("%s\n\n", mdText(p.Reason))
		return
	}
	if p.Placement != "" {
		m.printf("%s\n\n", mdText(p.Placement))
	}
	for _, s := range p.Sessions {
		m.printf("%s.\n\n", mdText(s.line()))
		for _, x := range s.Missing {
			m.printf("- Missing: %s\n", mdText(x))
		}
		n := s.expansionNote()
		if n != "" {
			m.printf("- %s.\n", mdText(n))
		}
		if s.OverflowInOvfl {
			m.printf("- %s.\n", mdText(ovflNote))
		}
		if len(s.Missing) > 0 || n != "" || s.OverflowInOvfl {
			m.printf("\n")
		}
		if len(s.Tags) == 0 {
			continue
		}
		m.printf("| Tag | Nonpaged outstanding | Nonpaged bytes | Paged outstanding | Paged bytes |\n|---|---:|---:|---:|---:|\n")
		for _, g := range s.Tags {
			m.printf("| %s%s | %s | %s | %s | %s |\n", mdCode(g.Tag), g.mark(), units.Count(g.NonPagedAllocs), units.Count(int64(g.NonPagedBytes)),
				units.Count(g.PagedAllocs), units.Count(int64(g.PagedBytes)))
		}
		m.printf("\n")
	}
}

// htmlSession is the session pool section of the HTML report.
type htmlSession struct {
	Reason    string
	Placement string
	Sessions  []htmlSessionTable
}

type htmlSessionTable struct {
	Heading string
	Notes   []string
	Rows    [][5]string
}

func sessionView(p *SessionPool) *htmlSession {
	if p == nil {
		return nil
	}
	v := &htmlSession{Placement: p.Placement}
	if !p.Read {
		v.Reason = p.Reason
		return v
	}
	for _, s := range p.Sessions {
		t := htmlSessionTable{Heading: s.line()}
		for _, m := range s.Missing {
			t.Notes = append(t.Notes, "Missing: "+m)
		}
		if n := s.expansionNote(); n != "" {
			t.Notes = append(t.Notes, n+".")
		}
		if s.OverflowInOvfl {
			t.Notes = append(t.Notes, ovflNote+".")
		}
		for _, g := range s.Tags {
			t.Rows = append(t.Rows, [5]string{g.Tag + g.mark(), units.Count(g.NonPagedAllocs), units.Count(int64(g.NonPagedBytes)),
				units.Count(g.PagedAllocs), units.Count(int64(g.PagedBytes))})
		}
		v.Sessions = append(v.Sessions, t)
	}
	return v
}
