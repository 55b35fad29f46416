package pooltag

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Entry is one line of pooltag.txt: "<Tag> - <binary> - <Description>".
// Pattern is the tag as written (trailing pad spaces removed), possibly with
// the wildcards * and ?. Binary is as written, "<unknown>" included; it is
// empty when the line names no binary.
type Entry struct {
	Pattern     string
	Binary      string
	Description string
	Line        int
}

// SkippedLine is a line of a pooltag file that is neither a comment nor an
// entry. Such lines are reported, never fatal: Microsoft's file carries a few.
type SkippedLine struct {
	Line   int
	Text   string
	Reason string
}

// DB is a parsed pooltag.txt (or any file in its format).
type DB struct {
	Path    string
	Entries []Entry       // every entry, in file order
	Skipped []SkippedLine // lines that did not parse

	exact    map[Tag][]int // Entries indices for tags without wildcards
	wild     []int         // Entries indices for wildcard patterns, most specific first
	byBinary map[string][]int
}

// maxPooltagLine bounds one line; Microsoft's longest is far below it.
const maxPooltagLine = 64 << 10

// Load reads the pooltag file at path.
func Load(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pooltag file: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a pooltag file; name is used in errors and as db.Path.
// Lines that do not parse are listed in db.Skipped; the only errors are a
// read failure and input that is not text at all.
func Parse(r io.Reader, name string) (*DB, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	text, err := pooltagText(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	db := &DB{Path: name, exact: make(map[Tag][]int), byBinary: make(map[string][]int)}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), maxPooltagLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if !utf8.ValidString(line) {
			line = latin1(line)
		}
		e, reason := parsePooltagLine(line)
		switch {
		case reason == "":
			e.Line = n
			db.add(e)
		case reason != "comment":
			db.Skipped = append(db.Skipped, SkippedLine{Line: n, Text: line, Reason: reason})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, n+1, err)
	}
	db.sortWild()
	return db, nil
}

// pooltagText turns the file's bytes into text: UTF-8 with or without a
// BOM, or UTF-16 with a BOM (a file saved by Notepad as "Unicode").
func pooltagText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		if len(data)%2 != 0 {
			return "", errors.New("UTF-16 text with an odd number of bytes")
		}
		big := data[0] == 0xFE
		u := make([]uint16, 0, len(data)/2-1)
		for i := 2; i+1 < len(data); i += 2 {
			if big {
				u = append(u, uint16(data[i])<<8|uint16(data[i+1]))
			} else {
				u = append(u, uint16(data[i+1])<<8|uint16(data[i]))
			}
		}
		data = []byte(string(utf16.Decode(u)))
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return "", fmt.Errorf("not a text file (NUL byte at offset %d)", i)
	}
	return string(data), nil
}

// latin1 reads a line that is not UTF-8 as Windows-1252's Latin-1 subset,
// the code page the file is written in on the machines that ship it.
func latin1(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// parsePooltagLine returns the entry on line, or a reason it holds none
// ("comment" for comments and blank lines).
func parsePooltagLine(line string) (Entry, string) {
	t := strings.TrimSpace(line)
	if t == "" || strings.HasPrefix(t, "//") || isRem(t) {
		return Entry{}, "comment"
	}
	fields := splitDash(t)
	if len(fields) < 2 {
		return Entry{}, `no " - " separator`
	}
	pat := strings.TrimRight(fields[0], " \t")
	if err := checkPattern(pat); err != "" {
		return Entry{}, err
	}
	e := Entry{Pattern: pat}
	if len(fields) == 2 {
		// "Tag - text": a lone file name is a binary, anything else a description.
		if looksLikeBinary(fields[1]) {
			e.Binary = fields[1]
		} else {
			e.Description = fields[1]
		}
	} else {
		e.Binary = fields[1]
		// Descriptions contain " - " themselves: keep the rest as written.
		e.Description = fields[2]
	}
	return e, ""
}

func isRem(t string) bool {
	if len(t) < 3 || !strings.EqualFold(t[:3], "rem") {
		return false
	}
	return len(t) == 3 || t[3] == ' ' || t[3] == '\t'
}

// splitDash splits on the first two "-" that have blanks (space or tab) on
// both sides; the third field is the rest of the line. A dash inside a word
// ("PS/2 kb-mouse") is not a separator.
func splitDash(t string) []string {
	var out []string
	start := 0
	for i := 1; i+1 < len(t) && len(out) < 2; i++ {
		if t[i] == '-' && isBlank(t[i-1]) && isBlank(t[i+1]) {
			out = append(out, strings.TrimSpace(t[start:i]))
			start = i + 1
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append(out, strings.TrimSpace(t[start:]))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func looksLikeBinary(s string) bool {
	if s == "<unknown>" {
		return true
	}
	if strings.ContainsAny(s, " \t") {
		return false
	}
	l := strings.ToLower(s)
	for _, ext := range []string{".sys", ".dll", ".exe"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

// checkPattern reports why pat is not a tag or tag pattern, or "".
func checkPattern(pat string) string {
	if pat == "" {
		return "empty tag"
	}
	for i := 0; i < len(pat); i++ {
		if pat[i] < 0x20 || pat[i] >= 0x7F {
			return fmt.Sprintf("tag %q has a non-printable byte", pat)
		}
	}
	if strings.Contains(pat, "*") {
		// Anything of at most four characters once the stars are gone.
		if len(strings.ReplaceAll(pat, "*", "")) > 4 {
			return fmt.Sprintf("tag pattern %q matches no four-character tag", pat)
		}
		return ""
	}
	if len(pat) > 4 {
		return fmt.Sprintf("tag %q is longer than four characters", pat)
	}
	return ""
}

func (db *DB) add(e Entry) {
	i := len(db.Entries)
	db.Entries = append(db.Entries, e)
	if strings.ContainsAny(e.Pattern, "*?") {
		db.wild = append(db.wild, i)
	} else {
		t, _ := ParseTag(e.Pattern) // checkPattern guarantees 1 to 4 printable bytes
		db.exact[t] = append(db.exact[t], i)
	}
	for _, b := range binaryNames(e.Binary) {
		db.byBinary[b] = append(db.byBinary[b], i)
	}
}

// binaryNames splits a binary field that names several files
// ("ndis.sys, tcpip.sys") into lower-case names, "<unknown>" excluded.
func binaryNames(field string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(field, func(r rune) bool {
		return r == ',' || r == ';' || r == '/' || r == ' ' || r == '\t'
	}) {
		f = strings.ToLower(f)
		if f != "<unknown>" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// specificity ranks wildcard patterns: more literal characters first, then
// fewer stars; file order breaks ties (the sort is stable).
func specificity(p string) (literal, stars int) {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			stars++
		case '?':
		default:
			literal++
		}
	}
	return literal, stars
}

func (db *DB) sortWild() {
	slices.SortStableFunc(db.wild, func(a, b int) int {
		la, sa := specificity(db.Entries[a].Pattern)
		lb, sb := specificity(db.Entries[b].Pattern)
		if la != lb {
			return lb - la
		}
		return sa - sb
	})
}

// Lookup returns every entry for t: exact entries in file order, then the
// wildcard entries whose pattern matches t, most specific first. Duplicate
// entries are all returned; tags are case sensitive.
func (db *DB) Lookup(t Tag) []Entry {
	t = t.Unprotected()
	var out []Entry
	for _, i := range db.exact[t] {
		out = append(out, db.Entries[i])
	}
	s := t.String()
	for _, i := range db.wild {
		if matchPattern(db.Entries[i].Pattern, s) {
			out = append(out, db.Entries[i])
		}
	}
	return out
}

// Describe returns the best entry's description and binary, as !poolused
// prints them ("Description , Binary: x.sys"). A binary written as
// "<unknown>" is returned as "". ok is false when no entry matches.
func (db *DB) Describe(t Tag) (desc, binary string, ok bool) {
	es := db.Lookup(t)
	if len(es) == 0 {
		return "", "", false
	}
	e := es[0]
	binary = e.Binary
	if binary == "<unknown>" {
		binary = ""
	}
	return e.Description, binary, true
}

// ByBinary returns the entries naming the binary name, in file order.
// The comparison ignores case; a name without an extension ("acpi") also
// matches that name with one ("acpi.sys").
func (db *DB) ByBinary(name string) []Entry {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return nil
	}
	var idx []int
	idx = append(idx, db.byBinary[name]...)
	if !strings.Contains(name, ".") {
		for b, is := range db.byBinary {
			if strings.HasPrefix(b, name+".") {
				idx = append(idx, is...)
			}
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	out := make([]Entry, len(idx))
	for k, i := range idx {
		out[k] = db.Entries[i]
	}
	return out
}

// Match reports whether the tag matches a pattern written as in pooltag.txt
// or !poolused's filter (* and ? wildcards), over the tag's four display
// characters, pad spaces included. A pattern without a star stands for
// exactly four characters, so a short one is padded as tags are.
func (t Tag) Match(pattern string) bool { return matchPattern(pattern, t.String()) }

func matchPattern(pat, s string) bool {
	if !strings.Contains(pat, "*") && len(pat) < 4 {
		pat += strings.Repeat(" ", 4-len(pat))
	}
	return globMatch(pat, s)
}

// globMatch is * and ? matching over bytes, iterative with one backtrack
// point, so a pattern of many stars costs linear time.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
