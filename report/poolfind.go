package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/units"
)

// WriteScanContents writes what a tag's blocks hold as indented text, the
// way `poolfind --contents` prints it.
func WriteScanContents(w io.Writer, c *poolscan.Contents, indent string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, indent+format+"\n", a...) }
	p("%s: %s blocks in use found, %d read", c.Tag.Trimmed(), units.Count(c.Blocks), c.Read)
	if len(c.Sizes) > 0 {
		p("  sizes (bytes, header included):")
		for _, s := range poolscan.TopSizes(c.Sizes, 8) {
			label := fmt.Sprintf("%#x", s.Size)
			if s.Size == 0 {
				label = "other"
			}
			p("    %-8s %10s  %s", label, units.Count(s.Blocks), shareBar(s.Blocks, c.Blocks, 30))
		}
	}
	if c.Read == 0 {
		p("  no block could be read")
		return
	}
	if len(c.Prefix) > 0 {
		p("  %.0f%% of the blocks read start with % x", 100*c.PrefixShare, c.Prefix)
	}
	for _, s := range c.Strings {
		enc := "ASCII"
		if s.UTF16 {
			enc = "UTF-16"
		}
		p("  %3.0f%% contain %q (%s)", 100*s.Share, s.Text, enc)
	}
	for _, ptr := range c.Pointers {
		p("  %3.0f%% point into %s, e.g. %s", 100*ptr.Share, ptr.Target, ptr.Example)
	}
	for _, s := range c.Samples {
		p("  block at %#x (%d bytes, %s):", s.Addr, s.Size, s.State)
		for _, line := range strings.Split(strings.TrimRight(poolscan.Hex(s.Addr, s.Bytes), "\n"), "\n") {
			p("    %s", line)
		}
	}
}

// shareBar is n's share of total as up to width '#', at least one for a
// share too small to round to one.
func shareBar(n, total int64, width int) string {
	if total <= 0 {
		return ""
	}
	k := int(float64(width)*float64(n)/float64(total) + 0.5)
	if k == 0 && n > 0 {
		k = 1
	}
	return strings.Repeat("#", k)
}

// ScanPagesSummary is the scan's page figures in one line, as poolfind
// prints them above its listing.
func ScanPagesSummary(p poolscan.PageStats) string {
	s := fmt.Sprintf("%s of %s stored pages scanned, %s pool pages", units.Count(int64(p.Scanned)), units.Count(int64(p.Stored)), units.Count(int64(p.PoolPages)))
	if p.Truncated > 0 {
		s += fmt.Sprintf(", %s past the end of the cut file", units.Count(int64(p.Truncated)))
	}
	s += fmt.Sprintf("; system address space: %s pages present, %s in transition, %s paged out, %s absent from the dump",
		units.Count(int64(p.Present)), units.Count(int64(p.Transition)), units.Count(int64(p.PagedOut)), units.Count(int64(p.Absent)))
	if p.MissingTables > 0 {
		s += fmt.Sprintf(", %d page-table pages missing", p.MissingTables)
	}
	return s
}
