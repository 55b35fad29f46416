package batch

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/poolblame/poolblame/units"
)

// Charts are inline SVG without the xmlns attribute (HTML parsers place
// <svg> in its namespace themselves), so the page names no URL at all.
// They are built here as data (svgChart) and drawn by the summary's
// template, which escapes every name and title in them.

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// svgChart is one chart: its size, its title and its elements, drawn in
// order (later ones on top).
type svgChart struct {
	W, H  float64
	Title string
	Elems []svgElem
}

// svgKind names the SVG element an svgElem is drawn as.
type svgKind string

const (
	svgText     svgKind = "text"
	svgLine     svgKind = "line"
	svgPolyline svgKind = "polyline"
	svgCircle   svgKind = "circle"
	svgRect     svgKind = "rect"
)

// svgElem is one element of a chart. Which fields count depends on Kind:
// a line runs from (X, Y) to (X2, Y2); a circle is centred on (X, Y); a
// rect has its corner at (X, Y) and size W by H; a text starts at (X, Y).
type svgElem struct {
	Kind         svgKind
	X, Y, X2, Y2 float64
	W, H         float64
	Class        string
	Fill, Stroke string // colors from palette or literals here, never from input
	Dash         string // stroke-dasharray
	Points       string // a polyline's "x,y x,y ..."
	Text         string // a text's content
	Title        string // the tooltip
}

// chartLine is one line of a line chart: points in order, a new segment
// wherever seg changes (a reboot restarts the counters).
type chartLine struct {
	name string
	pts  []chartPoint
}

type chartPoint struct {
	x, y  float64
	seg   int
	title string
}

// chartGeom is the drawing area of a chart.
type chartGeom struct {
	w, h, left, right, top, bottom float64
	x0, x1, y0, y1                 float64
}

func (g chartGeom) px(x float64) float64 {
	return g.left + (x-g.x0)/(g.x1-g.x0)*(g.w-g.left-g.right)
}

func (g chartGeom) py(y float64) float64 {
	return g.h - g.bottom - (y-g.y0)/(g.y1-g.y0)*(g.h-g.top-g.bottom)
}

// tickSteps are the spacings a time axis may use, in seconds.
var tickSteps = []float64{3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 365 * 86400}

// timeTicks labels a time axis (unix seconds) at round UTC times, at
// most six of them.
func (g chartGeom) timeTicks(c *svgChart) {
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if (g.x1-g.x0)/s <= 6 {
			step = s
			break
		}
	}
	layout := "2006-01-02"
	if step < 86400 {
		layout = "01-02 15:04"
	}
	for x := math.Ceil(g.x0/step) * step; x <= g.x1; x += step {
		c.text(g.px(x), g.h-g.bottom+18, "xl", time.Unix(int64(x), 0).UTC().Format(layout))
	}
}

func (c *svgChart) text(x, y float64, class, s string) {
	c.Elems = append(c.Elems, svgElem{Kind: svgText, X: x, Y: y, Class: class, Text: s})
}

func (c *svgChart) line(x1, y1, x2, y2 float64, class string) {
	c.Elems = append(c.Elems, svgElem{Kind: svgLine, X: x1, Y: y1, X2: x2, Y2: y2, Class: class})
}

// open starts a chart: its title, and five horizontal grid lines
// labelled by ylabel.
func (g *chartGeom) open(title string, ylabel func(float64) string) *svgChart {
	c := &svgChart{W: g.w, H: g.h, Title: title}
	c.text(g.left, 16, "ct", title)
	for i := 0; i <= 4; i++ {
		y := g.y1 * float64(i) / 4
		c.line(g.left, g.py(y), g.w-g.right, g.py(y), "grid")
		c.text(g.left-6, g.py(y)+4, "yl", ylabel(y))
	}
	return c
}

// lineChart draws lines over x (unix seconds when timeAxis, else steps)
// against bytes, with dashed vertical marks (boot moments); nil when no
// line has a point.
func lineChart(title string, lines []chartLine, timeAxis bool, marks []float64) *svgChart {
	return lineChartY(title, lines, timeAxis, marks, units.BytesF)
}

// lineGeom is the drawing area that holds every point of lines.
func lineGeom(lines []chartLine, timeAxis bool) (chartGeom, bool) {
	g := chartGeom{w: 880, h: 320, left: 78, right: 250, top: 28, bottom: 42}
	g.x0, g.x1 = math.Inf(1), math.Inf(-1)
	g.y0, g.y1 = 0, 0
	for _, l := range lines {
		for _, p := range l.pts {
			g.x0, g.x1 = math.Min(g.x0, p.x), math.Max(g.x1, p.x)
			g.y1 = math.Max(g.y1, p.y)
		}
	}
	if math.IsInf(g.x0, 0) {
		return g, false
	}
	if g.x1 == g.x0 {
		pad := 1.0
		if timeAxis {
			pad = 86400
		}
		g.x0, g.x1 = g.x0-pad, g.x1+pad
	}
	if g.y1 == 0 {
		g.y1 = 1
	}
	g.y1 *= 1.08
	return g, true
}

// lineChartY is lineChart with the y axis labelled by ylabel (counts
// rather than bytes).
func lineChartY(title string, lines []chartLine, timeAxis bool, marks []float64, ylabel func(float64) string) *svgChart {
	g, ok := lineGeom(lines, timeAxis)
	if !ok {
		return nil
	}
	c := g.open(title, ylabel)
	if timeAxis {
		g.timeTicks(c)
	} else {
		for x := math.Ceil(g.x0); x <= g.x1; x++ {
			c.text(g.px(x), g.h-g.bottom+18, "xl", fmt.Sprintf("%.0f", x))
		}
	}
	c.line(g.left, g.h-g.bottom, g.w-g.right, g.h-g.bottom, "axis")
	c.line(g.left, g.top, g.left, g.h-g.bottom, "axis")
	for _, m := range marks {
		if m <= g.x0 || m >= g.x1 {
			continue
		}
		c.Elems = append(c.Elems, svgElem{Kind: svgLine, X: g.px(m), Y: g.top, X2: g.px(m), Y2: g.h - g.bottom, Class: "boot", Title: "boot"})
	}
	for i, l := range lines {
		g.drawLine(c, l, palette[i%len(palette)], i)
	}
	return c
}

// drawLine draws the i-th line: its segments, a dot per point with its
// tooltip, and its legend entry.
func (g chartGeom) drawLine(c *svgChart, l chartLine, color string, i int) {
	var seg []string
	flush := func() {
		if len(seg) > 1 {
			c.Elems = append(c.Elems, svgElem{Kind: svgPolyline, Points: strings.Join(seg, " "), Stroke: color})
		}
		seg = seg[:0]
	}
	for j, p := range l.pts {
		if j > 0 && p.seg != l.pts[j-1].seg {
			flush()
		}
		seg = append(seg, fmt.Sprintf("%.1f,%.1f", g.px(p.x), g.py(p.y)))
	}
	flush()
	for _, p := range l.pts {
		c.Elems = append(c.Elems, svgElem{Kind: svgCircle, X: g.px(p.x), Y: g.py(p.y), Fill: color, Title: p.title})
	}
	ly := g.top + 14 + float64(i)*18
	c.Elems = append(c.Elems, svgElem{Kind: svgRect, X: g.w - g.right + 12, Y: ly - 10, W: 12, H: 12, Fill: color})
	c.text(g.w-g.right+30, ly, "lg", l.name)
}

// timelineChart draws refusals per hour as bars and the dumps and
// snapshots around them as dashed marks, on one time axis; nil without
// events.
func timelineChart(title string, evs []event) *svgChart {
	if len(evs) == 0 {
		return nil
	}
	g := chartGeom{w: 820, h: 260, left: 78, right: 40, top: 28, bottom: 42}
	g.x0, g.x1 = math.Inf(1), math.Inf(-1)
	g.y0, g.y1 = 0, 1
	for _, e := range evs {
		x := float64(e.t.Unix())
		end := x
		if e.kind == "refused" {
			end += 3600
			g.y1 = math.Max(g.y1, float64(e.refused))
		}
		g.x0, g.x1 = math.Min(g.x0, x), math.Max(g.x1, end)
	}
	// At least six hours wide, so that one hour of refusals is a bar,
	// not the whole chart.
	if span := g.x1 - g.x0; span < 6*3600 {
		pad := (6*3600 - span) / 2
		g.x0, g.x1 = g.x0-pad, g.x1+pad
	}
	g.y1 *= 1.1
	c := g.open(title, func(y float64) string { return fmt.Sprintf("%.0f", y) })
	g.timeTicks(c)
	bw := math.Max(2, g.px(g.x0+3600)-g.px(g.x0)-1)
	for _, e := range evs {
		x := g.px(float64(e.t.Unix()))
		when := e.t.UTC().Format("2006-01-02 15:04")
		if e.kind == "refused" {
			y := g.py(float64(e.refused))
			c.Elems = append(c.Elems, svgElem{Kind: svgRect, X: x, Y: y, W: bw, H: g.h - g.bottom - y, Fill: "#d62728",
				Title: fmt.Sprintf("%s: %d refused", when, e.refused)})
			continue
		}
		color := "#1f77b4"
		if e.kind == "snapshot" {
			color = "#2ca02c"
		}
		c.Elems = append(c.Elems, svgElem{Kind: svgLine, X: x, Y: g.top, X2: x, Y2: g.h - g.bottom, Stroke: color, Dash: "5 3",
			Title: fmt.Sprintf("%s %s %s", e.kind, when, e.what)})
	}
	c.line(g.left, g.h-g.bottom, g.w-g.right, g.h-g.bottom, "axis")
	return c
}
