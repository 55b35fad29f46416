package snapshot

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pooltag"
)

// readReal reads a snapshot kept in the real data (see internal/realdata).
func readReal(t testing.TB, name string) []byte {
	t.Helper()
	return realdata.Read(t, "snapshots/"+name)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hasNote(s *Snapshot, sub string) bool {
	for _, n := range s.Notes {
		if strings.Contains(n, sub) {
			return true
		}
	}
	return false
}

// The IIS 6 Connections_Refused case: a real Windows Server 2003 screen.
func TestPoolmonIIS6(t *testing.T) {
	data := readReal(t, "poolmon-b-iis6-connections-refused.txt")
	snaps, err := Parse(bytes.NewReader(data), "poolmon-b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 {
		t.Fatalf("got %d snapshots, want 1", len(snaps))
	}
	s := snaps[0]
	if s.Format != Poolmon || len(s.Usages) != 20 || !s.Partial || s.Session {
		t.Errorf("format %v, %d usages, partial %v, session %v; want poolmon, 20, true, false", s.Format, len(s.Usages), s.Partial, s.Session)
	}
	if !hasNote(s, "20 rows") || !hasNote(s, "no Paged rows") {
		t.Errorf("notes %q should say the screen holds 20 rows and no Paged rows", s.Notes)
	}
	tests := []struct {
		tag                  string
		allocs, frees, bytes uint64
		diff                 int64
	}{
		{"ISil", 1408366, 1327427, 36678632, 80939},
		{"I100", 11048877, 10967968, 14886928, 80909},
		{"PcNw", 292427, 88967, 12203296, 203460},
		{"SavE", 1596066, 1595659, 11717016, 407},
		{"IAM", 1946164, 1904725, 8519576, 41439},
		{"LSwi", 1, 0, 2576384, 1},
		{"Mm", 26, 2, 379880, 24},
		{"AfdC", 21989, 19872, 338720, 2117},
	}
	for _, tt := range tests {
		u, ok := s.Usage(pooltag.MustTag(tt.tag))
		if !ok {
			t.Errorf("%s missing", tt.tag)
			continue
		}
		if u.NonPagedAllocs != tt.allocs || u.NonPagedFrees != tt.frees || u.NonPagedBytes != tt.bytes ||
			u.NonPagedOutstanding() != tt.diff || u.PagedAllocs|u.PagedFrees|u.PagedBytes != 0 {
			t.Errorf("%s = %+v, want Nonp %d/%d/%d diff %d", tt.tag, u, tt.allocs, tt.frees, tt.bytes, tt.diff)
		}
	}
	if s.Usages[0].Tag != pooltag.MustTag("ISil") || s.Usages[19].Tag != pooltag.MustTag("AfdC") {
		t.Errorf("order: first %s, last %s; want ISil, AfdC", s.Usages[0].Tag, s.Usages[19].Tag)
	}
	want := Totals{
		Present: true, Memory: 1048016 << 10, Avail: 438396 << 10, PageFaults: 219,
		InRamKernel: 3604 << 10, InRamPaged: 42372 << 10, Commit: 538908 << 10,
		Limit: 11245092 << 10, Peak: 609576 << 10, PoolNonPaged: 109056 << 10, PoolPaged: 43740 << 10,
	}
	if s.Totals != want {
		t.Errorf("totals = %+v\nwant     %+v", s.Totals, want)
	}
	if s.Outstanding != nil {
		t.Error("poolmon gives Allocs and Frees: Outstanding should be nil")
	}
}

func TestPoolmonFixtures(t *testing.T) {
	type row struct {
		tag                  string
		paged                bool
		allocs, frees, bytes uint64
		binary               string
	}
	tests := []struct {
		file    string
		rows    int
		partial bool
		session bool
		totals  bool
		poolN   uint64
		note    string
		check   []row
	}{
		{"poolmon-display-a.txt", 8, true, false, true, 8332 << 10, "8 rows", []row{
			{"Wait", false, 3971107, 3971077, 8456, ""},
			{"Io", false, 1021112, 1020985, 91912, ""},
			{"Key", true, 954821, 953979, 87528, ""},
			{"Gxlt", true, 1161638, 1161630, 864, ""},
		}},
		{"poolmon-examples-ntf-g.txt", 13, true, false, true, 8500 << 10, "13 rows", []row{
			{"NtFC", true, 1579279, 1579269, 640, "ntfs.sys"},
			{"NtFs", false, 48825, 47226, 64536, "ntfs.sys"},
		}},
		{"poolmon-examples-mem-g.txt", 3, true, false, false, 0, "no Paged rows", []row{
			{"3MEM", false, 3, 0, 248, ""},
		}},
		{"poolmon-examples-ip-cg.txt", 8, true, false, true, 8372 << 10, "no Paged rows", []row{
			{"IpSI", false, 1027, 0, 53272, "ipsec.sys"},
			{"IpIO", false, 1, 1, 0, "ipsec"},
		}},
		{"poolmon-examples-drsd-before.txt", 1, true, false, true, 2224 << 10, "no Nonp rows", []row{
			{"Drsd", true, 560, 539, 17472, ""},
		}},
		{"poolmon-examples-drsd-after.txt", 1, true, false, true, 2224 << 10, "1 row", []row{
			{"Drsd", true, 737, 710, 22464, ""},
		}},
		{"poolmon-examples-session0.txt", 16, true, true, true, 14340 << 10, `cut at line 22`, []row{
			{"Dh 1", true, 24, 24, 0, ""},
			{"GTmp", true, 89079, 89079, 0, ""},
			{"Gcac", true, 3762, 3707, 283632, ""},
		}},
		{"poolmon-examples-session0-g.txt", 16, true, true, true, 14684 << 10, "Session 0", []row{
			{"Dh 2", true, 367, 364, 912, ""},
			{"Bmfd", true, 421, 396, 57832, ""},
		}},
		{"poolmon-examples-allsessions-empty.txt", 0, false, true, true, 8112 << 10, "no tag rows", nil},
	}
	for _, tt := range tests {
		s, err := ParsePoolmon(bytes.NewReader(readFixture(t, tt.file)), tt.file)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if len(s.Usages) != tt.rows || s.Partial != tt.partial || s.Session != tt.session ||
			s.Totals.Present != tt.totals || s.Totals.PoolNonPaged != tt.poolN {
			t.Errorf("%s: %d usages, partial %v, session %v, totals %v, Pool N %d; want %d, %v, %v, %v, %d",
				tt.file, len(s.Usages), s.Partial, s.Session, s.Totals.Present, s.Totals.PoolNonPaged,
				tt.rows, tt.partial, tt.session, tt.totals, tt.poolN)
		}
		if !hasNote(s, tt.note) {
			t.Errorf("%s: notes %q, want one mentioning %q", tt.file, s.Notes, tt.note)
		}
		for _, r := range tt.check {
			u, ok := s.Usage(pooltag.MustTag(r.tag))
			a, f, b := u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedBytes
			if r.paged {
				a, f, b = u.PagedAllocs, u.PagedFrees, u.PagedBytes
			}
			if !ok || a != r.allocs || f != r.frees || b != r.bytes {
				t.Errorf("%s: %q = %+v (found %v), want %d/%d/%d in %s", tt.file, r.tag, u, ok, r.allocs, r.frees, r.bytes, poolName(r.paged))
			}
			if got := s.Descriptions[u.Tag].Binary; got != r.binary {
				t.Errorf("%s: %q binary %q, want %q", tt.file, r.tag, got, r.binary)
			}
		}
	}
}

// Layouts of the same screen as Microsoft's pages print it: a dashed line
// under the column titles (GFlags "Example 9"), the column titles turned
// into a Markdown heading (Learn, "Use PoolMon to find a kernel-mode
// memory leak"), and the two header lines pasted as one. Each value of the
// header is read by the label it follows.
func TestPoolmonPublishedLayouts(t *testing.T) {
	want := Totals{
		Present: true, Memory: 16224 << 10, Avail: 4564 << 10, PageFaults: 31,
		InRamKernel: 684 << 10, InRamPaged: 680 << 10, Commit: 24140 << 10,
		Limit: 24952 << 10, Peak: 24932 << 10, PoolNonPaged: 744 << 10, PoolPaged: 2180 << 10,
	}
	tests := []struct {
		file string
		rows int
		tags []string
	}{
		{"poolmon-gflags-example9.txt", 4, []string{"CM", "Strg", "Fat", "MmSt"}},
		{"poolmon-learn-leak-heading.txt", 4, []string{"CM", "Strg", "Fat", "MmSt"}},
		{"poolmon-header-one-line.txt", 2, []string{"CM", "Strg"}},
	}
	for _, tt := range tests {
		data := readFixture(t, tt.file)
		if got := Detect(data); got != Poolmon {
			t.Errorf("%s: Detect = %v, want poolmon", tt.file, got)
		}
		snaps, err := Parse(bytes.NewReader(data), tt.file)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		s := snaps[0]
		if len(snaps) != 1 || len(s.Usages) != tt.rows || !s.Partial {
			t.Errorf("%s: %d snapshots, %d usages, partial %v; want 1, %d, true", tt.file, len(snaps), len(s.Usages), s.Partial, tt.rows)
		}
		if s.Totals != want {
			t.Errorf("%s: totals = %+v\nwant %+v", tt.file, s.Totals, want)
		}
		for i, tag := range tt.tags {
			if i < len(s.Usages) && s.Usages[i].Tag != pooltag.MustTag(tag) {
				t.Errorf("%s: usage %d is %q, want %q", tt.file, i, s.Usages[i].Tag.Trimmed(), tag)
			}
		}
		u, _ := s.Usage(pooltag.MustTag("Strg"))
		if u.PagedAllocs != 10385 || u.PagedFrees != 6658 || u.PagedBytes != 317952 || u.NonPagedAllocs|u.NonPagedBytes != 0 {
			t.Errorf("%s: Strg = %+v, want Paged 10385/6658/317952", tt.file, u)
		}
		if !hasNote(s, "no Nonp rows") {
			t.Errorf("%s: notes %q should say the Nonp rows are missing", tt.file, s.Notes)
		}
	}
}

func TestPoolmonHeaderLabels(t *testing.T) {
	tests := []struct {
		line          string
		inRamP, poolP uint64
		note          string
	}{
		// The order of the pairs does not matter, only the label before "P:".
		{"Commit: 1K Limit: 2K Peak: 3K Pool N: 4K P: 5K Memory: 6K Avail: 7K PageFlts: 8 InRam Krnl: 9K P: 10K", 10 << 10, 5 << 10, ""},
		{"Memory:33412204K Avail:29154640K  PageFlts:  4420   InRam Krnl:16372K P:441500K", 441500 << 10, 0, ""},
		{"Memory: 1K Avail: 2K P: 3K", 0, 0, `"P: 3K" follows "Avail"`},
	}
	for _, tt := range tests {
		s, err := ParsePoolmon(strings.NewReader(tt.line+"\n"), "h.txt")
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if s.Totals.InRamPaged != tt.inRamP || s.Totals.PoolPaged != tt.poolP {
			t.Errorf("%q: InRam P %d, Pool P %d; want %d, %d", tt.line, s.Totals.InRamPaged, s.Totals.PoolPaged, tt.inRamP, tt.poolP)
		}
		if tt.note != "" && !hasNote(s, tt.note) {
			t.Errorf("%q: notes %q, want %q", tt.line, s.Notes, tt.note)
		}
	}
}

func TestPoolmonMappedDriver(t *testing.T) {
	s, err := ParsePoolmon(bytes.NewReader(readFixture(t, "poolmon-examples-session0-g.txt")), "s0g")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tag  string
		want Description
		ok   bool
	}{
		{"Bmfd", Description{Text: "[Font related stuff]"}, true},
		{"GDev", Description{Text: "[Gdi pdev]"}, true},
		{"DDfb", Description{}, false}, // "Unknown Driver" is no description
	}
	for _, tt := range tests {
		d, ok := s.Descriptions[pooltag.MustTag(tt.tag)]
		if d != tt.want || ok != tt.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tt.tag, d, ok, tt.want, tt.ok)
		}
	}
}

// poolmon -n output as a real tool's tests use it: full list, both pools.
func TestPoolmonLogIntel(t *testing.T) {
	snaps, err := Parse(bytes.NewReader(readFixture(t, "poolmon-n-intel-mfd.txt")), "poolsnap.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 {
		t.Fatalf("%d snapshots, want 1", len(snaps))
	}
	s := snaps[0]
	if s.Format != PoolmonLog || len(s.Usages) != 13 || s.Partial || len(s.Notes) != 0 {
		t.Errorf("format %v, %d usages, partial %v, notes %q; want poolmon log, 13, false, none", s.Format, len(s.Usages), s.Partial, s.Notes)
	}
	if s.Totals.PoolNonPaged != 710920<<10 || s.Totals.PoolPaged != 983564<<10 || s.Totals.PageFaults != 468600648 || s.Totals.Avail != 12072536<<10 {
		t.Errorf("totals = %+v", s.Totals)
	}
	u, _ := s.Usage(pooltag.MustTag("IoNm"))
	if u.PagedAllocs != 28541906 || u.PagedFrees != 28381445 || u.PagedBytes != 52366176 || u.PagedOutstanding() != 160461 {
		t.Errorf("IoNm = %+v", u)
	}
	u, _ = s.Usage(pooltag.MustTag("HalD"))
	if u.NonPagedAllocs != 1004301 || u.NonPagedBytes != 40992304 {
		t.Errorf("HalD = %+v", u)
	}
}

func TestPoolmonLogSeveral(t *testing.T) {
	// Two screens pasted one after the other.
	two := append(readFixture(t, "poolmon-examples-drsd-before.txt"), readFixture(t, "poolmon-examples-drsd-after.txt")...)
	if _, err := ParsePoolmon(bytes.NewReader(two), "two.txt"); err == nil || !strings.Contains(err.Error(), "two.txt:6: ") {
		t.Errorf("ParsePoolmon of two screens: err = %v, want one at two.txt:6", err)
	}
	snaps, err := ParsePoolmonLog(bytes.NewReader(two), "two.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}
	a, _ := snaps[0].Usage(pooltag.MustTag("Drsd"))
	b, _ := snaps[1].Usage(pooltag.MustTag("Drsd"))
	if a.PagedOutstanding() != 21 || b.PagedOutstanding() != 27 || b.PagedBytes-a.PagedBytes != 4992 {
		t.Errorf("Drsd before %+v after %+v: want diff 21 then 27, 4992 bytes more", a, b)
	}
	if snaps[1].Source != "two.txt (snapshot 2 of 2)" {
		t.Errorf("source = %q", snaps[1].Source)
	}

	// A poolsnap log appended to twice (made up, in poolsnap's layout:
	// one title line, then a blank line and "!name=value" lines before
	// each snapshot's rows).
	const appended = ` Tag  Type     Allocs     Frees      Diff   Bytes  Per Alloc

!LogType=poolsnap
!ComputerName=WEB01
!SystemTime=2005-09-02 18:00:00
 AfdB Nonp      1200      1100       100   51200        512
 File Nonp      9000      8000      1000  152000        152
 File Paged      300       200       100   12800        128

!LogType=poolsnap
!ComputerName=WEB01
!SystemTime=2005-09-02 19:00:00
 AfdB Nonp      1500      1100       400  204800        512
 File Nonp      9100      8000      1100  167200        152
 File Paged      310       200       110   14080        128
`
	snaps, err = ParsePoolmonLog(strings.NewReader(appended), "poolsnap.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}
	for i, s := range snaps {
		wantTime := time.Date(2005, 9, 2, 18+i, 0, 0, 0, time.UTC)
		if !s.Time.Equal(wantTime) || s.Attrs["ComputerName"] != "WEB01" || len(s.Usages) != 2 || s.Partial {
			t.Errorf("snapshot %d: time %v attrs %v usages %d partial %v notes %q", i+1, s.Time, s.Attrs, len(s.Usages), s.Partial, s.Notes)
		}
	}
	f, _ := snaps[1].Usage(pooltag.MustTag("File"))
	if f.NonPagedAllocs != 9100 || f.PagedBytes != 14080 {
		t.Errorf("second File = %+v", f)
	}
}

// TestPoolmonSecondScreen: each way a second screen starts (a column
// line, a poolsnap log entry, rows after a blank line) is refused by
// ParsePoolmon at its line, and read as a second snapshot by
// ParsePoolmonLog.
func TestPoolmonSecondScreen(t *testing.T) {
	const cols = " Tag  Type     Allocs     Frees      Diff   Bytes  Per Alloc\n"
	const rows = " AfdB Nonp      1200      1100       100   51200        512\n"
	tests := []struct {
		name, text, want string
	}{
		{"column line", cols + rows + cols + rows, "p.txt:3: a second poolmon screen starts here (column line)"},
		{"log entry", "!LogType=poolsnap\n" + cols + rows + "!LogType=poolsnap\n" + rows, "p.txt:4: a second poolmon screen starts here (log entry)"},
		{"blank line", cols + rows + "\n" + rows, "p.txt:4: a second poolmon screen starts here (rows after a blank line)"},
	}
	for _, tt := range tests {
		if _, err := ParsePoolmon(strings.NewReader(tt.text), "p.txt"); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: ParsePoolmon err = %v, want %q", tt.name, err, tt.want)
		}
		snaps, err := ParsePoolmonLog(strings.NewReader(tt.text), "p.txt")
		if err != nil || len(snaps) != 2 {
			t.Errorf("%s: ParsePoolmonLog gives %d snapshots, err %v; want 2", tt.name, len(snaps), err)
		}
	}
}

func TestPoolmonNotes(t *testing.T) {
	const head = " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n\n"
	tests := []struct {
		name, rows, note string
	}{
		{"diff mismatch", " Wait Nonp    3971107 (   0)   3971077 (   0)       31    8456 (     0)    281\n",
			"Wait Nonp Diff 31 is not Allocs 3971107 - Frees 3971077"},
		{"duplicate row", " Wait Nonp  10 (   0)   5 (   0)  5  80 (     0)  16\n Wait Nonp  11 (   0)   5 (   0)  6  96 (     0)  16\n",
			"line 4: Wait Nonp listed again with other counters (first on line 3)"},
		{"totals line", " Wait Nonp  10 (   0)   5 (   0)  5  80 (     0)  16\n Total Nonp  10 5 5 80 16\n",
			"totals line not read"},
	}
	for _, tt := range tests {
		s, err := ParsePoolmon(strings.NewReader(head+tt.rows), "p.txt")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !hasNote(s, tt.note) {
			t.Errorf("%s: notes %q, want %q", tt.name, s.Notes, tt.note)
		}
	}
}

func TestPoolmonErrors(t *testing.T) {
	const head = ` Memory:  260620K Avail:   96364K  PageFlts:     0   InRam Krnl: 1916K P:17856K
 Commit: 203500K Limit: 640916K Peak: 260632K            Pool N: 8332K P:27220K
 System pool information
 Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc

 Wait Nonp    3971107 (   0)   3971077 (   0)       30    8456 (     0)    281
`
	tests := []struct {
		name, text, want string
	}{
		{"bad allocs", head + " ObSt Nonp    12x3 (   0)   2791258 (   0)        0       0 (     0)      0\n",
			`poolmon.txt:7: bad Allocs field "12x3"`},
		{"bad frees", head + " ObSt Nonp    1 (   0)   -2 (   0)        0       0 (     0)      0\n",
			`poolmon.txt:7: bad Frees field "-2"`},
		{"bad bytes", head + " ObSt Paged    1 (   0)   1 (   0)        0       0x10 (     0)      0\n",
			`poolmon.txt:7: bad Bytes field "0x10"`},
		{"short row", head + " ObSt Nonp    1 (   0)   1 (   0)\n",
			`poolmon.txt:7: bad Diff field ""`},
		{"junk after rows", head + "this is not poolmon\n", `poolmon.txt:7: not a poolmon row: "this is not poolmon"`},
		{"empty", "", "poolmon.txt: no poolmon header, column line or rows"},
		{"only prose", "hello\nworld\n", "poolmon.txt: no poolmon header, column line or rows"},
		{"overflow", head + " ObSt Nonp    99999999999999999999 (   0)   1 (   0)  0  0 (     0)  0\n",
			`poolmon.txt:7: bad Allocs field "99999999999999999999"`},
		{"long line", head + strings.Repeat("x", maxLine+10) + "\n", "poolmon.txt:7: line longer than"},
	}
	for _, tt := range tests {
		_, err := ParsePoolmon(strings.NewReader(tt.text), "poolmon.txt")
		var fe *FormatError
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a FormatError starting %q", tt.name, err, tt.want)
		}
	}
}

func utf16LE(b []byte) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(string(b))) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestPoolmonUTF16(t *testing.T) {
	data := readReal(t, "poolmon-b-iis6-connections-refused.txt")
	plain, err := Parse(bytes.NewReader(data), "a")
	if err != nil {
		t.Fatal(err)
	}
	wide, err := Parse(bytes.NewReader(utf16LE(data)), "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(wide) != 1 || len(wide[0].Usages) != len(plain[0].Usages) || wide[0].Totals != plain[0].Totals {
		t.Fatalf("UTF-16 parse differs: %d snapshots", len(wide))
	}
	for i := range plain[0].Usages {
		if plain[0].Usages[i] != wide[0].Usages[i] {
			t.Errorf("usage %d: %+v vs %+v", i, plain[0].Usages[i], wide[0].Usages[i])
		}
	}
}

func BenchmarkParsePoolmonLog(b *testing.B) {
	// A poolsnap log of 24 hourly snapshots of 1,500 tags (made-up rows).
	var sb strings.Builder
	sb.WriteString(" Tag  Type     Allocs     Frees      Diff   Bytes  Per Alloc\n")
	for h := range 24 {
		sb.WriteString("\n")
		for i := range 1500 {
			tag := string([]byte{'A' + byte(i%26), 'a' + byte(i/26%26), '0' + byte(i/676%10), 'z'})
			a := 1000 + i + h
			sb.WriteString(" " + tag + " Nonp  " + itoa(a) + "  1000  " + itoa(a-1000) + "  " + itoa(64*(a-1000)) + "  64\n")
		}
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snaps, err := ParsePoolmonLog(bytes.NewReader(data), "bench")
		if err != nil || len(snaps) != 24 {
			b.Fatal(err, len(snaps))
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
