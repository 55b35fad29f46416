package batch

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"github.com/poolblame/poolblame/units"
)

// Charts are inline SVG without the xmlns attribute (HTML parsers place
// <svg> in its namespace themselves), so the page names no URL at all.

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

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
func (g chartGeom) timeTicks(b *strings.Builder) {
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
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="xl">%s</text>`, g.px(x), g.h-g.bottom+18, time.Unix(int64(x), 0).UTC().Format(layout))
	}
}

// open starts a chart: the svg element, its title, and five horizontal
// grid lines labelled by ylabel.
func (g *chartGeom) open(b *strings.Builder, title string, ylabel func(float64) string) {
	fmt.Fprintf(b, `<svg class="chart" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, g.w, g.h, g.w, g.h, html.EscapeString(title))
	fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(b, `<text x="%.0f" y="16" class="ct">%s</text>`, g.left, html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		y := g.y1 * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="grid"/>`, g.left, g.py(y), g.w-g.right, g.py(y))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="yl">%s</text>`, g.left-6, g.py(y)+4, html.EscapeString(ylabel(y)))
	}
}

// lineChart draws lines over x (unix seconds when timeAxis, else steps)
// against bytes, with dashed vertical marks (boot moments).
func lineChart(title string, lines []chartLine, timeAxis bool, marks []float64) string {
	return lineChartY(title, lines, timeAxis, marks, units.BytesF)
}

// lineChartY is lineChart with the y axis labelled by ylabel (counts
// rather than bytes).
func lineChartY(title string, lines []chartLine, timeAxis bool, marks []float64, ylabel func(float64) string) string {
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
		return ""
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
	var b strings.Builder
	g.open(&b, title, ylabel)
	if timeAxis {
		g.timeTicks(&b)
	} else {
		for x := math.Ceil(g.x0); x <= g.x1; x++ {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="xl">%.0f</text>`, g.px(x), g.h-g.bottom+18, x)
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, g.left, g.h-g.bottom, g.w-g.right, g.h-g.bottom)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, g.left, g.top, g.left, g.h-g.bottom)
	for _, m := range marks {
		if m <= g.x0 || m >= g.x1 {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="boot"><title>boot</title></line>`, g.px(m), g.top, g.px(m), g.h-g.bottom)
	}
	for i, l := range lines {
		color := palette[i%len(palette)]
		var seg []string
		flush := func() {
			if len(seg) > 1 {
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(seg, " "), color)
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
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s</title></circle>`, g.px(p.x), g.py(p.y), color, html.EscapeString(p.title))
		}
		ly := g.top + 14 + float64(i)*18
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`, g.w-g.right+12, ly-10, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="lg">%s</text>`, g.w-g.right+30, ly, html.EscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// timelineChart draws refusals per hour as bars and the dumps and
// snapshots around them as dashed marks, on one time axis.
func timelineChart(title string, evs []event) string {
	if len(evs) == 0 {
		return ""
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
	var b strings.Builder
	g.open(&b, title, func(y float64) string { return fmt.Sprintf("%.0f", y) })
	g.timeTicks(&b)
	bw := math.Max(2, g.px(g.x0+3600)-g.px(g.x0)-1)
	for _, e := range evs {
		x := g.px(float64(e.t.Unix()))
		switch e.kind {
		case "refused":
			y := g.py(float64(e.refused))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728"><title>%s: %d refused</title></rect>`,
				x, y, bw, g.h-g.bottom-y, e.t.UTC().Format("2006-01-02 15:04"), e.refused)
		default:
			color := "#1f77b4"
			if e.kind == "snapshot" {
				color = "#2ca02c"
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="5 3"><title>%s %s %s</title></line>`,
				x, g.top, x, g.h-g.bottom, color, html.EscapeString(e.kind), e.t.UTC().Format("2006-01-02 15:04"), html.EscapeString(e.what))
		}
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, g.left, g.h-g.bottom, g.w-g.right, g.h-g.bottom)
	b.WriteString(`</svg>`)
	return b.String()
}
