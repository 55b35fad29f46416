package report

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is a report's output form.
type Format int

// The output forms.
const (
	Text     Format = iota // terminal text, optionally colored
	JSON                   // the Report as JSON (report/schema/report.schema.json)
	Markdown               // for bug trackers: GitHub, Azure DevOps, Jira
	CSV                    // the leading-tag table, one row per tag and candidate
	HTML                   // one self-contained page with inline SVG charts
)

// formatNames is the canonical name of each format first, then aliases.
var formatNames = []struct {
	f     Format
	names []string
	exts  []string
}{
	{Text, []string{"text", "txt"}, []string{".txt", ".text"}},
	{JSON, []string{"json"}, []string{".json"}},
	{Markdown, []string{"markdown", "md"}, []string{".md", ".markdown"}},
	{CSV, []string{"csv"}, []string{".csv"}},
	{HTML, []string{"html", "htm"}, []string{".html", ".htm"}},
}

func (f Format) String() string {
	for _, n := range formatNames {
		if n.f == f {
			return n.names[0]
		}
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat reads a format name as a user types it on the command line.
func ParseFormat(s string) (Format, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, n := range formatNames {
		for _, name := range n.names {
			if t == name {
				return n.f, nil
			}
		}
	}
	return 0, fmt.Errorf("unknown report format %q (want text, json, markdown, csv or html)", s)
}

// FormatFromPath picks a format from an output file's extension; ok is
// false when the extension names none.
func FormatFromPath(path string) (Format, bool) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, n := range formatNames {
		for _, e := range n.exts {
			if ext == e {
				return n.f, true
			}
		}
	}
	return 0, false
}

// RenderOptions tune the text form; other formats ignore them.
type RenderOptions struct {
	Color bool // ANSI colors in the text form
	Width int  // text columns; 0 means 100
}

// DefaultWidth is the text form's width when RenderOptions.Width is 0:
// what a bug tracker's monospace block shows without scrolling.
const DefaultWidth = 100

// minWidth keeps the tables' fixed columns on one line.
const minWidth = 80

func (o RenderOptions) width() int {
	switch {
	case o.Width <= 0:
		return DefaultWidth
	case o.Width < minWidth:
		return minWidth
	}
	return o.Width
}

// Render writes r to w in format f.
func Render(w io.Writer, r *Report, f Format, o RenderOptions) error {
	if r == nil {
		return fmt.Errorf("report: render %s: no report", f)
	}
	// Renderers write to a buffer so a failed write is reported once,
	// not after every line.
	bw := bufio.NewWriter(w)
	var err error
	switch f {
	case Text:
		err = renderText(bw, r, o)
	case JSON:
		err = renderJSON(bw, r)
	case Markdown:
		err = renderMarkdown(bw, r)
	case CSV:
		err = renderCSV(bw, r)
	case HTML:
		err = renderHTML(bw, r)
	default:
		return fmt.Errorf("report: render: unknown format %d", int(f))
	}
	if err != nil {
		return fmt.Errorf("report: render %s: %w", f, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: render %s: %w", f, err)
	}
	return nil
}
