package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtures are the hand-built reports every renderer is checked on.
var fixtures = []struct {
	name string
	r    func() *Report
}{
	{"classic-2003-x86", classicReport},
	{"win11-x64", win11Report},
	{"triage-no-pool", triageReport},
}

// goldenExt is each format's golden file extension.
var goldenExt = map[Format]string{Text: "txt", JSON: "json", Markdown: "md", CSV: "csv", HTML: "html"}

var allFormats = []Format{Text, JSON, Markdown, CSV, HTML}

func render(t testing.TB, r *Report, f Format, o RenderOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, f, o); err != nil {
		t.Fatalf("Render(%s): %v", f, err)
	}
	return b.Bytes()
}

// checkGolden compares got with testdata/golden/name, or rewrites it
// with -update.
// testdataPath matches a path into the repository's testdata as Windows
// prints it (..\testdata\drivers-2003\isil.sys), JSON-escaped or not.
var testdataPath = regexp.MustCompile(`\.\.(\\\\|\\)testdata[^\s"|<>)]*`)

// slashTestdataPaths writes those paths with forward slashes, so one golden
// file serves both systems: the report prints paths as the system gives them.
func slashTestdataPaths(b []byte) []byte {
	return testdataPath.ReplaceAllFunc(b, func(m []byte) []byte {
		return []byte(strings.ReplaceAll(strings.ReplaceAll(string(m), `\\`, "/"), `\`, "/"))
	})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if runtime.GOOS == "windows" {
		got = slashTestdataPaths(got)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(run with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		for _, f := range allFormats {
			t.Run(fx.name+"/"+f.String(), func(t *testing.T) {
				checkGolden(t, fx.name+"."+goldenExt[f], render(t, fx.r(), f, RenderOptions{}))
			})
		}
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"text", Text, true}, {"TXT", Text, true}, {"json", JSON, true}, {"markdown", Markdown, true},
		{"md", Markdown, true}, {" csv ", CSV, true}, {"html", HTML, true}, {"htm", HTML, true},
		{"pdf", 0, false}, {"", 0, false}, {"jsonl", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if !tt.ok && err != nil && !strings.Contains(err.Error(), "text, json, markdown, csv or html") {
			t.Errorf("ParseFormat(%q) error %q does not list the formats", tt.in, err)
		}
	}
}

func TestFormatFromPath(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"out/report.txt", Text, true}, {"r.JSON", JSON, true}, {"bug.md", Markdown, true},
		{"tags.csv", CSV, true}, {`C:\cases\r.html`, HTML, true}, {"r.htm", HTML, true},
		{"report", 0, false}, {"report.pdf", 0, false}, {"dir.md/report", 0, false},
	}
	for _, tt := range tests {
		got, ok := FormatFromPath(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("FormatFromPath(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestTextColor(t *testing.T) {
	// The option decides, not the environment the color package reads.
	t.Setenv("NO_COLOR", "1")
	for _, fx := range fixtures {
		plain := render(t, fx.r(), Text, RenderOptions{Color: false})
		colored := render(t, fx.r(), Text, RenderOptions{Color: true})
		if bytes.Contains(plain, []byte("\x1b[")) {
			t.Errorf("%s: Color false wrote an ANSI escape", fx.name)
		}
		if !bytes.Contains(colored, []byte("\x1b[")) {
			t.Errorf("%s: Color true wrote no ANSI escape", fx.name)
		}
		// Color changes how the text looks, never what it says or where
		// lines break.
		if stripped := ansi.ReplaceAll(colored, nil); !bytes.Equal(stripped, plain) {
			t.Errorf("%s: colored text without its escapes differs from the plain text", fx.name)
		}
	}
}

func TestTextWidth(t *testing.T) {
	for _, fx := range fixtures {
		for _, w := range []int{0, 40, 80, 100, 132} {
			limit := max(w, minWidth) // narrower requests get the minimum
			if w == 0 {
				limit = DefaultWidth
			}
			out := render(t, fx.r(), Text, RenderOptions{Width: w})
			for i, line := range strings.Split(string(out), "\n") {
				if n := utf8.RuneCountInString(line); n > limit {
					t.Errorf("%s width %d: line %d has %d columns: %q", fx.name, w, i+1, n, line)
				}
			}
		}
	}
}

func TestTextContents(t *testing.T) {
	classic := string(render(t, classicReport(), Text, RenderOptions{}))
	win11 := string(render(t, win11Report(), Text, RenderOptions{}))
	triage := string(render(t, triageReport(), Text, RenderOptions{}))
	tests := []struct {
		name, text string
		want       []string
		not        []string
	}{
		{"classic", classic, []string{
			"0x000000E2 MANUALLY_INITIATED_CRASH", "Windows Server 2003, build 3790, x86, 2 CPUs",
			"[##########################....]  85.2%  109.0 MiB of 128.0 MiB", "is BELOW HTTP.SYS's 20.0 MiB floor",
			"ISil       80,939     36,678,632   32.1%", "I100       80,909     14,886,928",
			"isil.sys (call-site x7)", "portcls.sys (call-site x2, MS)", "confidence: HIGH",
			"isil.sys - 3.1.2.0, Intersil Corporation, third party", "SavE (nonpaged", "No driver found with this tag.",
		}, []string{"ONLY ONE PROCESSOR", "PARTIAL"}},
		{"win11", win11, []string{
			"ONLY ONE PROCESSOR'S POOL TRACKER TABLE WAS READ", "the other 7 processors' tables",
			"2.3 GiB used, maximum unknown", "PARTIAL", "tracker tables of CPUs 1-7", "confidence: MEDIUM",
			"ndis.sys (bytes x1, MS)", "HTTP.SYS  the 20 MB free nonpaged floor is documented for Server 2003 and Vista / Server 2008",
		}, []string{"BELOW HTTP.SYS", "above HTTP.SYS"}},
		{"triage", triage, []string{
			"No pool analysis: triage (minidump) dumps carry no physical memory pages",
			"confidence: NONE", "none: no pool analysis", "Time       not recorded",
		}, []string{"CANDIDATES", "[#"}},
	}
	for _, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(tt.text, w) {
				t.Errorf("%s text lacks %q", tt.name, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(tt.text, n) {
				t.Errorf("%s text has %q", tt.name, n)
			}
		}
	}
	// The verdict comes before the tables: it is what gets pasted.
	if v, tb := strings.Index(classic, "VERDICT"), strings.Index(classic, "LEADING NONPAGED"); v < 0 || v > tb {
		t.Errorf("VERDICT at %d, tag table at %d: verdict must come first", v, tb)
	}
}

// mdRow splits a Markdown table row on unescaped pipes.
func mdRow(line string) []string {
	var cells []string
	var cur strings.Builder
	esc := false
	for _, c := range strings.TrimSpace(line) {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case c == '\\':
			cur.WriteRune(c)
			esc = true
		case c == '|':
			cells = append(cells, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(c)
		}
	}
	cells = append(cells, cur.String())
	return cells[1 : len(cells)-1] // outside the leading and trailing pipes
}

func TestMarkdownTables(t *testing.T) {
	for _, fx := range fixtures {
		md := string(render(t, fx.r(), Markdown, RenderOptions{}))
		lines := strings.Split(md, "\n")
		for i := 0; i < len(lines); i++ {
			if !strings.HasPrefix(lines[i], "|") {
				continue
			}
			// A table: the header fixes the column count for every row.
			n := len(mdRow(lines[i]))
			for ; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
				if got := len(mdRow(lines[i])); got != n {
					t.Errorf("%s line %d has %d cells, the table has %d: %q", fx.name, i+1, got, n, lines[i])
				}
			}
		}
	}
	md := string(render(t, win11Report(), Markdown, RenderOptions{}))
	for _, want := range []string{
		`Contoso \| filter \<context\> & stream`, // pipes and angle brackets from pooltag.txt
		"| **`CnFn`** |", "LIVE_SYSTEM_DUMP", "> **WARNING: ONLY ONE PROCESSOR'S",
		"> **Confidence: medium.**", "- **cntsflt.sys** 10.4.22.7", "<details>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("win11 Markdown lacks %q", want)
		}
	}
	// The verdict and the tag tables are outside <details>: some trackers
	// show it collapsed or not at all.
	if d := strings.Index(md, "<details>"); d < strings.Index(md, "## Leading paged tags") || d < strings.Index(md, "## Verdict") {
		t.Errorf("essential sections are inside <details>")
	}
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct{ in, text, code string }{
		{"plain words", "plain words", "`plain words`"},
		{"a|b", `a\|b`, "`a\\|b`"},
		{"<b>*x*</b>", `\<b\>\*x\*\</b\>`, "`<b>*x*</b>`"},
		{"LIVE_SYSTEM_DUMP", "LIVE_SYSTEM_DUMP", "`LIVE_SYSTEM_DUMP`"},
		{"_lead and trail_", `\_lead and trail\_`, "`_lead and trail_`"},
		{"a`b", "a\\`b", "``a`b``"},
		{"`x", "\\`x", "`` `x ``"},
		{"IAM ", "IAM ", "`IAM `"},
		{`C:\x`, `C:\\x`, "`C:\\x`"},
	}
	for _, tt := range tests {
		if got := mdText(tt.in); got != tt.text {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if got := mdCode(tt.in); got != tt.code {
			t.Errorf("mdCode(%q) = %q, want %q", tt.in, got, tt.code)
		}
	}
}

func TestCSV(t *testing.T) {
	for _, fx := range fixtures {
		r := fx.r()
		recs, err := csv.NewReader(bytes.NewReader(render(t, r, CSV, RenderOptions{}))).ReadAll()
		if err != nil {
			t.Fatalf("%s: CSV does not parse: %v", fx.name, err)
		}
		if strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
			t.Errorf("%s header %v", fx.name, recs[0])
		}
		want := 0
		for _, row := range append(append([]TagRow{}, r.LeadingNonPaged...), r.LeadingPaged...) {
			want += max(1, len(row.Candidates))
		}
		if len(recs)-1 != want {
			t.Errorf("%s: %d data rows, want one per tag and candidate: %d", fx.name, len(recs)-1, want)
		}
	}
	recs, _ := csv.NewReader(bytes.NewReader(render(t, win11Report(), CSV, RenderOptions{}))).ReadAll()
	col := map[string]int{}
	for i, h := range csvHeader {
		col[h] = i
	}
	first := recs[1]
	for _, c := range []struct{ col, want string }{
		{"tag", "CnFn"}, {"pool", "nonpaged"}, {"outstanding", "6888889"}, {"bytes", "1102004224"},
		{"share", "44.93"}, {"driver", "cntsflt.sys"}, {"evidence", "call-site"}, {"count", "4"},
		{"company", "Contoso & Partners <Storage>"}, {"microsoft", "false"}, {"loaded", "true"},
		{"description", "Contoso | filter <context> & stream"},
	} {
		if got := first[col[c.col]]; got != c.want {
			t.Errorf("CnFn row %s = %q, want %q", c.col, got, c.want)
		}
	}
	if recs[2][col["tag"]] != "CnFn" || recs[2][col["driver"]] != "ndis.sys" || recs[2][col["microsoft"]] != "true" {
		t.Errorf("second candidate row = %v", recs[2])
	}
}

func TestCSVFormulaGuard(t *testing.T) {
	r := triageReport()
	r.LeadingNonPaged = []TagRow{{Tag: "=1+1", Pool: "nonpaged", Bytes: 1, Description: "@SUM(A1)", Outstanding: -3,
		Candidates: []Candidate{{Name: "+evil.sys", Company: "-Corp", Evidence: "bytes"}}}}
	recs, err := csv.NewReader(bytes.NewReader(render(t, r, CSV, RenderOptions{}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := recs[1]
	for _, i := range []int{0, 7, 8, 12} {
		if !strings.HasPrefix(got[i], "'") {
			t.Errorf("column %s = %q: a leading formula character is not neutralised", csvHeader[i], got[i])
		}
	}
	if got[2] != "-3" {
		t.Errorf("outstanding = %q: numbers must stay numbers", got[2])
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		var back Report
		if err := jsonUnmarshal(render(t, fx.r(), JSON, RenderOptions{}), &back); err != nil {
			t.Fatalf("%s: %v", fx.name, err)
		}
		want := jsonReady(fx.r())
		a, b := render(t, want, JSON, RenderOptions{}), render(t, &back, JSON, RenderOptions{})
		if !bytes.Equal(a, b) {
			t.Errorf("%s: JSON does not round-trip", fx.name)
		}
		if back.LeadingNonPaged == nil || back.Warnings == nil || back.Dump.BugCheckParams == nil {
			t.Errorf("%s: empty lists must be [] in JSON, not null", fx.name)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestRenderErrors(t *testing.T) {
	disk := errors.New("disk full")
	for _, f := range allFormats {
		if err := Render(failWriter{disk}, classicReport(), f, RenderOptions{}); !errors.Is(err, disk) {
			t.Errorf("%s to a failing writer: %v, want the write error", f, err)
		}
		if err := Render(&bytes.Buffer{}, nil, f, RenderOptions{}); err == nil || !strings.Contains(err.Error(), "no report") {
			t.Errorf("%s of nil report: %v", f, err)
		}
	}
	if err := Render(&bytes.Buffer{}, classicReport(), Format(42), RenderOptions{}); err == nil {
		t.Error("unknown format rendered without error")
	}
	r := classicReport()
	r.LeadingNonPaged[1].Share = math.NaN()
	err := Render(&bytes.Buffer{}, r, JSON, RenderOptions{})
	if err == nil || !strings.Contains(err.Error(), "LeadingNonPaged[1].Share") {
		t.Errorf("NaN share: %v, want an error naming the field", err)
	}
	// The other forms show an unknown number as "?" instead of failing.
	for _, f := range []Format{Text, Markdown, HTML} {
		if out := render(t, r, f, RenderOptions{}); !bytes.Contains(out, []byte("?")) || bytes.Contains(out, []byte("NaN")) {
			t.Errorf("%s: NaN share not shown as unknown", f)
		}
	}
}

func TestHex(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{hex32(0xE2), "0x000000E2"}, {hexParam(0), "0x0"}, {hexParam(0xFFFFF80000000000), "0xFFFFF80000000000"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"one two three", 20, []string{"one two three"}},
		{"one two three", 8, []string{"one two", "three"}},
		{"abcdefghijkl xy", 8, []string{"abcdefgh", "ijkl xy"}},
		{"spaces   collapse\nand newlines", 40, []string{"spaces collapse and newlines"}},
	}
	for _, tt := range tests {
		if got := wrap(tt.in, tt.width); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestPressureFacts(t *testing.T) {
	tests := []struct {
		name string
		p    PoolPressure
		span float64 // seconds between samples; 0: growth since boot
		want []string
	}{
		{"known", PoolPressure{Used: 96 << 20, Max: 128 << 20, Percent: 75, GrowthPerDay: 8 << 20, DaysToExhaustion: 4, MaxSource: "KDBG"},
			0, []string{"96.0 MiB of 128.0 MiB (75.0%), maximum from KDBG", "grew 8.0 MiB/day", "exhausted in about 4.0 days"}},
		{"exhausted", PoolPressure{Used: 128 << 20, Max: 128 << 20, Percent: 100, GrowthPerDay: 1 << 20, DaysToExhaustion: 0},
			0, []string{"(100.0%)", "already at its maximum"}},
		{"no max", PoolPressure{Used: 1 << 30, Percent: -1, GrowthPerDay: 1 << 20, DaysToExhaustion: -1, MaxSource: "not in KDBG"},
			0, []string{"1.0 GiB used; maximum unknown: not in KDBG", "unknown without a maximum"}},
		{"no uptime", PoolPressure{Used: 1 << 20, Max: 2 << 20, Percent: 50, DaysToExhaustion: -1},
			0, []string{"maximum source not recorded", "growth since boot unknown"}},
		// Measured between live samples: over the span, even when flat.
		{"measured", PoolPressure{Used: 96 << 20, Max: 128 << 20, Percent: 75, GrowthPerDay: 48 << 20, DaysToExhaustion: 2.0 / 3, MaxSource: "!vm"},
			1200, []string{"grew 48.0 MiB/day (2.0 MiB/h) over the 0h 20m 00s measured", "exhausted in about 16 hours"}},
		{"measured flat", PoolPressure{Used: 1 << 20, Percent: -1, DaysToExhaustion: -1},
			600, []string{"grew 0 B/day (0 B/h) over the 0h 10m 00s measured", "unknown without a maximum"}},
	}
	for _, tt := range tests {
		got := usageFact(tt.p) + " | " + growthFact(tt.p, tt.span)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
	}
}

// Files where a tag only appears as text are one line, never owners.
func TestTextOnlyCollapsed(t *testing.T) {
	r := classicReport()
	row := &r.LeadingNonPaged[len(r.LeadingNonPaged)-1]
	row.Candidates = []Candidate{}
	row.TextOnly = []string{"a.sys", "b.sys", "c.sys", "d.sys"}
	for _, f := range []Format{Text, Markdown} {
		out := string(render(t, r, f, RenderOptions{}))
		if !strings.Contains(out, "appears as text in 4 files (a.sys, b.sys, c.sys, ...), which is not evidence of use") {
			t.Errorf("%v: text-only files not collapsed into one line", f)
		}
		if strings.Contains(out, "d.sys") {
			t.Errorf("%v: a text-only file is listed by name beyond the first three", f)
		}
	}
}

func TestSlashTestdataPaths(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`file       ..\testdata\drivers-2003\isil.sys (folder)`, `file       ../testdata/drivers-2003/isil.sys (folder)`},
		{`"path": "..\\testdata\\drivers-2003\\isil.sys",`, `"path": "../testdata/drivers-2003/isil.sys",`},
		{`C:\Windows\System32\drivers\isil.sys`, `C:\Windows\System32\drivers\isil.sys`},
	} {
		if got := string(slashTestdataPaths([]byte(tt.in))); got != tt.want {
			t.Errorf("slashTestdataPaths(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestOverFullNotDrawn: a use above the maximum is never drawn as a full
// bar or given as a percentage over 100; the line says how far over it is.
func TestOverFullNotDrawn(t *testing.T) {
	p := PoolPressure{Used: 4700 << 20, Max: 128 << 20, Percent: 3671.9, DaysToExhaustion: -1}
	if !overFull(p) {
		t.Fatal("3671.9% not over full")
	}
	if got, want := usedOfMax(p), "4.6 GiB, 36.7 times the 128.0 MiB maximum"; got != want {
		t.Errorf("usedOfMax = %q, want %q", got, want)
	}
	r := classicReport()
	r.Pool.NonPaged = p
	var sb strings.Builder
	if err := renderText(&sb, r, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	if strings.Contains(out, "3671.9%") || strings.Contains(out, "["+strings.Repeat("#", barWidth)+"]") {
		t.Errorf("the over-full use is drawn or given as a percentage:\n%s", out)
	}
	if !strings.Contains(out, "above the maximum: wrong sums") || !strings.Contains(out, "36.7 times the 128.0 MiB maximum") {
		t.Errorf("the text does not say the use is above the maximum:\n%s", out)
	}
	if overFull(PoolPressure{Used: 1, Max: 2, Percent: 50}) || overFull(PoolPressure{Percent: -1}) {
		t.Error("50% or unknown called over full")
	}
}

// TestSourcesFolderNotSearched: folders given on a dump with no pool
// data are named as given and not searched, never as "none given".
func TestSourcesFolderNotSearched(t *testing.T) {
	tests := []struct {
		s    Sources
		want string
	}{
		{Sources{}, "driver folders: none given (only images inside the dump were scanned)"},
		{Sources{DriverFolders: []string{"d"}, FilesIndexed: 2}, "driver folders: d (2 files indexed)"},
		{Sources{DriverFolders: []string{"d"}, NotSearched: "no pool tags to look for"}, "driver folders: d (not searched: no pool tags to look for)"},
	}
	for _, tt := range tests {
		if got := sourcesFacts(tt.s)[0]; got != tt.want {
			t.Errorf("sourcesFacts(%+v)[0] = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestLoadedFact(t *testing.T) {
	for _, tc := range []struct {
		c    Candidate
		want string
	}{
		{Candidate{Loaded: true}, "yes"},
		{Candidate{}, "no"},
		{Candidate{Loaded: true, LoadedNote: "a different build"}, "yes: a different build"},
		{Candidate{LoadedUnknown: true}, "unknown: a pool snapshot lists no loaded modules"},
	} {
		if got := loadedFact(tc.c); got != tc.want {
			t.Errorf("loadedFact(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}
