package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/poolblame/poolblame/analysis"

	"github.com/fatih/color"
	"github.com/poolblame/poolblame/units"
)

// palette is the text form's colors. Each render makes its own and sets
// every color on or off explicitly, so the output never depends on the
// color package's process-wide NO_COLOR and terminal detection.
type palette struct {
	title, section, label, loud, warn, bad, good, third, dim *color.Color
}

func newPalette(on bool) palette {
	p := palette{
		title:   color.New(color.Bold),
		section: color.New(color.Bold, color.FgCyan),
		label:   color.New(color.Bold),
		loud:    color.New(color.Bold, color.FgHiWhite, color.BgRed),
		warn:    color.New(color.FgYellow),
		bad:     color.New(color.Bold, color.FgRed),
		good:    color.New(color.FgGreen),
		third:   color.New(color.Bold, color.FgYellow),
		dim:     color.New(color.Faint),
	}
	for _, c := range []*color.Color{p.title, p.section, p.label, p.loud, p.warn, p.bad, p.good, p.third, p.dim} {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

// textWriter writes the text form at a fixed width.
type textWriter struct {
	w     io.Writer
	width int
	c     palette
}

func renderText(w io.Writer, r *Report, o RenderOptions) error {
	t := &textWriter{w: w, width: o.width(), c: newPalette(o.Color)}
	t.header(r)
	t.pressure(r)
	t.verdict(r)
	t.tagTable("LEADING NONPAGED TAGS", r.LeadingNonPaged, r, poolUsed(r, "nonpaged"))
	t.tagTable("LEADING PAGED TAGS", r.LeadingPaged, r, poolUsed(r, "paged"))
	t.poolScan(r)
	t.sessionPool(r)
	t.candidates(r)
	t.sources(r)
	t.warnings(r)
	return nil
}

func poolUsed(r *Report, pool string) string {
	if r.Pool == nil {
		return ""
	}
	if pool == "paged" {
		return units.Bytes(r.Pool.Paged.Used)
	}
	return units.Bytes(r.Pool.NonPaged.Used)
}

func (t *textWriter) printf(format string, a ...any) { fmt.Fprintf(t.w, format, a...) }

// field writes "  Label     value" with value wrapped under itself.
func (t *textWriter) field(indent, labelWidth int, label, value string, c *color.Color) {
	lead := strings.Repeat(" ", indent)
	pad := labelWidth - utf8.RuneCountInString(label)
	if pad < 1 {
		pad = 1
	}
	lines := wrap(value, t.width-indent-labelWidth-pad+1)
	for i, l := range lines {
		if c != nil {
			l = c.Sprint(l)
		}
		if i == 0 {
			t.printf("%s%s%s%s\n", lead, t.c.label.Sprint(label), strings.Repeat(" ", pad), l)
			continue
		}
		t.printf("%s%s%s\n", lead, strings.Repeat(" ", labelWidth), l)
	}
}

// para writes wrapped text with a first-line prefix and a hanging indent.
func (t *textWriter) para(indent int, first, text string, c *color.Color) {
	lead := strings.Repeat(" ", indent)
	hang := strings.Repeat(" ", indent+utf8.RuneCountInString(first))
	for i, l := range wrap(text, t.width-len(hang)) {
		if c != nil {
			l = c.Sprint(l)
		}
		if i == 0 {
			t.printf("%s%s%s\n", lead, first, l)
		} else {
			t.printf("%s%s\n", hang, l)
		}
	}
}

func (t *textWriter) section(name string) {
	t.printf("\n%s\n", t.c.section.Sprint(name))
}

func (t *textWriter) header(r *Report) {
	title := "poolblame report: " + orUnknown(r.Dump.File, "dump")
	t.printf("%s\n", t.c.title.Sprint(truncate(title, t.width)))
	t.printf("%s\n", strings.Repeat("=", min(t.width, utf8.RuneCountInString(title))))
	const lw = 11
	d := r.Dump
	t.field(0, lw, "Dump", dumpFact(d), nil)
	t.field(0, lw, "System", systemFact(d), nil)
	t.field(0, lw, "Bug check", bugCheckFact(d), nil)
	t.field(0, lw, "Time", utc(d.SystemTime), nil)
	t.field(0, lw, "Uptime", units.Uptime(d.UptimeSeconds), nil)
	t.field(0, lw, "Memory", memoryFact(d), nil)
	if !r.Generated.IsZero() {
		t.field(0, lw, "Generated", utc(r.Generated), t.c.dim)
	}
}

// centre pads s on both sides with fill to width.
func centre(s, fill string, width int) string {
	n := max(0, width-len(s))
	return strings.Repeat(fill, n/2) + s + strings.Repeat(fill, n-n/2)
}

// barWidth is the pressure bar's inside width.
const barWidth = 30

// bar draws [#####.....] for a percentage, or [?????] when unknown.
func bar(pct float64) string {
	if !units.Known(pct) {
		return "[" + strings.Repeat("?", barWidth) + "]"
	}
	n := int(pct*barWidth/100 + 0.5)
	n = max(0, min(barWidth, n))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", barWidth-n) + "]"
}

func (t *textWriter) pressure(r *Report) {
	t.section("POOL PRESSURE")
	p := r.Pool
	if p == nil {
		t.para(2, "", "No pool analysis: "+orUnknown(r.PoolError, "the dump carries no pool data"), t.c.warn)
		return
	}
	const lw = 10
	for _, pp := range []struct {
		name string
		p    PoolPressure
	}{{"Nonpaged", p.NonPaged}, {"Paged", p.Paged}} {
		c := t.c.good
		shown := shownPercent(pp.p)
		switch {
		case !units.Known(shown):
			c = t.c.dim
		case shown >= 85:
			c = t.c.bad
		case shown >= 60:
			c = t.c.warn
		}
		pct, b := "   ?", bar(shown)
		switch {
		case overFull(pp.p):
			pct, b = "  ?!", "["+centre(" above the maximum: wrong sums ", "!", barWidth)+"]"
		case units.Known(shown):
			pct = fmt.Sprintf("%5.1f%%", shown)
		}
		t.printf("  %s%s%s %s  %s\n", t.c.label.Sprint(pp.name), strings.Repeat(" ", lw-len(pp.name)),
			c.Sprint(b), c.Sprint(pct), usedOfMax(pp.p))
		lines := []string{maxSourceFact(pp.p), growthFact(pp.p, r.Dump.GrowthSeconds)}
		if d := documentedFact(pp.p); d != "" {
			lines = append(lines, d)
		}
		for _, l := range lines {
			t.para(2+lw, "", l, nil)
		}
	}
	if h := httpSysFact(p.HTTPSys); h != "" {
		c := t.c.good
		if p.HTTPSys.Below {
			c = t.c.bad
		}
		t.field(2, lw, "HTTP.SYS", h, c)
	} else if na := httpSysNA(p, r.Dump.Build); na != "" {
		t.field(2, lw, "HTTP.SYS", na, t.c.dim)
	}
	t.field(2, lw, "Tracker", trackerFact(p), nil)
	if len(p.Checks) > 0 {
		t.field(2, lw, "Checks", checksFact(p.Checks), nil)
		for _, c := range p.Checks {
			if c.Status != "passed" {
				t.para(2+lw, "", strings.ToUpper(c.Status)+" "+c.Name+": "+oneLine(c.Detail), t.c.warn)
			}
		}
	}
	if s := partialFact(p); s != "" {
		t.field(2, lw, "PARTIAL", s, t.c.warn)
	}
	for _, n := range p.Notes {
		t.field(2, lw, "Note", oneLine(n), nil)
	}
	if s := oneCPUFact(p, r.Dump.CPUs); s != "" {
		t.printf("\n")
		rule := strings.Repeat("!", t.width-2)
		t.printf("  %s\n", t.c.loud.Sprint(rule))
		for _, l := range wrap(s, t.width-8) {
			t.printf("  %s\n", t.c.loud.Sprint("!! "+pad(l, t.width-8)+" !!"))
		}
		t.printf("  %s\n", t.c.loud.Sprint(rule))
	}
}

func (t *textWriter) verdict(r *Report) {
	v := r.Verdict
	conf := strings.ToUpper(confidenceFact(v))
	c := t.c.dim
	switch v.Confidence {
	case analysis.High:
		c = t.c.bad
	case analysis.Medium:
		c = t.c.warn
	}
	t.printf("\n%s  %s\n", t.c.section.Sprint("VERDICT"), c.Sprint("confidence: "+conf))
	if len(v.Sentences) == 0 {
		t.para(2, "", "No verdict was reached.", nil)
	}
	for _, s := range v.Sentences {
		t.para(2, "", oneLine(s), t.c.title)
	}
	for _, cu := range v.Culprits {
		owner, oc := culpritOwner(cu), t.c.label
		if cu.Owner == analysis.OwnerThirdParty {
			oc = t.c.third
		}
		t.para(2, "Culprit: ", fmt.Sprintf("%s (%s), tags %s, %s", cu.Driver, owner,
			strings.Join(cu.Tags, ", "), units.Bytes(cu.Bytes)), oc)
	}
	for _, cu := range v.Suspects {
		t.para(2, "Suspect: ", fmt.Sprintf("%s (%s), tags %s, %s: run it under Special Pool (verifier /flags 0x1 /driver %s)", cu.Driver, culpritOwner(cu),
			strings.Join(cu.Tags, ", "), units.Bytes(cu.Bytes), cu.Driver), t.c.warn)
	}
	if len(v.Raise) > 0 {
		t.printf("  %s\n", "To raise the confidence:")
		for _, s := range v.Raise {
			t.para(4, "- ", oneLine(s), nil)
		}
	}
}

// Tag table columns. The fixed columns take 66 of the width; the rest
// lists the candidate drivers, one per line.
var tagColumns = []struct {
	name  string
	width int
}{
	{"Tag", 4}, {"Outstanding", 11}, {"Bytes", 13}, {"Share", 6}, {"Avg size", 8}, {"Growth/day", 10},
}

func (t *textWriter) tagTable(title string, rows []TagRow, r *Report, used string) {
	if used != "" {
		title += " (of " + used + " tracked)"
	}
	t.section(title)
	if len(rows) == 0 {
		t.para(2, "", "none: "+noTagsReason(r), t.c.dim)
		return
	}
	tagW := tagColumns[0].width
	for _, row := range rows {
		tagW = max(tagW, utf8.RuneCountInString(row.Tag))
	}
	var hdr strings.Builder
	hdr.WriteString("  " + pad("Tag", tagW))
	for _, c := range tagColumns[1:] {
		hdr.WriteString("  " + lpad(c.name, c.width))
	}
	hdr.WriteString("  Driver(s)")
	t.printf("%s\n", t.c.label.Sprint(hdr.String()))

	fixed := 2 + tagW
	for _, c := range tagColumns[1:] {
		fixed += 2 + c.width
	}
	drvW := max(t.width-fixed-2, 12)
	blamed := culpritTags(r.Verdict)
	for _, row := range rows {
		tag := pad(row.Tag, tagW)
		if blamed[blameKey(row.Tag)] {
			tag = t.c.bad.Sprint(tag)
		}
		cells := []string{
			lpad(units.Count(row.Outstanding), 11),
			lpad(units.UCount(row.Bytes), 13),
			lpad(units.Percent(row.Share), 6),
			lpad(units.CountF(row.AvgSize), 8),
			lpad(growthCell(row.GrowthPerDay, row.Bytes, r.Dump.GrowthSeconds), 10),
		}
		drivers := t.driverLines(row, drvW)
		t.printf("  %s  %s  %s\n", tag, strings.Join(cells, "  "), drivers[0])
		for _, d := range drivers[1:] {
			t.printf("%s%s\n", strings.Repeat(" ", fixed+2), d)
		}
	}
}

func growthCell(g float64, amount uint64, span float64) string {
	if !growthKnown(g, amount, span) {
		return "?"
	}
	return units.BytesF(g)
}

// driverLines is one line per candidate: "isil.sys call-site x3".
func (t *textWriter) driverLines(row TagRow, w int) []string {
	if len(row.Candidates) == 0 {
		s := "no driver found"
		if n := len(row.TextOnly); n > 0 {
			s = fmt.Sprintf("text in %d file%s only", n, units.Plural(n))
		}
		return []string{t.c.dim.Sprint(truncate(s, w))}
	}
	var out []string
	for _, c := range row.Candidates {
		name := oneLine(c.Name)
		rest := " (" + evidenceFact(c)
		if o := ownerFact(c); o == "Microsoft" {
			rest += ", MS"
		}
		rest += ")"
		if n := utf8.RuneCountInString(name); n+utf8.RuneCountInString(rest) > w {
			rest = truncate(rest, max(w-n, 0))
			name = truncate(name, w-utf8.RuneCountInString(rest))
		}
		if ownerFact(c) == "third party" {
			name = t.c.third.Sprint(name)
		}
		out = append(out, name+rest)
	}
	return out
}

func noTagsReason(r *Report) string {
	if r.Pool == nil {
		return "no pool analysis"
	}
	return "no tag holds bytes in this pool"
}

func (t *textWriter) candidates(r *Report) {
	var rows []TagRow
	rows = append(rows, r.LeadingNonPaged...)
	rows = append(rows, r.LeadingPaged...)
	if len(rows) == 0 {
		return
	}
	t.section("CANDIDATES BY TAG")
	const lw = 11
	for i, row := range rows {
		if i > 0 {
			t.printf("\n")
		}
		head := fmt.Sprintf("%s (%s, %s bytes, %s outstanding)", row.Tag, row.Pool, units.UCount(row.Bytes), units.Count(row.Outstanding))
		t.printf("  %s\n", t.c.label.Sprint(head))
		if row.Description != "" || row.PooltagBinary != "" {
			s := "pooltag.txt: " + orUnknown(oneLine(row.Description), "(no description)")
			if row.PooltagBinary != "" {
				s += " [" + oneLine(row.PooltagBinary) + "]"
			}
			t.para(4, "", s, t.c.dim)
		}
		if len(row.Candidates) == 0 {
			t.para(4, "", "No driver found with this tag.", t.c.warn)
		}
		if s := textOnlyFact(row.TextOnly); s != "" {
			t.para(4, "", "The tag "+s+".", t.c.dim)
		}
		if len(row.Candidates) == 0 {
			continue
		}
		for j, c := range row.Candidates {
			var nc *color.Color
			if ownerFact(c) == "third party" {
				nc = t.c.third
			}
			t.para(4, fmt.Sprintf("%d. ", j+1), oneLine(c.Name)+" - "+identityFact(c), nc)
			for _, f := range []struct {
				label, value string
				c            *color.Color
			}{
				{"describes", describesFact(c), nil},
				{"owner", ownerHintFact(c), nil},
				{"signature", signatureFact(c), nil},
				{"loaded", loadedFact(c), nil},
				{"evidence", routinesFact(c), nil},
				{"file", fileFact(c), nil},
				{"pdb", pdbFact(c), nil},
				{"image", imageFact(c), t.c.dim},
			} {
				if f.value != "" {
					t.field(7, lw, f.label, f.value, f.c)
				}
			}
		}
	}
}

func (t *textWriter) sources(r *Report) {
	t.section("SOURCES")
	for _, s := range sourcesFacts(r.Sources) {
		t.para(2, "", s, nil)
	}
}

func (t *textWriter) warnings(r *Report) {
	if len(r.Warnings) == 0 {
		return
	}
	t.section("WARNINGS")
	for _, w := range r.Warnings {
		t.para(2, "- ", oneLine(w), t.c.warn)
	}
}

// wrap splits text into lines of at most width runes, breaking at spaces
// and cutting words longer than a line.
func wrap(text string, width int) []string {
	width = max(width, 8)
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(text) {
		w := []rune(word)
		for len(w) > width {
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(w[:width]))
			w = w[width:]
		}
		switch {
		case len(cur) == 0:
			cur = w
		case len(cur)+1+len(w) <= width:
			cur = append(append(cur, ' '), w...)
		default:
			lines = append(lines, string(cur))
			cur = w
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// truncate cuts s to n runes, marking the cut with "~".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:max(n, 0)])
	}
	return string(r[:n-1]) + "~"
}

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func lpad(s string, n int) string {
	return strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) + s
}

func (t *textWriter) poolScan(r *Report) {
	p := r.PoolScan
	if p == nil {
		return
	}
	t.section("POOL SCAN")
	if p.Error != "" {
		t.para(2, "", "The pool could not be scanned: "+p.Error+".", nil)
		return
	}
	if p.NotRun != "" {
		t.para(2, "", "Not run: "+p.NotRun+".", nil)
		return
	}
	t.para(2, "", p.pagesLine(), nil)
	for _, k := range p.Checks {
		t.para(2, pad(strings.TrimRight(k.Tag, " "), 6), k.Text, nil)
	}
	for _, n := range p.Notes {
		t.para(2, "note  ", n, nil)
	}
	for _, c := range p.Contents {
		t.printf("\n  %s: %s blocks in use found, %d read\n", strings.TrimRight(c.Tag, " "), units.Count(c.Blocks), c.Read)
		var top int64
		for _, s := range c.Sizes {
			top = max(top, s.Blocks)
		}
		for _, s := range c.Sizes {
			n := 0
			if top > 0 {
				n = max(1, int(30*float64(s.Blocks)/float64(top)+0.5))
			}
			t.printf("    %-8s %10s  %s\n", sizeLabel(s), units.Count(s.Blocks), strings.Repeat("#", n))
		}
		if c.Read == 0 {
			continue
		}
		if c.Prefix != "" {
			t.printf("    %s of the blocks read start with %s\n", pct(c.PrefixShare), c.Prefix)
		}
		for _, s := range c.Strings {
			enc := "ASCII"
			if s.UTF16 {
				enc = "UTF-16"
			}
			t.printf("    %4s contain %q (%s)\n", pct(s.Share), s.Text, enc)
		}
		for _, ptr := range c.Pointers {
			t.printf("    %4s point into %s, e.g. %s\n", pct(ptr.Share), ptr.Target, ptr.Example)
		}
		for _, h := range c.Samples {
			t.printf("    block at %s (%d bytes, %s):\n", h.Address, h.Size, h.State)
			for _, line := range strings.Split(strings.TrimRight(h.Hex, "\n"), "\n") {
				t.printf("      %s\n", line)
			}
		}
	}
}
