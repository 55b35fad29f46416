package snapshot

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/poolblame/poolblame/pooltag"
)

// ParsePoolmon parses one poolmon screen as copied from its console
// window: the optional header ("Memory: ... Pool N: ... P: ..."), the
// column line, and rows "Tag Type Allocs ( Δ) Frees ( Δ) Diff Bytes ( Δ)
// Per Alloc [Mapped_Driver]". Nonp and Paged rows of a tag are merged.
// A screen (rows with the change columns) shows only the rows that fit its
// window, so its Snapshot is Partial. A file holding several screens is an
// error: ParsePoolmonLog reads those.
func ParsePoolmon(r io.Reader, name string) (*Snapshot, error) {
	snaps, err := parsePoolmonText(r, name, Poolmon, false)
	if err != nil {
		return nil, err
	}
	return snaps[0], nil
}

// ParsePoolmonLog parses poolmon /n output (poolsnap.log): rows without the
// change columns, one snapshot after another when the file was appended
// to. A new snapshot starts at a header line, at a repeated column line,
// or at rows that follow a blank line after rows. Screens pasted one after
// another are read the same way.
func ParsePoolmonLog(r io.Reader, name string) ([]*Snapshot, error) {
	return parsePoolmonText(r, name, PoolmonLog, true)
}

type poolmonParser struct {
	lr     *lineReader
	format Format
	multi  bool

	snaps []*Snapshot
	cur   *builder
	st    poolmonState
	// sawColumns is kept across snapshots so that a file holding only a
	// column line (poolmon run with no matching tags) still counts.
	sawColumns bool
}

// poolmonState is what has been read of the current snapshot.
type poolmonState struct {
	header     bool // Memory: or Commit: line
	columns    bool // the "Tag Type Allocs ..." line
	rows       int
	deltas     int // rows that carried the ( Δ) columns
	cutLine    int // line of a "..." cut, 0 if none
	blankAfter bool
}

func parsePoolmonText(r io.Reader, name string, f Format, multi bool) ([]*Snapshot, error) {
	p := &poolmonParser{lr: newLineReader(r, name), format: f, multi: multi}
	p.start()
	if err := p.lr.each(p.line); err != nil {
		return nil, err
	}
	p.finish()
	out := p.snaps
	if len(out) == 0 || len(out) == 1 && !p.anything(out[0]) {
		return nil, &FormatError{File: name, Msg: "no poolmon header, column line or rows"}
	}
	if len(out) > 1 {
		for i, s := range out {
			s.Source = fmt.Sprintf("%s (snapshot %d of %d)", name, i+1, len(out))
		}
	}
	return out, nil
}

// anything reports whether a snapshot got any poolmon content at all.
func (p *poolmonParser) anything(s *Snapshot) bool {
	return s.Totals.Present || len(s.Usages) > 0 || p.sawColumns
}

func (p *poolmonParser) start() {
	p.cur = newBuilder(p.lr.name, p.format)
	p.st = poolmonState{}
	p.snaps = append(p.snaps, p.cur.s)
}

// split begins a new snapshot at the current line, if the caller allows it.
func (p *poolmonParser) split(why string) error {
	if !p.multi {
		return p.lr.errorf("a second poolmon screen starts here (%s); read several with ParsePoolmonLog", why)
	}
	p.finish()
	p.start()
	return nil
}

// line reads one line of a poolmon screen or log: the screen's other
// lines first, then a row.
func (p *poolmonParser) line(line string) error {
	t := strings.TrimSpace(line)
	if done, err := p.screenLine(t); done {
		return err
	}
	if w, _, _ := strings.Cut(t, " "); strings.EqualFold(w, "total") || strings.EqualFold(w, "totals") {
		p.cur.rowNotef("line %d: poolmon totals line not read: %q", p.lr.n, t)
		return nil
	}
	return p.row(line, t)
}

// screenLine reads a line of the screen that is not a row: blanks, the
// "..." cut, rules, the Memory/Commit header, the title, the column line
// and poolsnap's "!" entries. Headers, column lines and log entries after
// rows begin a new snapshot. done is false for a line it does not know.
func (p *poolmonParser) screenLine(t string) (done bool, err error) {
	switch {
	case t == "":
		if p.st.rows > 0 {
			p.st.blankAfter = true
		}
	case isDots(t):
		if p.st.rows > 0 && p.st.cutLine == 0 {
			p.st.cutLine = p.lr.n
		}
	case isRule(t):
		// A line of dashes under the column titles, as Microsoft's GFlags
		// "Example 9" prints the screen; it carries nothing.
	case strings.HasPrefix(t, "Memory:"), strings.HasPrefix(t, "Commit:"):
		// Memory: opens a screen, so a second one is a new snapshot even
		// before any row; Commit: may follow Memory: on the same screen.
		if p.st.rows > 0 || p.st.header && strings.HasPrefix(t, "Memory:") {
			if err := p.split("header"); err != nil {
				return true, err
			}
		}
		p.st.header = true
		return true, p.header(t)
	case len(t) >= 16 && strings.EqualFold(t[len(t)-16:], "pool information"):
		p.title(t)
	case isColumnLine(t):
		if p.st.rows > 0 {
			if err := p.split("column line"); err != nil {
				return true, err
			}
		}
		p.st.columns = true
		p.sawColumns = true
	case strings.HasPrefix(t, "!") && strings.Contains(t, "="):
		if strings.HasPrefix(t, "!LogType=") && p.st.rows > 0 {
			if err := p.split("log entry"); err != nil {
				return true, err
			}
		}
		p.attr(t[1:])
	case strings.HasPrefix(t, "!"):
		// poolsnap's "!Error:..." lines say why a snapshot is empty.
		p.cur.notef("line %d: %s", p.lr.n, t[1:])
	default:
		return false, nil
	}
	return true, nil
}

// row reads one tag row into the current snapshot. Text before the
// screen's header or columns is a pasted command line or prompt, skipped;
// after them, a line that is not a row is an error.
func (p *poolmonParser) row(line, t string) error {
	row, isRow, err := parsePoolmonRow(line)
	if !isRow {
		if !p.st.header && !p.st.columns && p.st.rows == 0 {
			return nil // a command line or prompt pasted above the screen
		}
		return p.lr.errorf("not a poolmon row: %q", t)
	}
	if err != nil {
		return p.lr.fieldError(err.field, err.value)
	}
	if p.st.rows > 0 && p.st.blankAfter {
		if err := p.split("rows after a blank line"); err != nil {
			return err
		}
	}
	p.st.blankAfter = false
	p.st.rows++
	if row.deltas {
		p.st.deltas++
	}
	if int64(row.allocs-row.frees) != row.diff {
		p.cur.rowNotef("line %d: %s %s Diff %d is not Allocs %d - Frees %d", p.lr.n, row.tag.Trimmed(), poolName(row.paged), row.diff, row.allocs, row.frees)
	}
	if p.cur.set(row.tag, row.paged, row.allocs, row.frees, row.bytes, p.lr.n) {
		p.cur.describe(row.tag, mappedDriver(row.driver))
	}
	return nil
}

// finish settles Partial and the notes of the current snapshot.
func (p *poolmonParser) finish() {
	b, st, s := p.cur, p.st, p.cur.s
	defer b.flushRowNotes()
	screen := st.deltas > 0
	switch {
	case st.cutLine != 0:
		s.Partial = true
		b.notef("the list was cut at line %d (\"...\"): tags below it are missing", st.cutLine)
	case screen && st.rows > 0:
		s.Partial = true
		b.notef("poolmon screen: it shows only the rows that fit its window (or match its /i filter), %s here; other tags are missing", plural(st.rows, "row"))
	}
	if st.rows == 0 {
		b.notef("no tag rows")
		return
	}
	np, pg := b.rowPools()
	switch {
	case np && !pg:
		s.Partial = true
		b.notef("no Paged rows: paged pool counters are unknown, not zero")
	case pg && !np:
		s.Partial = true
		b.notef("no Nonp rows: nonpaged pool counters are unknown, not zero")
	}
	if s.Totals.Present && s.Partial {
		var nb, pb uint64
		for _, u := range s.Usages {
			nb += u.NonPagedBytes
			pb += u.PagedBytes
		}
		if np && s.Totals.PoolNonPaged > 0 {
			b.notef("listed Nonp rows hold %s of the %s nonpaged pool (%.1f%%)", kb(nb), kb(s.Totals.PoolNonPaged), 100*float64(nb)/float64(s.Totals.PoolNonPaged))
		}
		if pg && s.Totals.PoolPaged > 0 {
			b.notef("listed Paged rows hold %s of the %s paged pool (%.1f%%)", kb(pb), kb(s.Totals.PoolPaged), 100*float64(pb)/float64(s.Totals.PoolPaged))
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func kb(n uint64) string { return fmt.Sprintf("%dK", n/1024) }

// title reads "System pool information", "Session 0 pool information" or
// "All sessions pool information".
func (p *poolmonParser) title(t string) {
	l := strings.ToLower(t)
	switch {
	case strings.HasPrefix(l, "system"):
	case strings.Contains(l, "session"):
		p.cur.s.Session = true
		p.cur.notef("session pool (%q), not the system pools", t)
	default:
		p.cur.notef("screen title %q", t)
	}
}

func (p *poolmonParser) attr(kv string) {
	k, v, _ := strings.Cut(kv, "=")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	s := p.cur.s
	if s.Attrs == nil {
		s.Attrs = make(map[string]string)
	}
	s.Attrs[k] = v
	if s.Time.IsZero() {
		l := strings.ToLower(k)
		if strings.Contains(l, "time") || strings.Contains(l, "date") {
			if tm, ok := parseLogTime(v); ok {
				s.Time = tm
			}
		}
	}
}

// logTimeLayouts are the ways a date may be written in a log's attributes.
var logTimeLayouts = []string{
	time.RFC3339, time.DateTime, "2006/01/02 15:04:05", "01/02/2006 15:04:05",
	"1/2/2006 3:04:05 PM", "Mon Jan 2 15:04:05 2006",
}

func parseLogTime(v string) (time.Time, bool) {
	for _, l := range logTimeLayouts {
		if tm, err := time.Parse(l, v); err == nil {
			return tm, true
		}
	}
	return time.Time{}, false
}

// headerField is one "Name: 1234K" pair of a poolmon header line.
var headerField = regexp.MustCompile(`([A-Za-z][A-Za-z ]*?)\s*:\s*(\d+)(K?)`)

func (p *poolmonParser) header(t string) error {
	tot := &p.cur.s.Totals
	tot.Present = true
	// "P:" is the paged half of the label before it: "InRam Krnl: 684K
	// P: 680K" is kernel memory in RAM, "Pool N: 744K P: 2180K" the pools.
	// The two header lines are sometimes pasted as one, so the label
	// read last decides, not the line.
	prev := ""
	for _, m := range headerField.FindAllStringSubmatch(t, -1) {
		key := strings.TrimSpace(m[1])
		v, ok := parseUint(m[2])
		if !ok {
			return p.lr.fieldError(key, m[2])
		}
		if m[3] == "K" {
			if v > (1<<64-1)/1024 {
				return p.lr.fieldError(key, m[2]+"K")
			}
			v *= 1024
		}
		switch key {
		case "Memory":
			tot.Memory = v
		case "Avail":
			tot.Avail = v
		case "PageFlts":
			tot.PageFaults = v
		case "InRam Krnl":
			tot.InRamKernel = v
		case "Commit":
			tot.Commit = v
		case "Limit":
			tot.Limit = v
		case "Peak":
			tot.Peak = v
		case "Pool N":
			tot.PoolNonPaged = v
		case "P":
			switch prev {
			case "InRam Krnl":
				tot.InRamPaged = v
			case "Pool N":
				tot.PoolPaged = v
			default:
				p.cur.notef("line %d: \"P: %s\" follows %q, not InRam Krnl or Pool N: not read", p.lr.n, m[2]+m[3], prev)
			}
		}
		prev = key
	}
	return nil
}

// isColumnLine reports the "Tag  Type  Allocs ..." line, also when a
// page turned it into a Markdown heading ("## Tag   Type  Allocs ...", as
// the Learn page "Use PoolMon to find a kernel-mode memory leak" has it).
func isColumnLine(t string) bool {
	t = strings.TrimLeft(t, "# ")
	if !strings.HasPrefix(t, "Tag") {
		return false
	}
	f := strings.Fields(t)
	return len(f) >= 3 && f[0] == "Tag" && f[1] == "Type" && f[2] == "Allocs"
}

type poolmonRow struct {
	tag      pooltag.Tag
	paged    bool
	allocs   uint64
	frees    uint64
	diff     int64
	bytes    uint64
	perAlloc uint64
	deltas   bool
	driver   string
}

type rowError struct{ field, value string }

// delta is one "( 56)" or "(  -872)" change column.
var delta = regexp.MustCompile(`\(\s*[-+]?\d+\s*\)`)

var poolmonFields = [...]string{"Allocs", "Frees", "Diff", "Bytes", "Per Alloc"}

// parsePoolmonRow reads a row. isRow is false when the line has no pool
// type column after a tag; err names the first bad field of a row.
func parsePoolmonRow(line string) (row poolmonRow, isRow bool, err *rowError) {
	at, ok := findTypeToken(line)
	if !ok {
		return row, false, nil
	}
	tag, ok := tagFromText(strings.TrimSpace(line[:at]))
	if !ok {
		return row, false, nil
	}
	row.tag = tag
	end := at
	for end < len(line) && !isBlankByte(line[end]) {
		end++
	}
	row.paged = strings.EqualFold(line[at:end], "Paged")
	rest := line[end:]
	var locs [][]int
	if strings.IndexByte(rest, '(') >= 0 {
		locs = delta.FindAllStringIndex(rest, -1)
	}
	row.deltas = len(locs) > 0
	// Blank out the change columns so the remaining fields line up.
	b := []byte(rest)
	for _, l := range locs {
		for i := l[0]; i < l[1]; i++ {
			b[i] = ' '
		}
	}
	rest = string(b)
	var vals [len(poolmonFields)]string
	pos := 0
	for i := range vals {
		for pos < len(rest) && isBlankByte(rest[pos]) {
			pos++
		}
		start := pos
		for pos < len(rest) && !isBlankByte(rest[pos]) {
			pos++
		}
		vals[i] = rest[start:pos]
		if vals[i] == "" {
			return row, true, &rowError{poolmonFields[i], ""}
		}
	}
	var okA, okF, okD, okB, okP bool
	row.allocs, okA = parseUint(vals[0])
	row.frees, okF = parseUint(vals[1])
	row.diff, okD = parseInt(vals[2])
	row.bytes, okB = parseUint(vals[3])
	row.perAlloc, okP = parseUint(vals[4])
	for i, ok := range [...]bool{okA, okF, okD, okB, okP} {
		if !ok {
			return row, true, &rowError{poolmonFields[i], vals[i]}
		}
	}
	row.driver = strings.TrimSpace(rest[pos:])
	return row, true, nil
}

// isRule reports a line drawn under or between column titles: dashes,
// equals signs or underscores only, blanks allowed between them.
func isRule(t string) bool {
	if len(t) < 3 {
		return false
	}
	return strings.Trim(t, "-=_ \t") == ""
}

func isBlankByte(c byte) bool { return c == ' ' || c == '\t' }

// findTypeToken returns the offset of the "Nonp" or "Paged" column: the
// first such word that has a tag of one to four characters before it.
func findTypeToken(line string) (int, bool) {
	for i := 0; i < len(line); {
		for i < len(line) && isBlankByte(line[i]) {
			i++
		}
		start := i
		for i < len(line) && !isBlankByte(line[i]) {
			i++
		}
		if start == i {
			break
		}
		w := line[start:i]
		if (strings.EqualFold(w, "Nonp") || strings.EqualFold(w, "Paged")) && start > 0 {
			if n := len(strings.TrimSpace(line[:start])); n >= 1 && n <= 4 {
				return start, true
			}
		}
		if start > 6 {
			break // past where a tag and its type can be
		}
	}
	return 0, false
}

// mappedDriver reads poolmon's Mapped_Driver column: "[ntfs.sys  -  Create.c]",
// "[ipsec][ipsec.sys - timers]", "[Gdi Objects]" or "Unknown Driver".
func mappedDriver(s string) Description {
	if s == "" || strings.EqualFold(s, "Unknown Driver") {
		return Description{}
	}
	d := Description{Text: s}
	for part := range strings.SplitSeq(s, "]") {
		part = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(part), "["))
		name, _, _ := strings.Cut(part, " -")
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		if d.Binary == "" || hasImageExt(name) && !hasImageExt(d.Binary) {
			d.Binary = name
		}
	}
	return d
}

func hasImageExt(n string) bool {
	l := strings.ToLower(n)
	return strings.HasSuffix(l, ".sys") || strings.HasSuffix(l, ".dll") || strings.HasSuffix(l, ".exe")
}
