package report

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// The documented !poolused sample (kept with its source in
// pool/snapshot/testdata): its first rows, rendered from the same
// counters, must come out byte for byte.
func TestPoolusedMatchesDocumentedLayout(t *testing.T) {
	doc, err := os.ReadFile("../pool/snapshot/testdata/poolused-doc.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.ReplaceAll(string(doc), "\r", ""), "\n")
	want := lines[1:14] // "   Sorting by  Tag" through the AcpA row
	rows := []struct {
		tag                  string
		np, npUsed, p, pUsed uint64
	}{
		{"1394", 1, 520, 0, 0}, {"1MEM", 1, 3368, 0, 0}, {"2MEM", 1, 3944, 0, 0}, {"3MEM", 3, 248, 0, 0},
		{"8042", 4, 3944, 0, 0}, {"AGP", 1, 344, 2, 384}, {"AcdN", 2, 1072, 0, 0}, {"AcpA", 3, 192, 1, 504},
	}
	r := &pool.Result{}
	for _, x := range rows {
		r.Usages = append(r.Usages, pool.Usage{Tag: pooltag.MustTag(x.tag), NonPagedAllocs: x.np, NonPagedBytes: x.npUsed,
			PagedAllocs: x.p, PagedBytes: x.pUsed})
	}
	db, err := pooltag.Parse(strings.NewReader(
		"8042 - i8042prt.sys - PS/2 kb and mouse\nAcdN - <unknown> - TDI AcdObjectInfoG\nAcp? - acpi.sys - ACPI Pooltags\n"), "pooltag.txt")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := WritePoolused(&sb, r, PoolusedOptions{Pooltag: db}); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(sb.String(), "\n")[:len(want)]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
}

// The lines under !vm 1 and the warnings above the rows, from the typed
// facts of pool.Result.
func TestPoolPressureLines(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name     string
		r        pool.Result
		warnings []string
		lines    []string
	}{
		{"HTTP.SYS below its floor", pool.Result{Limits: pool.Limits{NonPagedUsed: 110 * mib, NonPagedMax: 128 * mib, PagedUsed: 42 * mib,
			DocumentedNonPaged: "256 MB", DocumentedPaged: "650 MB", HTTPSysApplies: true, HTTPSysBelow: true}},
			nil,
			[]string{"Nonpaged pool: 110.0 MiB of 128.0 MiB used (85.9%), 18.0 MiB free (documented limit: 256 MB)",
				"Paged pool: 42.0 MiB tracked; maximum unknown (documented limit: 650 MB)",
				"HTTP.SYS: free nonpaged pool 18.0 MiB is BELOW HTTP.SYS's 20.0 MiB floor: HTTP.SYS refuses new connections (HTTPERR Connections_Refused)"}},
		{"HTTP.SYS above, maximum exceeded", pool.Result{Limits: pool.Limits{NonPagedUsed: 130 * mib, NonPagedMax: 128 * mib, PagedUsed: 1, PagedMax: 4,
			DocumentedNonPaged: "a", DocumentedPaged: "b", HTTPSysApplies: true}},
			nil,
			[]string{"Nonpaged pool: 130.0 MiB of 128.0 MiB used (101.6%), 0 B free (documented limit: a)",
				"Paged pool: 1 B of 4 B used (25.0%), 3 B free (documented limit: b)",
				"HTTP.SYS: free nonpaged pool 0 B is above HTTP.SYS's 20.0 MiB floor: no Connections_Refused expected from pool pressure"}},
		{"one CPU, partial, maximum unknown", pool.Result{OneCPUOnly: true, CPUs: 4, Partial: true, Missing: []string{"x", "y"},
			Limits: pool.Limits{HTTPSysApplies: true, DocumentedNonPaged: "a", DocumentedPaged: "b"}},
			[]string{"WARNING: this dump has 4 CPUs but their per-CPU tracker tables were not found: the figures cover ONE CPU's table only (allocations freed on another CPU can show more frees than allocations)",
				"WARNING: partial data: x; y"},
			[]string{"The figures below are ONE CPU's tracker table only: they do not measure the pools' use.",
				"Nonpaged pool: 0 B tracked; maximum unknown (documented limit: a)",
				"Paged pool: 0 B tracked; maximum unknown (documented limit: b)",
				"HTTP.SYS: cannot tell whether free nonpaged pool was below its 20 MiB threshold (maximum unknown)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PoolWarnings(&tt.r); strings.Join(got, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("warnings\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.warnings, "\n"))
			}
			if got := PressureLines(&tt.r); strings.Join(got, "\n") != strings.Join(tt.lines, "\n") {
				t.Errorf("lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.lines, "\n"))
			}
			var sb strings.Builder
			if err := WritePoolused(&sb, &tt.r, PoolusedOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tt.warnings, tt.lines...) {
				if !strings.Contains(sb.String(), w) {
					t.Errorf("poolused output lacks %q", w)
				}
			}
		})
	}
}

// --verbose: Allocs, Frees, Diff and Used of both pools in WinDbg's
// 11-column layout, TOTAL over the rows the filter matches.
func TestPoolusedVerbose(t *testing.T) {
	r := &pool.Result{Usages: []pool.Usage{
		{Tag: pooltag.MustTag("Leak"), NonPagedAllocs: 10, NonPagedFrees: 4, NonPagedBytes: 600, PagedAllocs: 3, PagedFrees: 1, PagedBytes: 64},
		{Tag: pooltag.MustTag("Lean"), NonPagedAllocs: 1, NonPagedBytes: 16},
		{Tag: pooltag.MustTag("Othr"), NonPagedAllocs: 9, NonPagedBytes: 900},
	}}
	var sb strings.Builder
	if err := WritePoolused(&sb, r, PoolusedOptions{Selection: pool.Selection{Filter: "Le*", Sort: pool.SortNonPaged, Top: 1}, Verbose: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"   Sorting by  NonPaged Pool Consumed",
		"",
		"  Pool Used:",
		"            NonPaged                                    Paged",
		" Tag      Allocs      Frees       Diff       Used      Allocs      Frees       Diff       Used",
		" Leak         10          4          6        600           3          1          2         64UNKNOWN pooltag 'Leak', please update pooltag.txt",
		" TOTAL        11          4          7        616           3          1          2         64",
	}
	got := strings.Split(sb.String(), "\n")
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Fatalf("line %d:\n got %q\nwant %q\n%s", i+1, got[min(i, len(got)-1)], w, sb.String())
		}
	}
}

// TOTAL's sums, wider than any row, widen the TOTAL line alone and keep
// a space after the word, in the system table and in each session table
// alike (one writer serves both).
func TestUsageTableTotalWidth(t *testing.T) {
	us := []pool.Usage{
		{Tag: pooltag.MustTag("Gh05"), NonPagedAllocs: 60000000, NonPagedBytes: 60000000, PagedAllocs: 60000000, PagedBytes: 90000000},
		{Tag: pooltag.MustTag("Gla5"), NonPagedAllocs: 60000000, NonPagedBytes: 60000000, PagedAllocs: 60000000, PagedBytes: 90000000},
	}
	want := []string{
		"            NonPaged            Paged\n",
		" Tag    Allocs     Used    Allocs     Used\n",
		" Gh05 60000000 60000000  60000000 90000000UNKNOWN pooltag 'Gh05', please update pooltag.txt\n",
		" TOTAL 120000000 120000000 120000000 180000000\n",
	}
	var sys bytes.Buffer
	ew := &ErrWriter{W: &sys}
	writeUsageTable(ew, us, pool.Selection{}, nil, false)
	if ew.Err != nil {
		t.Fatal(ew.Err)
	}
	for _, w := range want {
		if !strings.Contains(sys.String(), w) {
			t.Errorf("lacks %q:\n%s", w, sys.String())
		}
	}
	var ses bytes.Buffer
	err := WriteSessionPoolused(&ses, &pool.SessionPools{Read: true, Sessions: []pool.SessionPool{{ID: 1, Usages: us}}}, pool.Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ses.String(), sys.String()) {
		t.Errorf("the session table differs from the system one:\n%s\nwant within it:\n%s", ses.String(), sys.String())
	}
}

// A failed write stops the ones after it and is the one error returned.
func TestErrWriterKeepsFirstError(t *testing.T) {
	fw := &failAfterWriter{after: 1}
	ew := &ErrWriter{W: fw}
	ew.Printf("a\n")
	ew.Printf("b\n")
	if _, err := ew.Write([]byte("c")); !errors.Is(err, errFull) {
		t.Errorf("Write after a failure: %v", err)
	}
	if !errors.Is(ew.Err, errFull) || fw.calls != 2 {
		t.Errorf("err %v after %d calls, want errFull after 2", ew.Err, fw.calls)
	}
}

var errFull = errors.New("disk full")

// failAfterWriter accepts after writes, then fails every one.
type failAfterWriter struct{ after, calls int }

func (f *failAfterWriter) Write(p []byte) (int, error) {
	f.calls++
	if f.calls > f.after {
		return 0, errFull
	}
	return len(p), nil
}
