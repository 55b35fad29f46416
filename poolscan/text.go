package poolscan

import (
	"fmt"
	"io"
	"strings"
)

// WriteContentsText writes what a tag's blocks hold as indented text.
func WriteContentsText(w io.Writer, c *Contents, indent string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, indent+format+"\n", a...) }
	p("%s: %s blocks in use found, %d read", c.Tag.Trimmed(), commas(c.Blocks), c.Read)
	if len(c.Sizes) > 0 {
		p("  sizes (bytes, header included):")
		for _, s := range TopSizes(c.Sizes, 8) {
			label := fmt.Sprintf("%#x", s.Size)
			if s.Size == 0 {
				label = "other"
			}
			p("    %-8s %10s  %s", label, commas(s.Blocks), bar(s.Blocks, c.Blocks, 30))
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
		for _, line := range strings.Split(strings.TrimRight(Hex(s.Addr, s.Bytes), "\n"), "\n") {
			p("    %s", line)
		}
	}
}

// TopSizes keeps the n sizes with the most blocks, in size order, and
// folds the rest into one entry of Size 0.
func TopSizes(sizes []SizeCount, n int) []SizeCount {
	if len(sizes) <= n {
		return sizes
	}
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	// a partial selection sort: n is small.
	for i := 0; i < n; i++ {
		for j := i + 1; j < len(idx); j++ {
			if sizes[idx[j]].Blocks > sizes[idx[i]].Blocks {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	keep := map[int]bool{}
	for _, i := range idx[:n] {
		keep[i] = true
	}
	var out []SizeCount
	var other int64
	for i, s := range sizes {
		if keep[i] {
			out = append(out, s)
		} else {
			other += s.Blocks
		}
	}
	return append(out, SizeCount{0, other})
}

func bar(n, total int64, width int) string {
	if total <= 0 {
		return ""
	}
	k := int(float64(width)*float64(n)/float64(total) + 0.5)
	if k == 0 && n > 0 {
		k = 1
	}
	return strings.Repeat("#", k)
}

// Summary is the scan's page figures in one line.
func (p PageStats) Summary() string {
	s := fmt.Sprintf("%s of %s stored pages scanned, %s pool pages", commas(int64(p.Scanned)), commas(int64(p.Stored)), commas(int64(p.PoolPages)))
	if p.Truncated > 0 {
		s += fmt.Sprintf(", %s past the end of the cut file", commas(int64(p.Truncated)))
	}
	s += fmt.Sprintf("; system address space: %s pages present, %s in transition, %s paged out, %s absent from the dump",
		commas(int64(p.Present)), commas(int64(p.Transition)), commas(int64(p.PagedOut)), commas(int64(p.Absent)))
	if p.MissingTables > 0 {
		s += fmt.Sprintf(", %d page-table pages missing", p.MissingTables)
	}
	return s
}
