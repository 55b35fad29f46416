package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// The real poolmon screen and HTTPERR log (see internal/realdata): the
// tests that use them skip with one line when the real data is absent.
func realPoolmon(t testing.TB) string {
	return realdata.Path(t, "snapshots/poolmon-b-iis6-connections-refused.txt")
}

func realHTTPErr(t testing.TB) string {
	return realdata.Path(t, "snapshots/httperr-connections-refused.log")
}

// poolmonRow matches a poolmon -b row: tag, type, allocs (Δ), frees (Δ),
// diff, bytes (Δ), per alloc.
var poolmonRow = regexp.MustCompile(`^ (\S+)\s+(Nonp|Paged)\s+(\d+) \(\s*-?\d+\)\s+(\d+) \(\s*-?\d+\)\s+(\d+)\s+(\d+) \(\s*-?\d+\)\s+(\d+)$`)

// grownScreen rewrites a poolmon -b screen as poolmon would show it later:
// each tag in grow gains that many allocations of its average size (a
// negative count frees them), with the change columns and the header's
// nonpaged total to match.
func grownScreen(t *testing.T, screen string, grow map[string]int64) string {
	t.Helper()
	var out []string
	var npDelta int64
	for _, line := range strings.Split(strings.TrimRight(screen, "\n"), "\n") {
		m := poolmonRow.FindStringSubmatch(line)
		if m == nil || grow[m[1]] == 0 {
			out = append(out, line)
			continue
		}
		num := func(i int) int64 { v, _ := strconv.ParseInt(m[i], 10, 64); return v }
		allocs, frees, bytes, per := num(3), num(4), num(6), num(7)
		n := grow[m[1]]
		da, df := n, int64(0)
		if n < 0 {
			da, df = 0, -n
		}
		allocs, frees = allocs+da, frees+df
		bytes += n * per
		if m[2] == "Nonp" {
			npDelta += n * per
		}
		out = append(out, fmt.Sprintf(" %-4s %-4s %10d (%4d) %9d (%4d) %8d %8d (%6d) %5d",
			m[1], m[2], allocs, da, frees, df, allocs-frees, bytes, n*per, bytes/(allocs-frees)))
	}
	text := strings.Join(out, "\n") + "\n"
	hdr := regexp.MustCompile(`Pool N:(\d+)K`)
	return hdr.ReplaceAllStringFunc(text, func(s string) string {
		k, _ := strconv.ParseInt(hdr.FindStringSubmatch(s)[1], 10, 64)
		return fmt.Sprintf("Pool N:%dK", k+npDelta/1024)
	})
}

func TestSnapshotSeries(t *testing.T) {
	real, err := os.ReadFile(realPoolmon(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "iis01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The real screen, then two later ones an hour apart: ISil keeps
	// growing by 18,000 allocations (of 453 bytes) an hour; I100 grows,
	// then shrinks by less; the rest stay.
	screens := []string{
		string(real),
		grownScreen(t, string(real), map[string]int64{"ISil": 18000, "I100": 4000}),
	}
	screens = append(screens, grownScreen(t, screens[1], map[string]int64{"ISil": 18000, "I100": -3000}))
	t0 := time.Date(2005, 9, 2, 16, 45, 0, 0, time.UTC)
	var isil []uint64
	for i, sc := range screens {
		p := filepath.Join(dir, fmt.Sprintf("poolmon-%d.txt", i))
		write(t, p, []byte(sc))
		if err := os.Chtimes(p, t0, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// What the parser reads is what the screen says.
		snaps, err := snapshot.Parse(strings.NewReader(sc), p)
		if err != nil {
			t.Fatalf("screen %d: %v", i, err)
		}
		u, ok := snaps[0].Usage(pooltag.MustTag("ISil"))
		if !ok {
			t.Fatalf("screen %d: no ISil", i)
		}
		isil = append(isil, u.NonPagedBytes)
	}
	if string(real) != screens[0] {
		t.Fatal("the first screen must be the real one, byte for byte")
	}

	out := filepath.Join(t.TempDir(), "out")
	s, err := Run(context.Background(), Options{Paths: []string{dir}, OutDir: out, HTTPErr: []string{realHTTPErr(t)},
		DriverDirs: []string{"../testdata/drivers-2003"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Snapshots) != 1 || len(s.Snapshots[0].Snapshots) != 3 {
		t.Fatalf("series %+v, want one of 3 snapshots", s.Snapshots)
	}
	se := s.Snapshots[0]
	if se.PerStep {
		t.Errorf("series per step; the files' times are an hour apart")
	}
	for i, sn := range se.Snapshots {
		if sn.TimeSource != "modified" || !sn.Time.Equal(t0.Add(time.Duration(i)*time.Hour)) {
			t.Errorf("snapshot %d: time %v from %s, want %v from modified", i, sn.Time, sn.TimeSource, t0.Add(time.Duration(i)*time.Hour))
		}
		if !sn.Partial {
			t.Errorf("snapshot %d: a poolmon screen is partial", i)
		}
	}
	fl := se.Flagged()
	if len(fl) != 1 || fl[0].Tag != "ISil" || fl[0].Pool != "nonpaged" {
		for _, tr := range se.Trends {
			t.Logf("%s %s flagged=%v growth=%s top=%.2f: %s", tr.Tag, tr.Pool, tr.Flagged, units.PerDay(tr.Growth), tr.TopShare, tr.Reason)
		}
		t.Fatalf("flagged %v, want ISil alone", tagsOf(fl))
	}
	// 18,000 allocations of 453 bytes an hour, as bytes per day.
	want := float64(isil[2]-isil[0]) / (2.0 / 24)
	if fl[0].Growth != want || want != 18000*453*24 {
		t.Errorf("ISil grows %s, want %s", units.PerDay(fl[0].Growth), units.PerDay(18000*453*24))
	}
	if len(fl[0].Drivers) == 0 || fl[0].Drivers[0] != "isil.sys" {
		t.Errorf("ISil drivers %v, want isil.sys first (from the drivers folder)", fl[0].Drivers)
	}
	var i100 *Trend
	for _, tr := range se.Trends {
		if tr.Tag == "I100" {
			i100 = tr
		}
	}
	if i100 == nil || i100.Flagged || i100.TopShare != 0.5 || i100.Growth <= 0 || !strings.Contains(i100.Reason, "only 50%") {
		t.Errorf("I100 %+v: grows overall but in one interval of two only, want listed, not flagged", i100)
	}

	// The HTTPERR log's refusals per hour, counted independently here.
	logText, err := os.ReadFile(realHTTPErr(t))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range regexp.MustCompile(`(\d+)_Connections_Refused`).FindAllStringSubmatch(string(logText), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	if len(s.Refusals) != 1 || s.Refusals[0].Total != total || total == 0 {
		t.Fatalf("refusals %+v, want %d in all", s.Refusals, total)
	}
	if h := s.Refusals[0].Hours; len(h) != 1 || !h[0].Hour.Equal(time.Date(2005, 9, 2, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("refusal hours %+v, want the one hour 2005-09-02 18:00", h)
	}
	txt, _ := os.ReadFile(filepath.Join(out, SummaryText))
	for _, want := range []string{"ISil nonpaged grows", "isil.sys"} {
		if !strings.Contains(string(txt), want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, txt)
		}
	}
	// On the timeline, the refusals fall between the second and the
	// third snapshot.
	row := regexp.MustCompile(`(?m)^  2005-09-02 17:45 +snapshot .*\n  2005-09-02 18:00 +refused .* ` + strconv.Itoa(total) + `\n  2005-09-02 18:45 +snapshot `)
	if !row.Match(txt) {
		t.Errorf("summary.txt timeline does not place the refusals between the snapshots:\n%s", txt)
	}
	checkHTML(t, filepath.Join(out, SummaryHTML), 2) // the series and the refusals
}

// TestSnapshotOrder: without times in the files or distinct modification
// times, snapshots keep the order given and growth is per snapshot.
func TestSnapshotOrder(t *testing.T) {
	real, err := os.ReadFile(realPoolmon(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	same := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var paths []string
	screen := string(real)
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("s%d.txt", 2-i)) // names sort backwards
		write(t, p, []byte(screen))
		os.Chtimes(p, same, same)
		paths = append(paths, p)
		screen = grownScreen(t, screen, map[string]int64{"PcNw": 1000})
	}
	s, err := Run(context.Background(), Options{Paths: paths, OutDir: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	se := s.Snapshots[0]
	if !se.PerStep {
		t.Fatal("equal times: want growth per snapshot")
	}
	fl := se.Flagged()
	if len(fl) != 1 || fl[0].Tag != "PcNw" || fl[0].Growth != 1000*59 {
		t.Fatalf("flagged %v (growth %v), want PcNw at %d bytes a snapshot", tagsOf(fl), fl, 1000*59)
	}
}

// TestSnapshotInputs: poolblame's own poolused output and !vm text are
// read, an unreadable snapshot is a failed input (not a note), and each
// snapshot's time comes from --time, its file name, or its modification
// time, in that order.
func TestSnapshotInputs(t *testing.T) {
	fixtures := "../pool/snapshot/testdata"
	dir := filepath.Join(t.TempDir(), "web01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFixture := func(from, to string) string {
		b, err := os.ReadFile(filepath.Join(fixtures, from))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, to)
		write(t, p, b)
		return p
	}
	modified := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ex9 := copyFixture("poolmon-gflags-example9.txt", "example9.txt")
	os.Chtimes(ex9, modified, modified)
	own := copyFixture("poolused-poolblame-isil-top5.txt", "poolused-2005-09-02_18-00.txt")
	os.Chtimes(own, modified, modified)
	vm := copyFixture("vm-1-doc.txt", "vm.txt")
	os.Chtimes(vm, modified, modified)
	bad := filepath.Join(dir, "broken.txt")
	write(t, bad, []byte(" Tag  Type     Allocs     Frees      Diff   Bytes  Per Alloc\n AfdB Nonp  1 0 1 64 64\n this is not a row\n"))

	given := time.Date(2005, 9, 2, 19, 30, 0, 0, time.UTC)
	out := filepath.Join(t.TempDir(), "out")
	s, err := Run(context.Background(), Options{Paths: []string{dir}, OutDir: out, Times: map[string]time.Time{"vm.txt": given}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts.Snapshots != 3 || s.Counts.SnapshotsFailed != 1 || len(s.FailedSnapshots) != 1 ||
		!strings.HasSuffix(s.FailedSnapshots[0].File, "broken.txt") || !strings.Contains(s.FailedSnapshots[0].Error, "not a poolmon row") {
		t.Fatalf("counts %+v, failed %+v; want 3 read and broken.txt failed", s.Counts, s.FailedSnapshots)
	}
	for _, n := range s.Notes {
		if strings.Contains(n, "broken.txt") {
			t.Errorf("the failed snapshot is listed as a note: %q", n)
		}
	}
	if len(s.Snapshots) != 1 {
		t.Fatalf("%d series, want 1", len(s.Snapshots))
	}
	type want struct {
		time   time.Time
		source string
		format string
		npMax  uint64
	}
	wants := map[string]want{
		"poolused-2005-09-02_18-00.txt": {time.Date(2005, 9, 2, 18, 0, 0, 0, time.UTC), "name", "!poolused", 131072 << 10},
		"vm.txt":                        {given, "given", "!vm", 25008 << 10},
		"example9.txt":                  {modified, "modified", "poolmon", 0},
	}
	for _, sn := range s.Snapshots[0].Snapshots {
		w, ok := wants[filepath.Base(sn.File)]
		if !ok {
			t.Errorf("unexpected snapshot %s", sn.File)
			continue
		}
		if !sn.Time.Equal(w.time) || sn.TimeSource != w.source || sn.Format != w.format || sn.NonPagedMax != w.npMax {
			t.Errorf("%s: %v from %s, format %s, nonpaged max %d; want %v from %s, %s, %d",
				sn.File, sn.Time, sn.TimeSource, sn.Format, sn.NonPagedMax, w.time, w.source, w.format, w.npMax)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(out, SummaryText))
	if !regexp.MustCompile(`(?m)^SNAPSHOTS NOT READ\n  .*broken.txt:3: not a poolmon row`).Match(txt) {
		t.Errorf("summary.txt does not list the failed snapshot:\n%s", txt)
	}
	if !strings.Contains(s.CountsLine(), "3 snapshot files read, 1 failed") {
		t.Errorf("counts line %q", s.CountsLine())
	}
}
