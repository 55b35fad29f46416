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
	for i, s := range sp.Sessions {
		if i > 0 {
			ew.Printf("\n")
		}
		ew.Printf("Session %d (%s): %s\n", s.ID, processList(s.Processes), sessionWhere(s))
		if len(s.Missing) > 0 {
			ew.Printf("*** WARNING: partial data: %s\n", strings.Join(s.Missing, "; "))
		}
		if s.Full {
			ew.Printf("*** WARNING: the session's tracker table is full: tags that did not fit are not shown\n")
		}
		if len(s.Usages) == 0 && len(s.Missing) > 0 {
			continue
		}
		writeUsageTable(ew, s.Usages, sel, db, false) // no verbose form: --session refuses --verbose
	}
	return ew.Err
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
	Read     bool           `json:"read"`
	Reason   string         `json:"reason,omitempty"` // one line, when nothing was read
	Sessions []SessionUsage `json:"sessions"`
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
	Missing       []string     `json:"missing,omitempty"`
}

// SessionTag is one tag of a session: outstanding allocations and bytes.
type SessionTag struct {
	Tag            string `json:"tag"`
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
	out := &SessionPool{Read: sp.Read, Reason: sp.Reason, Sessions: []SessionUsage{}}
	top := d.Top
	if top <= 0 {
		top = defaultSessionTags
	}
	for _, s := range sp.Sessions {
		tot := s.Total()
		u := SessionUsage{ID: s.ID, Processes: append([]string{}, s.Processes...), TableSize: s.TableSize,
			TagCount: len(s.Usages), NonPagedBytes: tot.NonPagedBytes, PagedBytes: tot.PagedBytes,
			Tags: []SessionTag{}, Full: s.Full, Missing: append([]string(nil), s.Missing...)}
		if s.Table != 0 {
			u.Table = fmt.Sprintf("%#x", s.Table)
		}
		rows := append([]pool.Usage{}, s.Usages...)
		sort.SliceStable(rows, func(i, j int) bool {
			return rows[i].NonPagedBytes+rows[i].PagedBytes > rows[j].NonPagedBytes+rows[j].PagedBytes
		})
		for _, t := range rows[:min(top, len(rows))] {
			u.Tags = append(u.Tags, SessionTag{Tag: trimTag(t.Tag.String()), NonPagedAllocs: t.NonPagedOutstanding(),
				NonPagedBytes: t.NonPagedBytes, PagedAllocs: t.PagedOutstanding(), PagedBytes: t.PagedBytes})
		}
		out.Sessions = append(out.Sessions, u)
	}
	return out
}

// defaultSessionTags is how many tags per session the report shows
// unless Display.Top says otherwise.
const defaultSessionTags = 10

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
	for _, s := range p.Sessions {
		t.para(2, "", s.line(), nil)
		for _, m := range s.Missing {
			t.para(4, "missing ", m, nil)
		}
		if s.Full {
			t.para(4, "", "the tracker table is full: tags that did not fit are not shown", nil)
		}
		if len(s.Tags) == 0 {
			continue
		}
		t.printf("    %-4s  %14s  %14s  %14s  %14s\n", "Tag", "NP outstanding", "NP bytes", "P outstanding", "P bytes")
		for _, g := range s.Tags {
			t.printf("    %-4s  %14s  %14s  %14s  %14s\n", g.Tag, units.Count(g.NonPagedAllocs), units.Count(int64(g.NonPagedBytes)),
				units.Count(g.PagedAllocs), units.Count(int64(g.PagedBytes)))
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
	for _, s := range p.Sessions {
		m.printf("%s.\n\n", mdText(s.line()))
		for _, x := range s.Missing {
			m.printf("- Missing: %s\n", mdText(x))
		}
		if s.Full {
			m.printf("- The tracker table is full: tags that did not fit are not shown.\n")
		}
		if len(s.Missing) > 0 || s.Full {
			m.printf("\n")
		}
		if len(s.Tags) == 0 {
			continue
		}
		m.printf("| Tag | Nonpaged outstanding | Nonpaged bytes | Paged outstanding | Paged bytes |\n|---|---:|---:|---:|---:|\n")
		for _, g := range s.Tags {
			m.printf("| %s | %s | %s | %s | %s |\n", mdCode(g.Tag), units.Count(g.NonPagedAllocs), units.Count(int64(g.NonPagedBytes)),
				units.Count(g.PagedAllocs), units.Count(int64(g.PagedBytes)))
		}
		m.printf("\n")
	}
}

// htmlSession is the session pool section of the HTML report.
type htmlSession struct {
	Reason   string
	Sessions []htmlSessionTable
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
	v := &htmlSession{}
	if !p.Read {
		v.Reason = p.Reason
		return v
	}
	for _, s := range p.Sessions {
		t := htmlSessionTable{Heading: s.line()}
		for _, m := range s.Missing {
			t.Notes = append(t.Notes, "Missing: "+m)
		}
		if s.Full {
			t.Notes = append(t.Notes, "The tracker table is full: tags that did not fit are not shown.")
		}
		for _, g := range s.Tags {
			t.Rows = append(t.Rows, [5]string{g.Tag, units.Count(g.NonPagedAllocs), units.Count(int64(g.NonPagedBytes)),
				units.Count(g.PagedAllocs), units.Count(int64(g.PagedBytes))})
		}
		v.Sessions = append(v.Sessions, t)
	}
	return v
}
