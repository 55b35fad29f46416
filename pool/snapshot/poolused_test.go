package snapshot

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// outstanding is one plain !poolused row: outstanding allocations and
// bytes per pool, and what the debugger printed after them.
type outstanding struct {
	tag            string
	na, nb, pa, pb int64
	desc           Description
}

func checkPlain(t *testing.T, file string, s *Snapshot, rows []outstanding) {
	t.Helper()
	for _, r := range rows {
		tag := pooltag.MustTag(r.tag)
		u, ok := s.Usage(tag)
		if !ok {
			t.Errorf("%s: %q missing", file, r.tag)
			continue
		}
		if got := s.Outstanding[tag]; got != [2]int64{r.na, r.pa} {
			t.Errorf("%s: %q outstanding %v, want [%d %d]", file, r.tag, got, r.na, r.pa)
		}
		if u.NonPagedOutstanding() != r.na || u.PagedOutstanding() != r.pa ||
			u.NonPagedBytes != uint64(r.nb) || u.PagedBytes != uint64(r.pb) {
			t.Errorf("%s: %q = %+v, want %d/%d %d/%d", file, r.tag, u, r.na, r.nb, r.pa, r.pb)
		}
		if r.na >= 0 && (u.NonPagedAllocs != uint64(r.na) || u.NonPagedFrees != 0) {
			t.Errorf("%s: %q Allocs %d Frees %d, want the outstanding count and 0", file, r.tag, u.NonPagedAllocs, u.NonPagedFrees)
		}
		if got := s.Descriptions[tag]; got != r.desc {
			t.Errorf("%s: %q description %+v, want %+v", file, r.tag, got, r.desc)
		}
	}
}

func TestPoolusedDoc(t *testing.T) {
	const file = "poolused-doc.txt"
	snaps, err := Parse(bytes.NewReader(readFixture(t, file)), file)
	if err != nil {
		t.Fatal(err)
	}
	s := snaps[0]
	if s.Format != Poolused || len(s.Usages) != 35 || !s.Partial || s.Session {
		t.Errorf("format %v, %d usages, partial %v, session %v; want !poolused, 35, true, false", s.Format, len(s.Usages), s.Partial, s.Session)
	}
	for _, n := range []string{"outstanding allocations only", "cut at line 21", "sorted by Tag", "rows are missing"} {
		if !hasNote(s, n) {
			t.Errorf("notes %q lack %q", s.Notes, n)
		}
	}
	checkPlain(t, file, s, []outstanding{
		{"1394", 1, 520, 0, 0, Description{}},
		{"8042", 4, 3944, 0, 0, Description{"PS/2 kb and mouse", "i8042prt.sys"}},
		{"AGP", 1, 344, 2, 384, Description{}}, // a three-letter tag, 'AGP '
		{"AcdN", 2, 1072, 0, 0, Description{Text: "TDI AcdObjectInfoG"}},
		{"Wmip", 146, 3504, 182, 18600, Description{Text: "Wmi General purpose allocation"}},
		{"hibr", 0, 0, 1, 24576, Description{}},
		// "0" glued to a description that starts with digits: "01394 OHCI".
		{"ohci", 1, 136, 0, 0, Description{Text: "1394 OHCI host controller driver"}},
		// A row one column short of the others, as printed.
		{"rx..", 3, 1248, 0, 0, Description{}},
		{"usbp", 18, 77056, 2, 96, Description{}},
		{"vPrt", 0, 0, 18, 68160, Description{}},
	})
	want := pool.Usage{NonPagedAllocs: 3570214, NonPagedBytes: 209120008, PagedAllocs: 38769, PagedBytes: 13066104}
	if !s.Totals.TaggedPresent || s.Totals.Tagged != want || s.Totals.Present {
		t.Errorf("totals = %+v, want TOTAL row %+v and no poolmon header", s.Totals, want)
	}
}

func TestPoolusedAskPerf(t *testing.T) {
	const file = "poolused-askperf-2009.txt"
	s, err := ParsePoolused(bytes.NewReader(readFixture(t, file)), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Usages) != 14 || s.Partial {
		t.Errorf("%d usages, partial %v; want 14, false", len(s.Usages), s.Partial)
	}
	checkPlain(t, file, s, []outstanding{
		{"8042", 4, 3944, 0, 0, Description{"PS/2 kb and mouse", "i8042prt.sys"}},
		{"AcdN", 2, 1072, 0, 0, Description{Text: "TDI AcdObjectInfoG"}},
		{"AcpR", 3, 1616, 9, 4208, Description{"ACPI resource data", "acpi.sys"}},
		{"AcpS", 51, 1288, 17, 704, Description{"ACPI string data", "acpi.sys"}},
		{"Acpt", 1, 120, 0, 0, Description{"ACPI table data", "acpi.sys"}},
	})
}

func TestPoolusedSortedByNonPaged(t *testing.T) {
	const file = "poolused-2-kuo-2024.txt"
	s, err := ParsePoolused(bytes.NewReader(readFixture(t, file)), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Usages) != 8 || s.Usages[0].Tag != pooltag.MustTag("amda") || !hasNote(s, "sorted by NonPaged Pool Consumed") {
		t.Errorf("%d usages, first %s, notes %q", len(s.Usages), s.Usages[0].Tag, s.Notes)
	}
	checkPlain(t, file, s, []outstanding{
		{"amda", 5768754, 1938325232, 32, 9360, Description{}},
		{"IoWI", 5769999, 646239888, 0, 0, Description{"Io work items", "nt!io"}},
		{"HalD", 118, 230549312, 0, 0, Description{"Hardware Abstraction Layer: DMA", "hal.dll"}},
		{"DAL2", 877, 25073840, 1560, 6288352, Description{}},
	})
}

// verbose is made-up flag-1 output in the debugger's verbose layout.
const verbose = `kd> !poolused 1
   Sorting by  Tag

  Pool Used:
            NonPaged                    Paged
 Tag    Allocs    Frees     Diff     Used   Allocs    Frees     Diff     Used
 AfdB     1200     1100      100    51200        0        0        0        0AFD data buffers , Binary: afd.sys
 File     9000     8000     1000   152000      300      200      100    12800File objects 
 Leak      500        1      498    63744        0        0        0        0UNKNOWN pooltag 'Leak', please update pooltag.txt
 TOTAL     10700     9101     1598   266944      300      200      100    12800
`

func TestPoolusedVerbose(t *testing.T) {
	s, err := ParsePoolused(strings.NewReader(verbose), "v.txt")
	if err != nil {
		t.Fatal(err)
	}
	if s.Outstanding != nil || hasNote(s, "outstanding allocations only") {
		t.Error("verbose output has Allocs and Frees: no Outstanding, no note")
	}
	tests := []pool.Usage{
		{Tag: pooltag.MustTag("AfdB"), NonPagedAllocs: 1200, NonPagedFrees: 1100, NonPagedBytes: 51200},
		{Tag: pooltag.MustTag("File"), NonPagedAllocs: 9000, NonPagedFrees: 8000, NonPagedBytes: 152000, PagedAllocs: 300, PagedFrees: 200, PagedBytes: 12800},
		{Tag: pooltag.MustTag("Leak"), NonPagedAllocs: 500, NonPagedFrees: 1, NonPagedBytes: 63744},
	}
	for _, want := range tests {
		if u, _ := s.Usage(want.Tag); u != want {
			t.Errorf("%s = %+v, want %+v", want.Tag, u, want)
		}
	}
	if !hasNote(s, "Leak Nonp Diff 498 is not Allocs 500 - Frees 1") {
		t.Errorf("notes %q should flag Leak's Diff", s.Notes)
	}
	if s.Descriptions[pooltag.MustTag("AfdB")] != (Description{"AFD data buffers", "afd.sys"}) {
		t.Errorf("AfdB description %+v", s.Descriptions[pooltag.MustTag("AfdB")])
	}
	if s.Totals.Tagged.NonPagedFrees != 9101 || s.Totals.Tagged.PagedBytes != 12800 || s.Partial {
		t.Errorf("totals %+v partial %v", s.Totals.Tagged, s.Partial)
	}
}

func TestPoolusedCommands(t *testing.T) {
	const table = `
 Sorting by Paged Pool Consumed

               NonPaged                  Paged
 Tag     Allocs         Used     Allocs         Used

 CM31         0            0      19797     91705344	Internal Configuration manager allocations , Binary: nt!cm
 Gh05        -2          160         12        36864	GDI Handle manager objects , Binary: win32k.sys
`
	tests := []struct {
		name, text string
		session    bool
		partial    bool
		note       string
	}{
		{"session flag", "1: kd> !poolused c" + table, true, false, "session pool (!poolused flag 8)"},
		{"tag filter", "lkd> !poolused 4 CM*" + table, false, true, `only tags matching "CM*"`},
		{"top N", "lkd> !poolused /t20 4" + table, false, true, "only the top 20 tags were listed (/t20)"},
		{"hex flags", "kd> !poolused 0x4" + table, false, false, "sorted by Paged Pool Consumed"},
	}
	for _, tt := range tests {
		s, err := ParsePoolused(strings.NewReader(tt.text), "c.txt")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s.Session != tt.session || s.Partial != tt.partial || !hasNote(s, tt.note) {
			t.Errorf("%s: session %v partial %v notes %q", tt.name, s.Session, s.Partial, s.Notes)
		}
		// A negative outstanding count (frees on another CPU's table) stays
		// exact: Allocs - Frees is what was printed.
		g, _ := s.Usage(pooltag.MustTag("Gh05"))
		if s.Outstanding[g.Tag] != [2]int64{-2, 12} || g.NonPagedOutstanding() != -2 || g.NonPagedFrees != 2 {
			t.Errorf("%s: Gh05 = %+v, outstanding %v", tt.name, g, s.Outstanding[g.Tag])
		}
	}
}

func TestPoolusedMerge(t *testing.T) {
	two := "kd> !poolused 2\n" + string(readFixture(t, "poolused-2-kuo-2024.txt")) +
		"kd> !poolused 4\n Sorting by Paged Pool Consumed\n Tag     Allocs         Used     Allocs         Used\n" +
		" DAL2       877     25073840       1560      6288352\tUNKNOWN pooltag 'DAL2', please update pooltag.txt\n" +
		" EtwB      1428    254173440          7       200000\tEtw Buffer , Binary: nt!etw\n" +
		" CM31         0            0      19797     91705344\tInternal Configuration manager allocations , Binary: nt!cm\n"
	s, err := ParsePoolused(strings.NewReader(two), "m.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Usages) != 9 {
		t.Errorf("%d usages, want 9 (8 + CM31)", len(s.Usages))
	}
	if hasNote(s, "DAL2") {
		t.Errorf("an identical repeat must not be flagged: %q", s.Notes)
	}
	if !hasNote(s, "EtwB Paged listed again with other counters") {
		t.Errorf("a conflicting repeat must be flagged: %q", s.Notes)
	}
	e, _ := s.Usage(pooltag.MustTag("EtwB"))
	if e.PagedAllocs != 6 || e.PagedBytes != 196608 {
		t.Errorf("EtwB = %+v, want the first table's 6/196608", e)
	}
}

func TestPoolusedNumbers(t *testing.T) {
	// Title line " Tag    Allocs     Used    Allocs     Used": ends 14, 23, 33, 42.
	ends := []int{14, 23, 33, 42}
	tests := []struct {
		name, line string
		ends       []int
		want       [4]int64
		trailer    string
	}{
		{"glued text", " 1394        1      520         0        0UNKNOWN pooltag", ends, [4]int64{1, 520, 0, 0}, "UNKNOWN pooltag"},
		{"glued digits, aligned", " ohci        1      136         0        01394 OHCI", ends, [4]int64{1, 136, 0, 0}, "1394 OHCI"},
		{"glued digits, aligned, nonzero", " ohci        1      136         0       101394 OHCI", ends, [4]int64{1, 136, 0, 10}, "1394 OHCI"},
		{"glued digits, squeezed", "ohci 1 136 0 01394 OHCI", nil, [4]int64{1, 136, 0, 0}, "1394 OHCI"},
		{"too wide for its column", " Big1        1      520         0 1234567890UNKNOWN", ends, [4]int64{1, 520, 0, 1234567890}, "UNKNOWN"},
		{"too wide, then a tab", " Big2        1      520         0 1234567890\tEtw", ends, [4]int64{1, 520, 0, 1234567890}, "\tEtw"},
		{"shifted row", " rx..       3     1248         0        0UNKNOWN", ends, [4]int64{3, 1248, 0, 0}, "UNKNOWN"},
		{"no trailer", " Abcd        1      520         3      400", ends, [4]int64{1, 520, 3, 400}, ""},
	}
	for _, tt := range tests {
		tag, nums, trailer, err := parsePoolusedRow(tt.line, 4, tt.ends)
		if err != nil {
			t.Errorf("%s: error %+v", tt.name, err)
			continue
		}
		if [4]int64(nums) != tt.want || strings.TrimSpace(trailer) != strings.TrimSpace(tt.trailer) || tag == 0 {
			t.Errorf("%s: %s %v %q, want %v %q", tt.name, tag, nums, trailer, tt.want, tt.trailer)
		}
	}
}

func TestPoolusedErrors(t *testing.T) {
	const head = "kd> !poolused\n Tag    Allocs     Used    Allocs     Used\n"
	tests := []struct {
		name, text, want string
	}{
		{"bad number", head + " Abcd        1      5x0         0        0\n", `p.txt:3: bad NonPaged Used field "5x0"`},
		{"missing numbers", head + " Abcd        1      520\n", `p.txt:3: bad Paged Allocs field ""`},
		{"prose in table", head + "something went wrong\n", `p.txt:3: not a !poolused row: "something went wrong"`},
		{"no column line", "kd> !poolused\n Abcd 1 520 0 0\n", "p.txt: no !poolused column line"},
		{"odd column line", "kd> !poolused\n Tag Allocs Used\n", `p.txt:2: unexpected !poolused column line "Tag Allocs Used"`},
		{"bad flags", "kd> !poolused zz\n", `p.txt:1: bad !poolused flags field "zz"`},
		{"bad total", head + " TOTAL 1 2 x 4\n", `p.txt:3: bad TOTAL Paged Allocs field "x"`},
	}
	for _, tt := range tests {
		_, err := ParsePoolused(strings.NewReader(tt.text), "p.txt")
		var fe *FormatError
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func BenchmarkParsePoolused(b *testing.B) {
	// 3,000 made-up rows in the modern layout.
	var sb strings.Builder
	sb.WriteString("0: kd> !poolused 2\n Sorting by NonPaged Pool Consumed\n\n               NonPaged                  Paged\n Tag     Allocs         Used     Allocs         Used\n\n")
	for i := range 3000 {
		tag := string([]byte{'A' + byte(i%26), 'a' + byte(i/26%26), '0' + byte(i/676%10), 'q'})
		sb.WriteString(" " + tag + "   " + itoa(3000-i) + "    " + itoa(64*(3000-i)) + "          0            0\tUNKNOWN pooltag '" + tag + "', please update pooltag.txt\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := ParsePoolused(bytes.NewReader(data), "bench")
		if err != nil || len(s.Usages) != 3000 {
			b.Fatal(err)
		}
	}
}

func TestPoolusedNegativeBytes(t *testing.T) {
	const text = "kd> !poolused\n Tag    Allocs     Used    Allocs     Used\n Abcd        1     -520         0        0\n Efgh        1      520         0        0\n"
	s, err := ParsePoolused(strings.NewReader(text), "neg.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Usage(pooltag.MustTag("Abcd")); ok || len(s.Usages) != 1 || !hasNote(s, "line 3: Abcd has negative Used bytes") {
		t.Errorf("usages %+v notes %q: a row with negative bytes must be left out and noted", s.Usages, s.Notes)
	}
}

func TestPoolusedRowNoteCap(t *testing.T) {
	// Every row disagrees with itself; only maxRowNotes of them are noted.
	var sb strings.Builder
	sb.WriteString(" Tag    Allocs    Frees     Diff     Used   Allocs    Frees     Diff     Used\n")
	for i := range 5000 {
		tag := string([]byte{'A' + byte(i%26), 'a' + byte(i/26%26), '0' + byte(i/676%10), 'd'})
		sb.WriteString(" " + tag + "       10        5        9      640        0        0        0        0\n")
	}
	s, err := ParsePoolused(strings.NewReader(sb.String()), "cap.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Usages) != 5000 || len(s.Notes) != maxRowNotes+1 || !hasNote(s, "4980 more notes about single rows were left out") {
		t.Errorf("%d usages, %d notes, last %q", len(s.Usages), len(s.Notes), s.Notes[len(s.Notes)-1])
	}
}
