package snapshot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// Format names the kind of text a snapshot was read from.
type Format int

// The formats; Unknown is text none of the parsers recognised.
const (
	Unknown    Format = iota
	Poolmon           // a poolmon screen copied from its console window
	PoolmonLog        // poolmon /n (poolsnap) output: one or more full snapshots
	Poolused          // WinDbg !poolused output
	HTTPErr           // HTTP.SYS error log (httperr*.log)
	VMText            // WinDbg !vm output alone: the pools' totals and maxima, no tags
	PerfmonLog        // Performance Monitor counters (typeperf, relog CSV/TSV)
	Live              // counters read from the running kernel (poolblame live); never detected in text
)

var formatNames = [...]string{"unknown", "poolmon", "poolmon log", "!poolused", "httperr log", "!vm", "perfmon log", "live"}

func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatNames[f]
}

// Snapshot is the pool usage one capture shows.
type Snapshot struct {
	Source string
	Format Format
	// Time is when the capture was taken, if the file says; zero otherwise
	// (callers may use the file's modification time).
	Time time.Time
	// Usages holds one entry per tag in the order the source first lists
	// it; poolmon's separate Nonp and Paged rows are merged.
	Usages []pool.Usage
	// Outstanding is set when the source gives only outstanding counts
	// (!poolused without the verbose flag): [0] nonpaged, [1] paged. The
	// Usages then hold the outstanding count in Allocs and 0 in Frees.
	Outstanding map[pooltag.Tag][2]int64
	// Descriptions holds what the source printed beside a tag: !poolused's
	// pooltag.txt text, poolmon's Mapped_Driver column.
	Descriptions map[pooltag.Tag]Description
	Totals       Totals
	// VM holds what !vm text in the same file said: the pools' use as the
	// kernel counts it and their maxima.
	VM VM
	// Session is set when the source shows session pool, not the system
	// pools ("Session 0 pool information", !poolused flag 8).
	Session bool
	// Attrs holds name=value lines a poolsnap log carries ("!ComputerName=").
	Attrs map[string]string
	// Partial is set when some tags or counters are missing; Notes say which.
	Partial bool
	Notes   []string
	// Earlier, when set, is a snapshot of the same machine taken before
	// this one and since its last boot (the first sample of poolblame
	// live): each tag's growth is then measured between the two instead
	// of being unknown.
	Earlier *Snapshot
}

// Description is the text a source printed for a tag.
type Description struct {
	Text   string
	Binary string // the driver named in it, "" when none is
}

// Totals are the machine-wide figures a source prints besides the tags.
// Byte counts are in bytes even where the source prints KB.
type Totals struct {
	// From a poolmon header ("Memory: ... Pool N: ... P: ...").
	Present      bool
	Memory       uint64
	Avail        uint64
	PageFaults   uint64 // a count, not bytes
	InRamKernel  uint64
	InRamPaged   uint64
	Commit       uint64
	Limit        uint64
	Peak         uint64
	PoolNonPaged uint64
	PoolPaged    uint64
	// From !poolused's TOTAL row: the sums over every tag, listed or not,
	// with the same meaning as the Usages' counters.
	TaggedPresent bool
	Tagged        pool.Usage
}

// Usage returns the usage of tag t and whether the snapshot lists it.
func (s *Snapshot) Usage(t pooltag.Tag) (pool.Usage, bool) {
	for _, u := range s.Usages {
		if u.Tag == t {
			return u, true
		}
	}
	return pool.Usage{}, false
}

// FormatError reports input that does not have the shape its format
// requires: the file, the 1-based line, and the field that is wrong.
type FormatError struct {
	File  string
	Line  int    // 0 when the file as a whole is wrong
	Field string // column name, "" when the whole line is wrong
	Value string // the text found in that field
	Msg   string // used when Field is ""
}

func (e *FormatError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg) // the file as a whole
	}
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: bad %s field %q", e.File, e.Line, e.Field, e.Value)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// detectSize is how much of the input Parse looks at to pick a parser.
const detectSize = 64 << 10

// maxLine bounds a single line; a longer one is not text these tools print.
const maxLine = 1 << 20

// Parse detects the format of r and parses it. HTTP.SYS error logs hold
// refusals, not pool usage: Parse rejects them (use ParseHTTPErr).
func Parse(r io.Reader, name string) ([]*Snapshot, error) {
	br := bufio.NewReaderSize(decodeUTF16(r), detectSize)
	head, err := br.Peek(detectSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch f := Detect(head); f {
	case Poolmon:
		s, err := ParsePoolmon(br, name)
		if err != nil {
			return nil, err
		}
		return []*Snapshot{s}, nil
	case PoolmonLog:
		return ParsePoolmonLog(br, name)
	case Poolused, VMText:
		s, err := ParsePoolused(br, name)
		if err != nil {
			return nil, err
		}
		return []*Snapshot{s}, nil
	case HTTPErr:
		return nil, fmt.Errorf("%s: an HTTP.SYS error log holds connection refusals, not pool usage", name)
	case PerfmonLog:
		return nil, fmt.Errorf("%s: a Performance Monitor log holds counters, not pool tags (read it with ParsePerfmon)", name)
	default:
		return nil, fmt.Errorf("%s: not a poolmon screen, poolmon log, !poolused or !vm output", name)
	}
}

// Detect tells the format of a file from its first bytes.
func Detect(head []byte) Format {
	text := string(decodeHead(head))
	sawPoolmonHeader, sawVM := false, false
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		t := strings.TrimSpace(line)
		f := strings.Fields(t)
		switch {
		case isPerfmonHeader(strings.TrimPrefix(t, "\uFEFF")):
			return PerfmonLog
		case strings.Contains(t, "kd> !poolused"), t == "Pool Used:", strings.HasPrefix(t, "Sorting by"),
			len(f) > 2 && f[0] == "Tag" && f[1] == "Allocs" && (f[2] == "Used" || f[2] == "Frees"):
			return Poolused
		case strings.HasPrefix(t, "#Software: Microsoft HTTP API"),
			strings.HasPrefix(t, "#Fields:") && strings.Contains(t, "s-reason"),
			isW3CDateTime(t):
			return HTTPErr
		case strings.HasPrefix(t, "Memory:"), isColumnLine(t):
			sawPoolmonHeader = true
		case isVMTitle(t), strings.HasPrefix(t, "NonPagedPool") && vmLine.MatchString(t):
			sawVM = true
			continue
		}
		if row, ok := findTypeToken(line); ok && row > 0 {
			if strings.Contains(line[row:], "(") {
				return Poolmon
			}
			return PoolmonLog
		}
	}
	switch {
	case sawPoolmonHeader:
		return Poolmon
	case sawVM:
		return VMText
	}
	return Unknown
}

// isW3CDateTime reports whether t starts "YYYY-MM-DD HH:MM:SS ".
func isW3CDateTime(t string) bool {
	if len(t) < 20 {
		return false
	}
	_, err := time.Parse(time.DateTime, t[:19])
	return err == nil && t[19] == ' '
}

// lineReader reads lines and knows their numbers, for errors.
type lineReader struct {
	sc   *bufio.Scanner
	name string
	n    int
}

func newLineReader(r io.Reader, name string) *lineReader {
	sc := bufio.NewScanner(decodeUTF16(r))
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &lineReader{sc: sc, name: name}
}

// next returns the next line without its line ending.
func (l *lineReader) next() (string, bool) {
	if !l.sc.Scan() {
		return "", false
	}
	l.n++
	return strings.TrimRight(l.sc.Text(), "\r"), true
}

// err returns the read error, if reading stopped on one.
// each feeds every line to fn, stopping at fn's first error; then it
// returns the read error, if any.
func (l *lineReader) each(fn func(string) error) error {
	for {
		line, ok := l.next()
		if !ok {
			return l.err()
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

func (l *lineReader) err() error {
	err := l.sc.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bufio.ErrTooLong):
		return &FormatError{File: l.name, Line: l.n + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
	default:
		return fmt.Errorf("%s: %w", l.name, err)
	}
}

func (l *lineReader) errorf(format string, args ...any) error {
	return &FormatError{File: l.name, Line: l.n, Msg: fmt.Sprintf(format, args...)}
}

func (l *lineReader) fieldError(field, value string) error {
	return &FormatError{File: l.name, Line: l.n, Field: field, Value: value}
}

// builder collects rows into a Snapshot, one Usage per tag.
type builder struct {
	s        *Snapshot
	idx      map[pooltag.Tag]int
	seen     map[rowKey]seenRow // the row that first gave a tag's counters for a pool
	noted    map[string]bool
	rowNotes int // notes about single rows, of which maxRowNotes are kept
}

// maxRowNotes bounds the notes about single rows: a file where every row
// disagrees with itself needs a few examples, not one note per row.
const maxRowNotes = 20

type seenRow struct {
	line                 int
	allocs, frees, bytes uint64
}

type rowKey struct {
	tag   pooltag.Tag
	paged bool
}

func newBuilder(source string, f Format) *builder {
	return &builder{
		s:     &Snapshot{Source: source, Format: f},
		idx:   make(map[pooltag.Tag]int),
		seen:  make(map[rowKey]seenRow),
		noted: make(map[string]bool),
	}
}

// set records one pool's counters for a tag. A second row for the same tag
// and pool is kept out: silently when it repeats the first (the same table
// sorted another way), with a note when it differs, as nothing says which
// of the two is right.
func (b *builder) set(tag pooltag.Tag, paged bool, allocs, frees, bytes uint64, line int) bool {
	k := rowKey{tag, paged}
	if first, dup := b.seen[k]; dup {
		if first.allocs != allocs || first.frees != frees || first.bytes != bytes {
			b.rowNotef("line %d: %s %s listed again with other counters (first on line %d); the second row is ignored", line, tag.Trimmed(), poolName(paged), first.line)
		}
		return false
	}
	b.seen[k] = seenRow{line, allocs, frees, bytes}
	i, ok := b.idx[tag]
	if !ok {
		i = len(b.s.Usages)
		b.idx[tag] = i
		b.s.Usages = append(b.s.Usages, pool.Usage{Tag: tag})
	}
	u := &b.s.Usages[i]
	if paged {
		u.PagedAllocs, u.PagedFrees, u.PagedBytes = allocs, frees, bytes
	} else {
		u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedBytes = allocs, frees, bytes
	}
	return true
}

func (b *builder) describe(tag pooltag.Tag, d Description) {
	if d.Text == "" && d.Binary == "" {
		return
	}
	if b.s.Descriptions == nil {
		b.s.Descriptions = make(map[pooltag.Tag]Description)
	}
	if _, ok := b.s.Descriptions[tag]; !ok {
		b.s.Descriptions[tag] = d
	}
}

func (b *builder) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !b.noted[msg] {
		b.noted[msg] = true
		b.s.Notes = append(b.s.Notes, msg)
	}
}

// rowNotef notes something about one row, up to maxRowNotes of them.
func (b *builder) rowNotef(format string, args ...any) {
	b.rowNotes++
	if b.rowNotes <= maxRowNotes {
		b.notef(format, args...)
	}
}

// flushRowNotes says how many row notes were left out.
func (b *builder) flushRowNotes() {
	if n := b.rowNotes - maxRowNotes; n > 0 {
		b.notef("%d more notes about single rows were left out", n)
	}
}

func poolName(paged bool) string {
	if paged {
		return "Paged"
	}
	return "Nonp"
}

// rowPools reports which pools the rows covered.
func (b *builder) rowPools() (nonpaged, paged bool) {
	for k := range b.seen {
		if k.paged {
			paged = true
		} else {
			nonpaged = true
		}
	}
	return nonpaged, paged
}

// isDots reports a line of only dots: a cut ("...") or debugger progress.
func isDots(t string) bool {
	return len(t) >= 2 && strings.Trim(t, ".") == ""
}

// parseUint parses a decimal count as these tools print it.
func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseInt parses a decimal that may be negative.
func parseInt(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	u, ok := parseUint(s)
	if !ok || u > 1<<63 || !neg && u == 1<<63 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// tagFromText turns a tag as a source prints it (pad spaces trimmed or
// not) into a Tag; ok is false for anything that is not 1 to 4 printable
// characters.
func tagFromText(s string) (pooltag.Tag, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7F {
			return 0, false
		}
	}
	t, err := pooltag.ParseTag(s)
	return t, err == nil
}
