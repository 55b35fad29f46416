package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHTMLSelfContained(t *testing.T) {
	for _, fx := range fixtures {
		page := string(render(t, fx.r(), HTML, RenderOptions{}))
		for _, bad := range []string{"http://", "https://", "<script", "<link", "src=", "href=", "@import", "url("} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: the page contains %q: it must need nothing outside itself", fx.name, bad)
			}
		}
		if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(page, "</html>\n") {
			t.Errorf("%s: not a complete HTML document", fx.name)
		}
	}
	// Addresses the user's data carries are shown as text, never linked.
	r := classicReport()
	r.Warnings = append(r.Warnings, "vendor advisory: https://vendor.example/isil?a=1&b=<2>")
	page := string(render(t, r, HTML, RenderOptions{}))
	if n := strings.Count(page, "https://"); n != 1 {
		t.Errorf("%d URLs in the page, want only the one in the supplied warning", n)
	}
	if !strings.Contains(page, "https://vendor.example/isil?a=1&amp;b=&lt;2&gt;") {
		t.Error("the supplied URL is not escaped as text")
	}
}

func TestHTMLEscapes(t *testing.T) {
	page := string(render(t, win11Report(), HTML, RenderOptions{}))
	for _, want := range []string{
		"Contoso &amp; Partners &lt;Storage&gt;", "Contoso | filter &lt;context&gt; &amp; stream",
		"and &lt;angle brackets&gt; must survive",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks escaped %q", want)
		}
	}
	if strings.Contains(page, "<Storage>") || strings.Contains(page, "<context>") {
		t.Error("text from the dump reached the page unescaped")
	}
}

func TestHTMLStructure(t *testing.T) {
	tests := []struct {
		name    string
		r       *Report
		charts  int
		bars    int
		culprit int // bars in the culprit color
		gauges  int
		banner  bool
	}{
		{"classic", classicReport(), 2, 7, 2, 2, false},
		{"win11", win11Report(), 2, 7, 2, 2, true},
		{"triage", triageReport(), 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		page := string(render(t, tt.r, HTML, RenderOptions{}))
		if got := strings.Count(page, `<svg class="chart"`); got != tt.charts {
			t.Errorf("%s: %d charts, want %d", tt.name, got, tt.charts)
		}
		if got := strings.Count(page, `<rect class="bar"`); got != tt.bars {
			t.Errorf("%s: %d bars, want %d", tt.name, got, tt.bars)
		}
		if got := strings.Count(page, `fill="`+culpritColor+`"`); got != tt.culprit {
			t.Errorf("%s: %d blamed bars, want %d", tt.name, got, tt.culprit)
		}
		if got := strings.Count(page, `<svg class="gauge-svg"`); got != tt.gauges {
			t.Errorf("%s: %d gauges, want %d", tt.name, got, tt.gauges)
		}
		if got := strings.Contains(page, `class="banner"`); got != tt.banner {
			t.Errorf("%s: one-CPU banner shown %v, want %v", tt.name, got, tt.banner)
		}
	}
}

func TestChartGeometry(t *testing.T) {
	rows := classicReport().LeadingNonPaged
	c := chart("x", rows, map[string]bool{"ISil": true})
	if c.Bars[0].W != chartBarMax {
		t.Errorf("largest bar is %d wide, want the full %d", c.Bars[0].W, chartBarMax)
	}
	for i, b := range c.Bars {
		want := int(float64(rows[i].Bytes)/float64(rows[0].Bytes)*chartBarMax + 0.5)
		if b.W != want {
			t.Errorf("bar %s width %d, want %d (proportional to bytes)", b.Tag, b.W, want)
		}
		if i > 0 && b.Y <= c.Bars[i-1].Y {
			t.Errorf("bar %s overlaps the one above", b.Tag)
		}
		if b.Y+b.H > c.Height {
			t.Errorf("bar %s ends at %d, below the chart's %d", b.Tag, b.Y+b.H, c.Height)
		}
	}
	if c.Bars[0].Color != culpritColor || c.Bars[2].Color != barColor || !c.Blamed {
		t.Errorf("bar colors %s, %s", c.Bars[0].Color, c.Bars[2].Color)
	}
}

func TestGauge(t *testing.T) {
	tests := []struct {
		pct       float64
		max       uint64
		color     string
		arc       bool
		percent   string
		endX      float64 // where the value arc ends
		endYAbove bool
	}{
		{85.2, 1, "#b91c1c", true, "85%", 171.5, true},
		{50, 1, "#15803d", true, "50%", 100, true},
		{70, 1, "#d97706", true, "70%", 147.0, true},
		{0, 1, "#15803d", false, "0%", 0, false},
		{130, 1, "#b91c1c", false, "?!", 0, false}, // over the top is no reading: no arc, the lines say why
		{-1, 0, gaugeUnknown, false, "?", 0, false},
	}
	for _, tt := range tests {
		g := gauge("Nonpaged pool", PoolPressure{Used: 1, Max: tt.max, Percent: tt.pct}, 0)
		if g.Color != tt.color || (g.Arc != "") != tt.arc || g.Percent != tt.percent {
			t.Errorf("%.1f%%: color %s arc %q percent %s", tt.pct, g.Color, g.Arc, g.Percent)
			continue
		}
		if tt.arc {
			var x, y float64
			f := strings.Fields(g.Arc)
			fmt.Sscan(f[len(f)-2], &x)
			fmt.Sscan(f[len(f)-1], &y)
			if x < tt.endX-1.5 || x > tt.endX+1.5 || (tt.endYAbove && y >= gaugeCY-1) {
				t.Errorf("%.1f%%: arc ends at (%.1f, %.1f), want x near %.1f", tt.pct, x, y, tt.endX)
			}
		}
	}
}

// chromiumPath is Debian's chromium package; scripts/test.sh installs it.
const chromiumPath = "/usr/bin/chromium"

// runChromium runs headless Chromium on args with a private profile and
// home, so it touches nothing outside its temporary folder.
func runChromium(t *testing.T, args ...string) (stdout, stderr []byte) {
	t.Helper()
	dir, err := os.MkdirTemp("", "poolblame-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Chromium's helper processes can outlive it by a moment: remove
	// the profile best-effort rather than through t.TempDir.
	defer os.RemoveAll(dir)
	// A browser start can take minutes on a loaded machine: wait as long
	// as the test binary allows, and treat running out of time as "could
	// not check here" rather than as a defect of the page.
	limit := chromiumTimeout(t)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			t.Skipf("chromium did not finish within %v (machine too loaded?): browser check skipped", limit)
		}
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(errb.String(), 20))
	}
	return out.Bytes(), errb.Bytes()
}

// chromiumTimeout is five minutes, or less when the test binary's own
// deadline (go test -timeout) comes sooner, keeping time to report.
func chromiumTimeout(t *testing.T) time.Duration {
	limit := 5 * time.Minute
	if d, ok := t.Deadline(); ok {
		if left := time.Until(d) - 15*time.Second; left < limit {
			limit = max(left, time.Second)
		}
	}
	return limit
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

func writePage(t *testing.T, r *Report) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, render(t, r, HTML, RenderOptions{}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHTMLInChromium(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the browser check runs Debian's chromium: not on Windows")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (scripts/test.sh installs Debian's chromium): browser check skipped", chromiumPath)
	}
	t.Run("screenshot", func(t *testing.T) {
		t.Parallel()
		page := writePage(t, classicReport())
		shot := filepath.Join(t.TempDir(), "report.png")
		runChromium(t, "--screenshot="+shot, "--window-size=1280,1800", "file://"+page)
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1800 {
			t.Errorf("screenshot is %dx%d", b.Dx(), b.Dy())
		}
		st := pixelStats(img, barColor, culpritColor)
		t.Logf("screenshot: %.1f%% non-white, %d colors, %d bar pixels, %d blamed-bar pixels",
			st.inked*100, st.colors, st.match[0], st.match[1])
		if st.inked < 0.03 || st.colors < 50 {
			t.Errorf("screenshot looks blank: %.1f%% non-white, %d colors", st.inked*100, st.colors)
		}
		// Three unblamed nonpaged bars and two paged bars, each at least
		// 60 px wide and 20 px tall.
		if st.match[0] < 3000 {
			t.Errorf("only %d pixels of the bar color %s: the chart did not draw", st.match[0], barColor)
		}
		if st.match[1] < 2000 {
			t.Errorf("only %d pixels of the blamed-bar color %s", st.match[1], culpritColor)
		}
	})
	t.Run("dom", func(t *testing.T) {
		t.Parallel()
		for _, fx := range fixtures {
			r := fx.r()
			dom, logs := runChromium(t, "--dump-dom", "--enable-logging=stderr", "--v=1", "file://"+writePage(t, r))
			for _, line := range strings.Split(string(logs), "\n") {
				if strings.Contains(line, "Uncaught") || strings.Contains(line, ":CONSOLE") {
					t.Errorf("%s: console message: %s", fx.name, line)
				}
			}
			charts := regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindAllString(string(dom), -1)
			rects := 0
			for _, c := range charts {
				rects += strings.Count(c, "<rect")
			}
			want := len(r.LeadingNonPaged) + len(r.LeadingPaged)
			if rects != want {
				t.Errorf("%s: the DOM's charts have %d <rect>, want one per leading tag: %d", fx.name, rects, want)
			}
			for _, row := range append(append([]TagRow{}, r.LeadingNonPaged...), r.LeadingPaged...) {
				if !strings.Contains(strings.Join(charts, ""), ">"+row.Tag+"</text>") {
					t.Errorf("%s: no chart label for %s", fx.name, row.Tag)
				}
			}
			if !strings.Contains(string(dom), "</footer>") {
				t.Errorf("%s: the DOM ends early", fx.name)
			}
		}
	})
}

type stats struct {
	inked  float64 // share of pixels that are not white
	colors int
	match  []int // pixels close to each wanted color
}

func pixelStats(img image.Image, want ...string) stats {
	type rgb struct{ r, g, b int }
	var targets []rgb
	for _, w := range want {
		var c rgb
		fmt.Sscanf(w, "#%02x%02x%02x", &c.r, &c.g, &c.b)
		targets = append(targets, c)
	}
	st := stats{match: make([]int, len(want))}
	seen := map[rgb]bool{}
	b := img.Bounds()
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := rgb{int(r >> 8), int(g >> 8), int(bl >> 8)}
			seen[c] = true
			if c.r < 250 || c.g < 250 || c.b < 250 {
				inked++
			}
			for i, tc := range targets {
				if abs(c.r-tc.r) <= 3 && abs(c.g-tc.g) <= 3 && abs(c.b-tc.b) <= 3 {
					st.match[i]++
				}
			}
		}
	}
	st.inked = float64(inked) / float64(b.Dx()*b.Dy())
	st.colors = len(seen)
	return st
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
