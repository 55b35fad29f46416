package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/poolblame/poolblame/units"
)

// The Markdown form keeps to what GitHub, Azure DevOps and Jira's
// Markdown support all render: headings, pipe tables, block quotes,
// bullet lists and code spans. Only supplementary detail goes in a
// <details> block, which some trackers show expanded or as raw text.

type mdWriter struct {
	w io.Writer
}

func (m mdWriter) printf(format string, a ...any) { fmt.Fprintf(m.w, format, a...) }

func renderMarkdown(w io.Writer, r *Report) error {
	m := mdWriter{w}
	m.printf("# Pool leak report: %s\n\n", mdText(orUnknown(r.Dump.File, "dump")))
	m.facts(r)
	if s := oneCPUFact(r.Pool, r.Dump.CPUs); s != "" {
		// Above the verdict: it qualifies every number after it.
		m.printf("> **WARNING: %s**\n\n", mdText(s))
	}
	m.verdict(r)
	m.pressure(r)
	m.tagTable("Leading nonpaged tags", r.LeadingNonPaged, r, poolUsed(r, "nonpaged"))
	m.tagTable("Leading paged tags", r.LeadingPaged, r, poolUsed(r, "paged"))
	m.poolScan(r)
	m.sessionPool(r)
	m.candidates(r)
	m.sources(r)
	m.details(r)
	return nil
}

func (m mdWriter) facts(r *Report) {
	d := r.Dump
	m.printf("| Fact | Value |\n|---|---|\n")
	rows := [][2]string{
		{"Dump", mdCell(dumpFact(d))},
		{"System", mdCell(systemFact(d))},
		{"Bug check", mdCell(bugCheckFact(d))},
		{"System time", mdCell(utc(d.SystemTime))},
		{"Uptime", mdCell(units.Uptime(d.UptimeSeconds))},
		{"Memory", mdCell(memoryFact(d))},
	}
	if !r.Generated.IsZero() {
		rows = append(rows, [2]string{"Report generated", mdCell(utc(r.Generated))})
	}
	for _, row := range rows {
		m.printf("| **%s** | %s |\n", row[0], row[1])
	}
	m.printf("\n")
}

func (m mdWriter) verdict(r *Report) {
	v := r.Verdict
	m.printf("## Verdict\n\n")
	m.printf("> **Confidence: %s.**", mdText(confidenceFact(v)))
	if len(v.Sentences) == 0 {
		m.printf(" No verdict was reached.")
	}
	for _, s := range v.Sentences {
		m.printf(" %s", mdText(oneLine(s)))
	}
	m.printf("\n")
	for _, c := range v.Suspects {
		m.printf(">\n> **Suspect (pool corruption):** %s (%s), tags %s: run it under Special Pool (verifier /flags 0x1 /driver %s)\n", mdText(c.Driver), culpritOwner(c), strings.Join(c.Tags, ", "), mdText(c.Driver))
	}
	for _, c := range v.Culprits {
		owner := culpritOwner(c)
		tags := make([]string, len(c.Tags))
		for i, t := range c.Tags {
			tags[i] = mdCode(t)
		}
		m.printf(">\n> **Culprit:** %s (%s), tags %s, %s\n", mdText(c.Driver), owner, strings.Join(tags, ", "), units.Bytes(c.Bytes))
	}
	if len(v.Raise) > 0 {
		m.printf(">\n> To raise the confidence:\n")
		for _, s := range v.Raise {
			m.printf("> - %s\n", mdText(oneLine(s)))
		}
	}
	m.printf("\n")
}

func (m mdWriter) pressure(r *Report) {
	m.printf("## Pool pressure\n\n")
	p := r.Pool
	if p == nil {
		m.printf("**No pool analysis:** %s\n\n", mdText(orUnknown(r.PoolError, "the dump carries no pool data")))
		return
	}
	m.printf("| Pool | Used | Maximum | Use | Growth/day | Outlook | Maximum from |\n")
	m.printf("|---|--:|--:|--:|--:|---|---|\n")
	for _, pp := range []struct {
		name string
		p    PoolPressure
	}{{"Nonpaged", p.NonPaged}, {"Paged", p.Paged}} {
		max := "unknown"
		if pp.p.Max > 0 {
			max = units.Bytes(pp.p.Max)
		}
		use := units.Percent(pp.p.Percent)
		if overFull(pp.p) {
			use = "over 100%: " + mdCell(usedOfMax(pp.p))
		}
		m.printf("| %s | %s | %s | %s | %s | %s | %s |\n", pp.name, units.Bytes(pp.p.Used), max,
			use, growthCell(pp.p.GrowthPerDay, pp.p.Used, r.Dump.GrowthSeconds), mdCell(outlook(pp.p, r.Dump.GrowthSeconds)),
			mdCell(orUnknown(pp.p.MaxSource, "unknown")))
	}
	m.printf("\n")
	if h := httpSysFact(p.HTTPSys); h != "" {
		if p.HTTPSys.Below {
			m.printf("- **HTTP.SYS:** **%s**\n", mdText(h))
		} else {
			m.printf("- **HTTP.SYS:** %s\n", mdText(h))
		}
	}
	if s := partialFact(p); s != "" {
		m.printf("- **Partial:** %s\n", mdText(s))
	}
	m.printf("- **Tracker:** %s\n", mdText(trackerFact(p)))
	m.printf("\n")
}

// outlook is the time-to-exhaustion clause of growthFact for a table cell.
func outlook(p PoolPressure, span float64) string {
	g := growthFact(p, span)
	if i := strings.Index(g, "; "); i >= 0 {
		return g[i+2:]
	}
	return g
}

func (m mdWriter) tagTable(title string, rows []TagRow, r *Report, used string) {
	if used != "" {
		title += " (of " + used + " tracked)"
	}
	m.printf("## %s\n\n", title)
	if len(rows) == 0 {
		m.printf("None: %s.\n\n", noTagsReason(r))
		return
	}
	blamed := culpritTags(r.Verdict)
	m.printf("| Tag | Outstanding | Bytes | Share | Avg size | Growth/day | Driver(s) |\n")
	m.printf("|---|--:|--:|--:|--:|--:|---|\n")
	for _, row := range rows {
		tag := mdCode(row.Tag)
		if blamed[blameKey(row.Tag)] {
			tag = "**" + tag + "**"
		}
		var drivers []string
		for _, c := range row.Candidates {
			name := mdCell(oneLine(c.Name))
			if ownerFact(c) == "third party" {
				name = "**" + name + "**"
			}
			extra := evidenceFact(c)
			if ownerFact(c) == "Microsoft" {
				extra += ", Microsoft"
			}
			drivers = append(drivers, name+" ("+mdCell(extra)+")")
		}
		if len(drivers) == 0 {
			drivers = []string{"no driver found"}
		}
		m.printf("| %s | %s | %s | %s | %s | %s | %s |\n", tag, units.Count(row.Outstanding), units.UCount(row.Bytes),
			units.Percent(row.Share), units.CountF(row.AvgSize), growthCell(row.GrowthPerDay, row.Bytes, r.Dump.GrowthSeconds), strings.Join(drivers, "; "))
	}
	m.printf("\n")
}

func (m mdWriter) candidates(r *Report) {
	rows := append(append([]TagRow(nil), r.LeadingNonPaged...), r.LeadingPaged...)
	if len(rows) == 0 {
		return
	}
	m.printf("## Candidates by tag\n\n")
	for _, row := range rows {
		m.printf("### %s (%s, %s bytes, %s outstanding)\n\n", mdCode(row.Tag), row.Pool, units.UCount(row.Bytes), units.Count(row.Outstanding))
		if row.Description != "" || row.PooltagBinary != "" {
			s := "pooltag.txt: " + mdText(orUnknown(oneLine(row.Description), "(no description)"))
			if row.PooltagBinary != "" {
				s += " (" + mdCode(oneLine(row.PooltagBinary)) + ")"
			}
			m.printf("%s\n\n", s)
		}
		if len(row.Candidates) == 0 {
			m.printf("No driver found with this tag.\n\n")
		}
		if s := textOnlyFact(row.TextOnly); s != "" {
			m.printf("The tag %s.\n\n", mdText(s))
		}
		if len(row.Candidates) == 0 {
			continue
		}
		for _, c := range row.Candidates {
			m.printf("- **%s** %s\n", mdText(oneLine(c.Name)), mdText(identityFact(c)))
			if d := describesFact(c); d != "" {
				m.printf("  - describes: %s\n", mdText(d))
			}
			if o := ownerHintFact(c); o != "" {
				m.printf("  - owner: %s\n", mdText(o))
			}
			m.printf("  - signature: %s\n", mdText(signatureFact(c)))
			m.printf("  - loaded in the dump: %s\n", mdText(loadedFact(c)))
			ev := mdText(evidenceFact(c))
			if len(c.Routines) > 0 {
				rs := make([]string, len(c.Routines))
				for i, rt := range c.Routines {
					rs[i] = mdCode(rt)
				}
				ev += " in " + strings.Join(rs, ", ")
			}
			m.printf("  - evidence: %s\n", ev)
			if c.Path != "" {
				m.printf("  - file: %s (%s)\n", mdCode(c.Path), mdText(c.Source.String()))
			}
			if c.PDB != nil {
				m.printf("  - PDB: %s\n", mdText(pdbFact(c)))
			}
		}
		m.printf("\n")
	}
}

func (m mdWriter) sources(r *Report) {
	m.printf("## Sources\n\n")
	for _, s := range sourcesFacts(r.Sources) {
		m.printf("- %s\n", mdText(s))
	}
	m.printf("\n")
	if len(r.Warnings) > 0 {
		m.printf("## Warnings\n\n")
		for _, w := range r.Warnings {
			m.printf("- %s\n", mdText(oneLine(w)))
		}
		m.printf("\n")
	}
}

// details holds what supports the report but is not needed to act on it.
func (m mdWriter) details(r *Report) {
	var lines []string
	if p := r.Pool; p != nil {
		for _, pp := range []struct {
			name string
			p    PoolPressure
		}{{"Nonpaged", p.NonPaged}, {"Paged", p.Paged}} {
			lines = append(lines, fmt.Sprintf("%s: %s; %s", pp.name, usageFact(pp.p), growthFact(pp.p, r.Dump.GrowthSeconds)))
			if d := documentedFact(pp.p); d != "" {
				lines = append(lines, pp.name+" "+d)
			}
		}
		for _, n := range p.Notes {
			lines = append(lines, oneLine(n))
		}
	}
	for _, row := range append(append([]TagRow(nil), r.LeadingNonPaged...), r.LeadingPaged...) {
		for _, c := range row.Candidates {
			if id := imageFact(c); id != "" {
				lines = append(lines, fmt.Sprintf("%s (%s): %s", oneLine(c.Name), row.Tag, id))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	m.printf("<details>\n<summary>Details</summary>\n\n")
	for _, l := range lines {
		m.printf("- %s\n", mdText(l))
	}
	m.printf("\n</details>\n")
}

// mdSpecial is what CommonMark could read as markup. A backslash before
// ASCII punctuation is a literal in GitHub, Azure DevOps and Jira.
const mdSpecial = "\\`*[]<>|~"

// mdText escapes text for a paragraph, list item or table cell. An
// underscore between letters or digits never starts emphasis, so
// LIVE_SYSTEM_DUMP and triage_x64.dmp stay readable in the raw text.
func mdText(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		switch {
		case strings.ContainsRune(mdSpecial, c):
			b.WriteByte('\\')
		case c == '_' && !(i > 0 && i+1 < len(r) && isWordRune(r[i-1]) && isWordRune(r[i+1])):
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func isWordRune(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }

// mdCell is mdText for a table cell: a single line.
func mdCell(s string) string { return mdText(oneLine(s)) }

// mdCode is a code span, safe in a table cell: the fence is longer than
// any run of backticks inside, and "|" is escaped because GitHub splits
// table cells on it even inside code spans.
func mdCode(s string) string {
	s = strings.ReplaceAll(oneLineKeep(s), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// oneLineKeep replaces line breaks but keeps spaces, which matter in
// pool tags ("IAM " is not "IAM").
func oneLineKeep(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s // the usual case, without building a replacer (poolfind --csv calls this per row)
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func (m mdWriter) poolScan(r *Report) {
	p := r.PoolScan
	if p == nil {
		return
	}
	m.printf("## Pool scan\n\n")
	if p.Error != "" {
		m.printf("The pool could not be scanned: %s.\n\n", mdText(p.Error))
		return
	}
	if p.NotRun != "" {
		m.printf("Not run: %s.\n\n", mdText(p.NotRun))
		return
	}
	m.printf("%s.\n\n", mdText(p.pagesLine()))
	for _, k := range p.Checks {
		m.printf("- %s: %s\n", mdCode(strings.TrimRight(k.Tag, " ")), mdText(k.Text))
	}
	for _, n := range p.Notes {
		m.printf("- Note: %s\n", mdText(n))
	}
	m.printf("\n")
	for _, c := range p.Contents {
		m.printf("### What %s blocks hold\n\n%s blocks in use found, %d read.\n\n", mdCode(strings.TrimRight(c.Tag, " ")), units.Count(c.Blocks), c.Read)
		if len(c.Sizes) > 0 {
			m.printf("| Size | Blocks |\n|---:|---:|\n")
			for _, s := range c.Sizes {
				m.printf("| %s | %s |\n", sizeLabel(s), units.Count(s.Blocks))
			}
			m.printf("\n")
		}
		if c.Prefix != "" {
			m.printf("- %s of the blocks read start with %s\n", pct(c.PrefixShare), mdCode(c.Prefix))
		}
		for _, s := range c.Strings {
			enc := "ASCII"
			if s.UTF16 {
				enc = "UTF-16"
			}
			m.printf("- %s contain %s (%s)\n", pct(s.Share), mdCode(s.Text), enc)
		}
		for _, ptr := range c.Pointers {
			m.printf("- %s point into %s, e.g. %s\n", pct(ptr.Share), mdText(ptr.Target), mdCode(ptr.Example))
		}
		for _, h := range c.Samples {
			m.printf("\nBlock at %s (%d bytes, %s):\n\n```text\n%s```\n", mdCode(h.Address), h.Size, h.State, h.Hex)
		}
		m.printf("\n")
	}
}
