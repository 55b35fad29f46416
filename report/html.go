package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/poolblame/poolblame/analysis"

	"github.com/poolblame/poolblame/units"
)

// The HTML form is one self-contained page: inline CSS and inline SVG,
// no scripts and no external URLs, so it opens the same from a bug
// attachment, a file share or an air-gapped lab. html/template escapes
// every value taken from the dump or a driver file.

//go:embed html.tmpl
var htmlSource string

// styleSource is the page's style sheet, a template of its own so that
// other pages (the batch summary) can look like a report.
//
//go:embed style.css.tmpl
var styleSource string

var htmlTemplate = func() *template.Template {
	t := template.Must(template.New("report").Parse(htmlSource))
	template.Must(t.New("style").Parse(styleSource))
	return t
}()

// StyleSheet returns the report's style sheet, for pages that should look
// like a report: the batch summary puts it in its own <style> element.
func StyleSheet() (template.CSS, error) {
	var b strings.Builder
	if err := htmlTemplate.ExecuteTemplate(&b, "style", htmlView{CulpritColor: culpritColor}); err != nil {
		return "", err
	}
	return template.CSS(b.String()), nil // the project's own sheet: nothing from the input is in it
}

// Chart colors. The tests look for them in a screenshot of the page.
const (
	barColor     = "#3b6fb6" // a leading tag's bar
	culpritColor = "#c2410c" // a bar for a tag the verdict blames
)

// Gauge colors by how full the pool is.
var gaugeLevels = []struct {
	from  float64
	color string
}{{85, "#b91c1c"}, {60, "#d97706"}, {0, "#15803d"}}

const gaugeUnknown = "#9ca3af"

type htmlView struct {
	Title, File string
	System      string
	Facts       []htmlFact
	Generated   string
	Schema      string
	// CulpritColor is the legend swatch, the same as the blamed bars.
	CulpritColor string

	OneCPU string

	Confidence, ConfidenceClass string
	Sentences                   []string
	Culprits                    []htmlCulprit
	Raise                       []string

	PoolError string
	Gauges    []htmlGauge
	Alerts    []htmlAlert
	Notes     []string

	Charts     []htmlChart
	Tables     []htmlTable
	Scan       *htmlScan
	Session    *htmlSession
	Candidates []htmlTagCandidates
	Sources    []string
	Warnings   []string
}

// htmlScan is the pool scan section.
type htmlScan struct {
	Error, NotRun, Pages string
	Checks               []htmlFact
	Notes                []string
	Contents             []htmlScanContents
}

type htmlScanContents struct {
	Heading string
	Chart   htmlChart
	Lines   []string
	Samples []htmlFact // Label: the block, Value: its hex dump
}

type htmlFact struct {
	Label, Value string
	Mono         bool // a path or a hash: monospace
}

type htmlCulprit struct {
	Driver, Owner, Tags, Size string
	ThirdParty                bool
}

type htmlAlert struct {
	Label, Text string
	Bad         bool
}

// htmlGauge is a semicircle: the track is the full half circle, the
// value arc covers Percent of it.
type htmlGauge struct {
	Name, Percent, Color, Track, Arc string
	Lines                            []string
}

type htmlChart struct {
	Title         string
	Blamed        bool // some bar is a blamed tag: show the legend
	Width, Height int
	Bars          []htmlBar
}

type htmlBar struct {
	Tag, Value, Color string
	X, Y, W, H, TextY int
	LabelX, ValueX    int
}

type htmlTable struct {
	Title, Empty string
	Rows         []htmlRow
}

type htmlRow struct {
	Tag, Outstanding, Bytes, Share, AvgSize, Growth string
	Blamed                                          bool
	Drivers                                         []htmlDriverCell
}

type htmlDriverCell struct {
	Name, Note string
	ThirdParty bool
}

type htmlTagCandidates struct {
	Heading, Pooltag string
	Candidates       []htmlCandidate
}

type htmlCandidate struct {
	Name, Identity string
	ThirdParty     bool
	Fields         []htmlFact
}

func renderHTML(w io.Writer, r *Report) error {
	return htmlTemplate.Execute(w, newHTMLView(r))
}

func newHTMLView(r *Report) htmlView {
	d := r.Dump
	v := htmlView{
		Title:  "Pool leak report: " + orUnknown(d.File, "dump"),
		File:   orUnknown(d.File, "dump"),
		System: systemFact(d),
		Facts: []htmlFact{
			{Label: "Dump", Value: dumpFact(d)},
			{Label: "System", Value: systemFact(d)},
			{Label: "Bug check", Value: bugCheckFact(d)},
			{Label: "System time", Value: utc(d.SystemTime)},
			{Label: "Uptime", Value: units.Uptime(d.UptimeSeconds)},
			{Label: "Memory", Value: memoryFact(d)},
		},
		Schema:       SchemaVersion,
		CulpritColor: culpritColor,
		OneCPU:       oneCPUFact(r.Pool, d.CPUs),
		Confidence:   confidenceFact(r.Verdict),
		Raise:        oneLines(r.Verdict.Raise),
		Sentences:    oneLines(r.Verdict.Sentences),
		PoolError:    r.PoolError,
		Sources:      sourcesFacts(r.Sources),
		Warnings:     oneLines(r.Warnings),
	}
	if !r.Generated.IsZero() {
		v.Generated = utc(r.Generated)
	}
	v.ConfidenceClass = r.Verdict.Confidence.String()
	for _, c := range r.Verdict.Culprits {
		v.Culprits = append(v.Culprits, htmlCulprit{Driver: c.Driver, Owner: culpritOwner(c),
			Tags: strings.Join(c.Tags, ", "), Size: units.Bytes(c.Bytes), ThirdParty: c.Owner == analysis.OwnerThirdParty})
	}
	if p := r.Pool; p != nil {
		v.PoolError = ""
		v.Gauges = []htmlGauge{gauge("Nonpaged pool", p.NonPaged, r.Dump.GrowthSeconds), gauge("Paged pool", p.Paged, r.Dump.GrowthSeconds)}
		if h := httpSysFact(p.HTTPSys); h != "" {
			v.Alerts = append(v.Alerts, htmlAlert{"HTTP.SYS", h, p.HTTPSys.Below})
		}
		if s := partialFact(p); s != "" {
			v.Alerts = append(v.Alerts, htmlAlert{"Partial", s, true})
		}
		v.Notes = append([]string{"Tracker: " + trackerFact(p)}, oneLines(p.Notes)...)
	} else if v.PoolError == "" {
		v.PoolError = "the dump carries no pool data"
	}
	blamed := culpritTags(r.Verdict)
	for _, t := range []struct {
		title string
		rows  []TagRow
		pool  string
	}{{"Leading nonpaged tags", r.LeadingNonPaged, "nonpaged"}, {"Leading paged tags", r.LeadingPaged, "paged"}} {
		title := t.title
		if u := poolUsed(r, t.pool); u != "" {
			title += " (of " + u + " tracked)"
		}
		if len(t.rows) > 0 {
			v.Charts = append(v.Charts, chart(t.title+" by bytes", t.rows, blamed))
		}
		v.Tables = append(v.Tables, tagTable(title, t.rows, r, blamed))
		for _, row := range t.rows {
			v.Candidates = append(v.Candidates, tagCandidates(row))
		}
	}
	v.Scan = scanView(r.PoolScan)
	v.Session = sessionView(r.SessionPool)
	return v
}

func scanView(p *PoolScan) *htmlScan {
	if p == nil {
		return nil
	}
	s := &htmlScan{Error: p.Error, NotRun: p.NotRun, Notes: oneLines(p.Notes)}
	if p.Error != "" || p.NotRun != "" {
		return s
	}
	s.Pages = p.pagesLine()
	for _, k := range p.Checks {
		s.Checks = append(s.Checks, htmlFact{Label: strings.TrimRight(k.Tag, " "), Value: k.Text})
	}
	for _, c := range p.Contents {
		hc := htmlScanContents{Heading: fmt.Sprintf("What %s blocks hold: %s found in use, %d read", strings.TrimRight(c.Tag, " "), units.Count(c.Blocks), c.Read)}
		if len(c.Sizes) > 0 {
			hc.Chart = sizeChart(c)
		}
		if c.Prefix != "" {
			hc.Lines = append(hc.Lines, fmt.Sprintf("%s of the blocks read start with %s", pct(c.PrefixShare), c.Prefix))
		}
		for _, st := range c.Strings {
			enc := "ASCII"
			if st.UTF16 {
				enc = "UTF-16"
			}
			hc.Lines = append(hc.Lines, fmt.Sprintf("%s contain %q (%s)", pct(st.Share), st.Text, enc))
		}
		for _, pt := range c.Pointers {
			hc.Lines = append(hc.Lines, fmt.Sprintf("%s point into %s, e.g. %s", pct(pt.Share), pt.Target, pt.Example))
		}
		for _, h := range c.Samples {
			hc.Samples = append(hc.Samples, htmlFact{Label: fmt.Sprintf("Block at %s (%d bytes, %s)", h.Address, h.Size, h.State), Value: h.Hex})
		}
		s.Contents = append(s.Contents, hc)
	}
	return s
}

func oneLines(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = oneLine(s)
	}
	return out
}

// Gauge geometry in the SVG's own units (viewBox 0 0 200 112).
const (
	gaugeCX, gaugeCY, gaugeR = 100.0, 100.0, 80.0
)

func gauge(name string, p PoolPressure, span float64) htmlGauge {
	g := htmlGauge{
		Name:  name,
		Track: fmt.Sprintf("M %.1f %.1f A %.0f %.0f 0 0 1 %.1f %.1f", gaugeCX-gaugeR, gaugeCY, gaugeR, gaugeR, gaugeCX+gaugeR, gaugeCY),
		Color: gaugeUnknown, Percent: "?",
		Lines: []string{usedOfMax(p), maxSourceFact(p), growthFact(p, span)},
	}
	if d := documentedFact(p); d != "" {
		g.Lines = append(g.Lines, d)
	}
	if !units.Known(p.Percent) || p.Max == 0 {
		return g
	}
	if overFull(p) {
		// Over 100% is not a reading: the sums or the maximum are wrong.
		g.Percent, g.Color = "?!", gaugeLevels[0].color
		return g
	}
	g.Percent = fmt.Sprintf("%.0f%%", p.Percent)
	pct := math.Min(p.Percent, 100)
	for _, l := range gaugeLevels {
		if p.Percent >= l.from {
			g.Color = l.color
			break
		}
	}
	if pct > 0 {
		a := math.Pi * pct / 100
		x := gaugeCX - gaugeR*math.Cos(a)
		y := gaugeCY - gaugeR*math.Sin(a)
		g.Arc = fmt.Sprintf("M %.1f %.1f A %.0f %.0f 0 0 1 %.1f %.1f", gaugeCX-gaugeR, gaugeCY, gaugeR, gaugeR, x, y)
	}
	return g
}

// Bar chart geometry: a tag label column, the bars, then the value.
const (
	chartWidth  = 760
	chartLabelW = 64
	chartBarMax = 470
	chartRowH   = 30
	chartBarH   = 20
)

func chart(title string, rows []TagRow, blamed map[string]bool) htmlChart {
	c := htmlChart{Title: title, Width: chartWidth, Height: len(rows)*chartRowH + 6}
	var top uint64
	for _, row := range rows {
		top = max(top, row.Bytes)
	}
	for i, row := range rows {
		w := 1
		if top > 0 {
			w = max(1, int(math.Round(float64(row.Bytes)/float64(top)*chartBarMax)))
		}
		color := barColor
		if blamed[blameKey(row.Tag)] {
			color = culpritColor
			c.Blamed = true
		}
		y := i*chartRowH + 4
		c.Bars = append(c.Bars, htmlBar{
			Tag: row.Tag, Value: units.Bytes(row.Bytes) + "  ·  " + units.Percent(row.Share),
			Color: color, X: chartLabelW, Y: y, W: w, H: chartBarH, TextY: y + chartBarH/2 + 5,
			LabelX: chartLabelW - 8, ValueX: chartLabelW + w + 8,
		})
	}
	return c
}

func tagTable(title string, rows []TagRow, r *Report, blamed map[string]bool) htmlTable {
	t := htmlTable{Title: title}
	if len(rows) == 0 {
		t.Empty = "None: " + noTagsReason(r) + "."
	}
	for _, row := range rows {
		hr := htmlRow{
			Tag: row.Tag, Outstanding: units.Count(row.Outstanding), Bytes: units.UCount(row.Bytes),
			Share: units.Percent(row.Share), AvgSize: units.CountF(row.AvgSize), Growth: growthCell(row.GrowthPerDay, row.Bytes, r.Dump.GrowthSeconds),
			Blamed: blamed[blameKey(row.Tag)],
		}
		for _, c := range row.Candidates {
			note := evidenceFact(c)
			if ownerFact(c) == "Microsoft" {
				note += ", Microsoft"
			}
			hr.Drivers = append(hr.Drivers, htmlDriverCell{Name: oneLine(c.Name), Note: note, ThirdParty: ownerFact(c) == "third party"})
		}
		t.Rows = append(t.Rows, hr)
	}
	return t
}

func tagCandidates(row TagRow) htmlTagCandidates {
	tc := htmlTagCandidates{
		Heading: fmt.Sprintf("%s (%s, %s bytes, %s outstanding)", row.Tag, row.Pool, units.UCount(row.Bytes), units.Count(row.Outstanding)),
	}
	if row.Description != "" || row.PooltagBinary != "" {
		tc.Pooltag = "pooltag.txt: " + orUnknown(oneLine(row.Description), "(no description)")
		if row.PooltagBinary != "" {
			tc.Pooltag += " (" + oneLine(row.PooltagBinary) + ")"
		}
	}
	for _, c := range row.Candidates {
		hc := htmlCandidate{Name: oneLine(c.Name), Identity: identityFact(c), ThirdParty: ownerFact(c) == "third party"}
		for _, f := range []htmlFact{
			{Label: "Describes", Value: describesFact(c)},
			{Label: "Owner", Value: ownerHintFact(c)},
			{Label: "Signature", Value: signatureFact(c)},
			{Label: "Loaded in the dump", Value: loadedFact(c)},
			{Label: "Evidence", Value: routinesFact(c)},
			{Label: "File", Value: fileFact(c), Mono: true},
			{Label: "PDB", Value: pdbFact(c), Mono: true},
			{Label: "Image", Value: imageFact(c), Mono: true},
		} {
			if f.Value != "" {
				hc.Fields = append(hc.Fields, f)
			}
		}
		tc.Candidates = append(tc.Candidates, hc)
	}
	return tc
}
