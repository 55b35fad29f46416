package snapshot

import (
	"io"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// ParsePoolused parses WinDbg !poolused output: the plain form (outstanding
// Allocs and Used bytes per pool) and the verbose form of flag 1 (Allocs,
// Frees, Diff, Used), sorted any way, with the pooltag.txt text the
// debugger glues to the last number ("0UNKNOWN pooltag ...", "0PS/2 kb
// and mouse , Binary: i8042prt.sys") or puts after a tab. Debugger chatter
// before the table, "kd>" prompts and "..." cuts are allowed; several
// !poolused tables in one file are merged.
//
// The plain form has no history: each Usage's Allocs holds the outstanding
// count and Frees is 0, Outstanding holds the counts, and a note says so.
func ParsePoolused(r io.Reader, name string) (*Snapshot, error) {
	p := &poolusedParser{lr: newLineReader(r, name), b: newBuilder(name, Poolused)}
	if err := p.lr.each(p.line); err != nil {
		return nil, err
	}
	vm, notes := p.vm.done()
	if !p.sawHeader && !vm.Present {
		return nil, &FormatError{File: name, Msg: `no !poolused column line ("Tag Allocs Used Allocs Used") and no !vm pool lines`}
	}
	p.b.s.VM = vm
	for _, n := range notes {
		p.b.notef("%s", n)
	}
	if !p.sawHeader {
		p.b.s.Format = VMText
		p.b.notef("!vm text only: the pools' totals and maxima, no tags")
		return p.b.s, nil
	}
	p.finish()
	return p.b.s, nil
}

type poolusedParser struct {
	lr *lineReader
	b  *builder
	vm vmReader // !vm or !vm 1 text pasted with the table

	sawHeader bool
	cols      int   // 4 plain, 8 verbose; 0 before a column line
	ends      []int // end offsets of the numeric column titles
	tableRows int   // rows since the last column line
	rows      int
	plain     bool
	verbose   bool
	cutLine   int
}

var plainColumns = []string{"NonPaged Allocs", "NonPaged Used", "Paged Allocs", "Paged Used"}
var verboseColumns = []string{
	"NonPaged Allocs", "NonPaged Frees", "NonPaged Diff", "NonPaged Used",
	"Paged Allocs", "Paged Frees", "Paged Diff", "Paged Used",
}

func (p *poolusedParser) line(line string) error {
	t := strings.TrimSpace(line)
	f := strings.Fields(t)
	switch {
	case t == "":
		return nil
	case strings.Contains(t, "!poolused"):
		return p.command(t)
	case strings.Contains(t, "kd> "):
		p.cols = 0 // another debugger command: the table is over
		return nil
	case isVMTitle(t):
		p.cols = 0
		return nil
	case isDots(t):
		if p.tableRows > 0 && p.cutLine == 0 {
			p.cutLine = p.lr.n
		}
		return nil // before the table it is the debugger's progress dots
	case strings.HasPrefix(t, "Sorting by"):
		p.b.notef("sorted by %s", strings.Join(strings.Fields(strings.TrimPrefix(t, "Sorting by")), " "))
		return nil
	case t == "Pool Used:", len(f) == 2 && f[0] == "NonPaged" && f[1] == "Paged":
		return nil
	case f[0] == "Tag" && len(f) > 1 && f[1] == "Allocs":
		return p.columns(line, f)
	case f[0] == "TOTAL":
		err := p.total(line)
		p.cols = 0 // the last row: what follows (!vm lines, a summary) is not the table
		return err
	}
	if ok, err := p.vm.line(t); ok {
		if err != nil {
			return p.lr.errorf("%v", err)
		}
		p.cols = 0
		return nil
	}
	switch {
	case p.cols == 0:
		return nil // debugger chatter before the table
	}
	tag, nums, trailer, err := parsePoolusedRow(line, p.cols, p.ends)
	if err != nil {
		if err.field == "" {
			return p.lr.errorf("not a !poolused row: %q", t)
		}
		return p.lr.fieldError(p.colName(err.index), err.value)
	}
	p.row(tag, nums, trailer)
	return nil
}

func (p *poolusedParser) colName(i int) string {
	if p.cols == 8 {
		return verboseColumns[i]
	}
	return plainColumns[i]
}

// command reads "0: kd> !poolused 2" or "!poolused /t20 4 Nt*": the flags
// (hexadecimal, as the debugger takes them) and an optional tag filter.
func (p *poolusedParser) command(t string) error {
	_, args, _ := strings.Cut(t, "!poolused")
	var rest []string
	for _, a := range strings.Fields(args) {
		if strings.HasPrefix(a, "/") || strings.HasPrefix(a, "-") {
			// Options of newer debuggers; /tN lists the top N tags only.
			if n, ok := strings.CutPrefix(strings.ToLower(a[1:]), "t"); ok && n != "" {
				p.b.s.Partial = true
				p.b.notef("only the top %s tags were listed (%s)", n, a)
			}
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) > 0 {
		flags, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(rest[0]), "0x"), 16, 32)
		if err != nil {
			return p.lr.fieldError("!poolused flags", rest[0])
		}
		if flags&8 != 0 {
			p.b.s.Session = true
			p.b.notef("session pool (!poolused flag 8), not the system pools")
		}
	}
	if len(rest) > 1 {
		p.b.s.Partial = true
		p.b.notef("only tags matching %q were listed", rest[1])
	}
	p.cols, p.ends, p.tableRows = 0, nil, 0
	return nil
}

// columns reads "Tag Allocs Used Allocs Used" or the verbose
// "Tag Allocs Frees Diff Used Allocs Frees Diff Used". The numbers below
// are right-aligned to the end of each title, which tells where a number
// ends when text is glued to it.
func (p *poolusedParser) columns(line string, f []string) error {
	switch len(f) - 1 {
	case 4:
		p.cols, p.plain = 4, true
	case 8:
		p.cols, p.verbose = 8, true
	default:
		return p.lr.errorf("unexpected !poolused column line %q", strings.TrimSpace(line))
	}
	p.sawHeader = true
	p.tableRows = 0
	p.ends = p.ends[:0]
	i := 0
	for w := 0; w < len(f); w++ {
		i += strings.Index(line[i:], f[w]) + len(f[w])
		if w > 0 {
			p.ends = append(p.ends, i)
		}
	}
	return nil
}

func (p *poolusedParser) row(tag pooltag.Tag, nums []int64, trailer string) {
	p.rows++
	p.tableRows++
	n := p.lr.n
	if p.cols == 8 {
		for i, v := range nums {
			if v < 0 && i%4 != 2 { // only Diff may be negative
				p.b.rowNotef("line %d: %s %s is negative (%d); the row is ignored", n, tag.Trimmed(), verboseColumns[i], v)
				return
			}
		}
		for k, base := range []int{0, 4} {
			a, fr, d, used := nums[base], nums[base+1], nums[base+2], nums[base+3]
			if a-fr != d {
				p.b.rowNotef("line %d: %s %s Diff %d is not Allocs %d - Frees %d", n, tag.Trimmed(), poolName(k == 1), d, a, fr)
			}
			p.b.set(tag, k == 1, uint64(a), uint64(fr), uint64(used), n)
		}
	} else {
		if nums[1] < 0 || nums[3] < 0 {
			p.b.rowNotef("line %d: %s has negative Used bytes (%d, %d); the row is ignored", n, tag.Trimmed(), nums[1], nums[3])
			return
		}
		out := [2]int64{nums[0], nums[2]}
		if !p.setOutstanding(tag, out, uint64(nums[1]), uint64(nums[3]), n) {
			return
		}
	}
	p.b.describe(tag, poolusedTrailer(trailer))
}

// setOutstanding records a plain row. A negative outstanding count (frees
// counted on another CPU's table) is kept as Frees so that Allocs - Frees
// is still the count printed.
func (p *poolusedParser) setOutstanding(tag pooltag.Tag, out [2]int64, nb, pb uint64, line int) bool {
	split := func(o int64) (uint64, uint64) {
		if o < 0 {
			return 0, uint64(-o)
		}
		return uint64(o), 0
	}
	na, nf := split(out[0])
	pa, pf := split(out[1])
	okN := p.b.set(tag, false, na, nf, nb, line)
	okP := p.b.set(tag, true, pa, pf, pb, line)
	if !okN && !okP {
		return false // a repeat of a row already read
	}
	s := p.b.s
	if s.Outstanding == nil {
		s.Outstanding = make(map[pooltag.Tag][2]int64)
	}
	if !okN || !okP {
		// Half of the row repeated what an earlier table said.
		first := s.Outstanding[tag]
		if okN {
			first[0] = out[0]
		}
		if okP {
			first[1] = out[1]
		}
		out = first
	}
	s.Outstanding[tag] = out
	return true
}

// total reads the TOTAL row: the sums over every tag.
func (p *poolusedParser) total(line string) error {
	if p.cols == 0 {
		return nil
	}
	f := strings.Fields(line)[1:]
	if len(f) < p.cols {
		return p.lr.errorf("TOTAL row has %d numbers, want %d", len(f), p.cols)
	}
	nums := make([]uint64, p.cols)
	for i := range nums {
		v, ok := parseUint(f[i])
		if !ok {
			return p.lr.fieldError("TOTAL "+p.colName(i), f[i])
		}
		nums[i] = v
	}
	tot := &p.b.s.Totals
	tot.TaggedPresent = true
	if p.cols == 8 {
		tot.Tagged = pool.Usage{
			NonPagedAllocs: nums[0], NonPagedFrees: nums[1], NonPagedBytes: nums[3],
			PagedAllocs: nums[4], PagedFrees: nums[5], PagedBytes: nums[7],
		}
	} else {
		tot.Tagged = pool.Usage{NonPagedAllocs: nums[0], NonPagedBytes: nums[1], PagedAllocs: nums[2], PagedBytes: nums[3]}
	}
	return nil
}

func (p *poolusedParser) finish() {
	s := p.b.s
	defer p.b.flushRowNotes()
	if p.plain {
		p.b.notef("!poolused gives outstanding allocations only: Allocs holds the outstanding count and Frees is 0 (see Outstanding)")
	}
	if p.plain && p.verbose {
		p.b.notef("plain and verbose tables mixed: tags from the plain one have no Allocs/Frees history")
	}
	if p.cutLine != 0 {
		s.Partial = true
		p.b.notef("the list was cut at line %d (\"...\"): tags there are missing", p.cutLine)
	}
	if p.rows == 0 {
		p.b.notef("no tag rows")
	}
	if s.Totals.TaggedPresent {
		var nb, pb uint64
		for _, u := range s.Usages {
			nb += u.NonPagedBytes
			pb += u.PagedBytes
		}
		tn, tp := s.Totals.Tagged.NonPagedBytes, s.Totals.Tagged.PagedBytes
		switch {
		case nb < tn || pb < tp:
			s.Partial = true
			p.b.notef("listed rows hold %d of the TOTAL row's %d nonpaged bytes and %d of its %d paged bytes: rows are missing", nb, tn, pb, tp)
		case nb > tn || pb > tp:
			p.b.notef("listed rows hold more than the TOTAL row (%d > %d nonpaged or %d > %d paged bytes)", nb, tn, pb, tp)
		}
	}
}

// poolusedTrailer reads the text after the numbers: pooltag.txt's
// "Description , Binary: x.sys", or the debugger's "UNKNOWN pooltag".
func poolusedTrailer(s string) Description {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "UNKNOWN pooltag") {
		return Description{}
	}
	if i := strings.LastIndex(s, ", Binary:"); i >= 0 {
		return Description{Text: strings.TrimSpace(s[:i]), Binary: strings.TrimSpace(s[i+len(", Binary:"):])}
	}
	return Description{Text: s}
}

type poolusedRowError struct {
	index int    // column of the bad number
	field string // "" when the line is not a row at all
	value string
}

// parsePoolusedRow reads a tag and cols numbers. The tag sits in the four
// columns after the leading space ("AGP ", "Dh 1"); a copy whose blanks
// were squeezed has it as the first word instead, so that is tried next.
func parsePoolusedRow(line string, cols int, ends []int) (pooltag.Tag, []int64, string, *poolusedRowError) {
	off := 0
	if strings.HasPrefix(line, " ") {
		off = 1
	}
	var firstErr *poolusedRowError
	if len(line) >= off+5 && isBlankByte(line[off+4]) {
		if tag, ok := tagFromText(strings.TrimRight(line[off:off+4], " ")); ok {
			nums, trailer, err := poolusedNumbers(line, off+4, cols, ends)
			if err == nil {
				return tag, nums, trailer, nil
			}
			firstErr = err
		}
	}
	t := strings.TrimLeft(line, " \t")
	start := len(line) - len(t)
	w := strings.IndexAny(t, " \t")
	if w > 0 {
		if tag, ok := tagFromText(t[:w]); ok {
			nums, trailer, err := poolusedNumbers(line, start+w, cols, nil)
			if err == nil {
				return tag, nums, trailer, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr == nil {
		firstErr = &poolusedRowError{}
	}
	return 0, nil, "", firstErr
}

// poolusedNumbers reads cols numbers from line[pos:]. The last may have
// text glued to it; where the digits run on ("01394 OHCI host controller"
// is 0 then "1394 OHCI ..."), the column end from the title line decides,
// shifted as much as this row's other numbers are, when the digits past
// it form a word of their own (a number too wide for its column ends at
// text or a tab, not at a space before more text). Without a usable
// column end a leading 0 can only be the number 0: counts are never
// printed with leading zeros.
func poolusedNumbers(line string, pos, cols int, ends []int) ([]int64, string, *poolusedRowError) {
	nums := make([]int64, cols)
	shift, aligned := 0, len(ends) == cols
	for k := 0; k < cols; k++ {
		for pos < len(line) && isBlankByte(line[pos]) {
			pos++
		}
		start := pos
		if pos < len(line) && line[pos] == '-' {
			pos++
		}
		for pos < len(line) && line[pos] >= '0' && line[pos] <= '9' {
			pos++
		}
		num := line[start:pos]
		last := k == cols-1
		if !last && pos < len(line) && !isBlankByte(line[pos]) {
			// Text glued to a number that is not the last one.
			end := pos
			for end < len(line) && !isBlankByte(line[end]) {
				end++
			}
			return nil, "", &poolusedRowError{index: k, field: "number", value: line[start:end]}
		}
		if aligned {
			if k == 0 {
				shift = pos - ends[0]
			} else if pos-ends[k] != shift && !last {
				aligned = false
			}
		}
		if last {
			digits := strings.TrimPrefix(num, "-")
			cut := -1
			if aligned {
				cut = ends[k] + shift
			}
			switch {
			case cut > start && cut < pos && pos < len(line) && line[pos] == ' ' && strings.TrimSpace(line[pos:]) != "":
				// The digits past the column end start a word: "01394 OHCI".
				pos = cut
			case len(digits) > 1 && digits[0] == '0':
				pos = start + len(num) - len(digits) + 1
			}
			num = line[start:pos]
		}
		v, ok := parseInt(num)
		if !ok {
			end := pos
			for end < len(line) && !isBlankByte(line[end]) {
				end++
			}
			return nil, "", &poolusedRowError{index: k, field: "number", value: line[start:end]}
		}
		nums[k] = v
	}
	return nums, line[pos:], nil
}
