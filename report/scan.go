package report

import (
	"encoding/hex"
	"fmt"
	"math"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/units"
)

// PoolScan is the pass over the pool itself (poolblame DUMP; not with
// --scan=false): the
// tracker's counts checked against the blocks found, and what the
// leading tags' blocks hold.
type PoolScan struct {
	Mode     string         `json:"mode"`
	Pages    ScanPages      `json:"pages"`
	Checks   []ScanCheck    `json:"checks"`
	Contents []ScanContents `json:"contents"`
	Notes    []string       `json:"notes,omitempty"`
	NotRun   string         `json:"not_run,omitempty"` // nothing to scan: an unknown, not a failure
	Error    string         `json:"error,omitempty"`
}

// ScanPages is what the scan could read.
type ScanPages struct {
	Stored     uint64 `json:"stored"`
	Scanned    uint64 `json:"scanned"`
	PoolPages  uint64 `json:"pool_pages"`
	Truncated  uint64 `json:"truncated"`
	Present    uint64 `json:"present"`
	Transition uint64 `json:"transition"`
	PagedOut   uint64 `json:"paged_out"`
	Absent     uint64 `json:"absent"`
}

// ScanCheck is one tag's tracker count against the blocks found.
type ScanCheck struct {
	Tag       string `json:"tag"`
	Tracker   int64  `json:"tracker"`
	Found     int64  `json:"found"`
	FoundBig  int64  `json:"found_big"`
	Agreement string `json:"agreement"`
	Text      string `json:"text"`
}

// ScanContents is what one tag's blocks hold.
type ScanContents struct {
	Tag         string        `json:"tag"`
	Blocks      int64         `json:"blocks"`
	Read        int           `json:"read"`
	Sizes       []ScanSize    `json:"sizes"`
	Prefix      string        `json:"prefix"`
	PrefixShare float64       `json:"prefix_share"`
	Strings     []ScanString  `json:"strings"`
	Pointers    []ScanPointer `json:"pointers"`
	Samples     []ScanSample  `json:"samples"`
}

// ScanSize is one bar of a size histogram.
type ScanSize struct {
	Size   uint64 `json:"size"`
	Blocks int64  `json:"blocks"`
}

// ScanString is a string found in the blocks read.
type ScanString struct {
	Text   string  `json:"text"`
	UTF16  bool    `json:"utf16"`
	Blocks int     `json:"blocks"`
	Share  float64 `json:"share"`
}

// ScanPointer is where pointers in the blocks lead.
type ScanPointer struct {
	Target  string  `json:"target"`
	Example string  `json:"example"`
	Blocks  int     `json:"blocks"`
	Share   float64 `json:"share"`
}

// ScanSample is one block as a hex dump.
type ScanSample struct {
	Address string `json:"address"`
	Size    uint64 `json:"size"`
	State   string `json:"state"`
	Hex     string `json:"hex"`
}

func poolScanSection(s *analysis.Scan) *PoolScan {
	if s == nil {
		return nil
	}
	p := &PoolScan{Mode: s.Mode, Notes: s.Notes, NotRun: s.NotRun, Error: s.Err, Checks: []ScanCheck{}, Contents: []ScanContents{},
		Pages: ScanPages{Stored: s.Pages.Stored, Scanned: s.Pages.Scanned, PoolPages: s.Pages.PoolPages, Truncated: s.Pages.Truncated,
			Present: s.Pages.Present, Transition: s.Pages.Transition, PagedOut: s.Pages.PagedOut, Absent: s.Pages.Absent}}
	for _, k := range s.Checks {
		p.Checks = append(p.Checks, ScanCheck{Tag: k.Tag.String(), Tracker: k.Tracker, Found: k.Found, FoundBig: k.FoundBig,
			Agreement: k.Agreement.String(), Text: k.Text})
	}
	for _, c := range s.Contents {
		sc := ScanContents{Tag: c.Tag.String(), Blocks: c.Blocks, Read: c.Read, Prefix: hex.EncodeToString(c.Prefix), PrefixShare: c.PrefixShare,
			Sizes: []ScanSize{}, Strings: []ScanString{}, Pointers: []ScanPointer{}, Samples: []ScanSample{}}
		for _, z := range poolscan.TopSizes(c.Sizes, 12) {
			sc.Sizes = append(sc.Sizes, ScanSize{z.Size, z.Blocks})
		}
		for _, st := range c.Strings {
			sc.Strings = append(sc.Strings, ScanString{st.Text, st.UTF16, st.Blocks, st.Share})
		}
		for _, pt := range c.Pointers {
			sc.Pointers = append(sc.Pointers, ScanPointer{pt.Target, pt.Example, pt.Blocks, pt.Share})
		}
		for _, h := range c.Samples {
			sc.Samples = append(sc.Samples, ScanSample{fmt.Sprintf("%#x", h.Addr), h.Size, h.State, poolscan.Hex(h.Addr, h.Bytes)})
		}
		p.Contents = append(p.Contents, sc)
	}
	return p
}

// pagesLine is the scan's page figures in one sentence.
func (p *PoolScan) pagesLine() string {
	g := p.Pages
	s := fmt.Sprintf("%s pool, one pass over %s of %s stored pages; %s pool pages recognised; system address space: %s present, %s in transition, %s paged out, %s absent",
		p.Mode, units.Count(int64(g.Scanned)), units.Count(int64(g.Stored)), units.Count(int64(g.PoolPages)),
		units.Count(int64(g.Present)), units.Count(int64(g.Transition)), units.Count(int64(g.PagedOut)), units.Count(int64(g.Absent)))
	if g.Truncated > 0 {
		s += fmt.Sprintf("; %s pages past the end of the cut file", units.Count(int64(g.Truncated)))
	}
	return s
}

// sizeLabel names a histogram bar; size 0 gathers the other sizes.
func sizeLabel(s ScanSize) string {
	if s.Size == 0 {
		return "other"
	}
	return fmt.Sprintf("%#x", s.Size)
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", math.Round(100*f)) }

// sizeChart draws a tag's size histogram as bars.
func sizeChart(c ScanContents) htmlChart {
	ch := htmlChart{Title: c.Tag + " blocks by size (bytes, header included)", Width: chartWidth, Height: len(c.Sizes)*chartRowH + 6}
	var top int64
	for _, s := range c.Sizes {
		top = max(top, s.Blocks)
	}
	for i, s := range c.Sizes {
		w := 1
		if top > 0 {
			w = max(1, int(math.Round(float64(s.Blocks)/float64(top)*chartBarMax)))
		}
		y := i*chartRowH + 4
		ch.Bars = append(ch.Bars, htmlBar{Tag: sizeLabel(s), Value: units.Count(s.Blocks) + " blocks", Color: barColor,
			X: chartLabelW, Y: y, W: w, H: chartBarH, TextY: y + chartBarH/2 + 5, LabelX: chartLabelW - 8, ValueX: chartLabelW + w + 8})
	}
	return ch
}
