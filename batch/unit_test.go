package batch

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"github.com/poolblame/poolblame/pooltag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/report"
)

var t0 = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// rec is a dump record at t0+at hours with uptime up hours.
func rec(at, up float64, folder string) *DumpRecord {
	return &DumpRecord{Status: StatusOK, Build: 19041, Arch: "x64", CPUs: 4, PhysicalBytes: 1 << 30, Folder: folder,
		SystemTime: t0.Add(time.Duration(at * float64(time.Hour))), UptimeSeconds: up * 3600}
}

func TestSameBoot(t *testing.T) {
	with := func(d *DumpRecord, f func(*DumpRecord)) *DumpRecord { f(d); return d }
	tests := []struct {
		name string
		a, b *DumpRecord
		want bool
	}{
		{"uptime grew by the elapsed time", rec(10, 10, ""), rec(34, 34, ""), true},
		{"a minute of clock drift", rec(10, 10, ""), rec(34, 34.02, ""), true},
		{"reboot between", rec(10, 10, ""), rec(34, 5, ""), false},
		{"uptime grew less than the time", rec(10, 10, ""), rec(200, 150, ""), false},
		{"2% tolerance over long spans", rec(0, 10, ""), rec(1000, 1015, ""), true},
		{"no uptime", rec(10, 0, ""), rec(34, 34, ""), false},
		{"other KernBase (KASLR: a new boot)", with(rec(10, 10, ""), func(d *DumpRecord) { d.kernBase = 0xfffff80000000000 }),
			with(rec(34, 34, ""), func(d *DumpRecord) { d.kernBase = 0xfffff80400000000 }), false},
		{"other BootId", with(rec(10, 10, ""), func(d *DumpRecord) { d.BootID = 7 }), with(rec(34, 34, ""), func(d *DumpRecord) { d.BootID = 8 }), false},
		{"same time twice", rec(10, 10, ""), rec(10, 10, ""), false},
	}
	for _, tt := range tests {
		if got := sameBoot(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: sameBoot = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestGroupDumps(t *testing.T) {
	other := func(d *DumpRecord) *DumpRecord { d.Build = 22621; return d }
	triage := func(d *DumpRecord) *DumpRecord { d.PhysicalBytes, d.Status = 0, StatusNoPool; return d }
	tests := []struct {
		name  string
		by    GroupBy
		recs  []*DumpRecord
		sizes []int // dumps per group, in group order
		boots []int
	}{
		{"facts tell machines apart", GroupAuto,
			[]*DumpRecord{rec(10, 10, "x"), other(rec(11, 3, "x")), rec(40, 40, "x"), other(rec(50, 2, "x"))}, []int{2, 2}, []int{1, 2}},
		{"equal facts, folders overlapping in time: two machines", GroupAuto,
			[]*DumpRecord{rec(10, 10, "a"), rec(20, 5, "b"), rec(30, 30, "a"), rec(40, 25, "b")}, []int{2, 2}, []int{1, 1}},
		{"equal facts, folders one after another: one machine", GroupAuto,
			[]*DumpRecord{rec(10, 10, "week1"), rec(30, 30, "week1"), rec(200, 5, "week2"), rec(220, 25, "week2")}, []int{4}, []int{2}},
		{"a triage dump joins the machine of its build", GroupAuto,
			[]*DumpRecord{rec(10, 10, "x"), triage(rec(70, 2, "x")), rec(30, 30, "x")}, []int{3}, []int{2}},
		{"folder mode ignores facts", GroupFolder,
			[]*DumpRecord{rec(10, 10, "a"), other(rec(20, 5, "a")), rec(30, 30, "b")}, []int{2, 1}, []int{2, 1}},
		{"none: one group", GroupNone,
			[]*DumpRecord{rec(10, 10, "a"), other(rec(20, 5, "b")), rec(30, 30, "c")}, []int{3}, []int{3}},
		{"unreadable dumps are not grouped", GroupAuto,
			[]*DumpRecord{rec(10, 10, "a"), {Status: StatusError}, {Status: StatusDuplicate}}, []int{1}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gs := groupDumps(tt.recs, tt.by)
			var sizes, boots []int
			for i, g := range gs {
				sizes = append(sizes, len(g.Dumps))
				boots = append(boots, g.Boots)
				if g.ID != "g"+string(rune('1'+i)) {
					t.Errorf("group %d has id %s", i, g.ID)
				}
				for _, d := range g.Dumps {
					if d.Group != g.ID {
						t.Errorf("dump in %s says group %q", g.ID, d.Group)
					}
				}
			}
			if !equalInts(sizes, tt.sizes) || !equalInts(boots, tt.boots) {
				t.Errorf("groups of %v dumps with %v boots, want %v and %v", sizes, boots, tt.sizes, tt.boots)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDumpTrendJudgement(t *testing.T) {
	// One tag per case, in a group of dumps at the given uptimes (days);
	// dumps in one boot are 0 apart in boot moment.
	type dump struct {
		at, up float64 // days
		bytes  uint64
	}
	const day = 86400.0
	grow := func(rate float64, ups ...float64) []dump {
		var out []dump
		for i, u := range ups {
			out = append(out, dump{float64(i*10) + u, u, uint64(rate * u)})
		}
		return out
	}
	flat := func(size uint64, ups ...float64) []dump {
		var out []dump
		for i, u := range ups {
			out = append(out, dump{float64(i*10) + u, u, size})
		}
		return out
	}
	tests := []struct {
		name     string
		dumps    []dump
		flagged  bool
		evidence string
	}{
		{"leak across boots", grow(50<<20, 1, 3, 5, 2), true, "across boots"},
		{"flat across boots", flat(500<<20, 1, 3, 5, 2), false, "across boots"},
		{"leak within one boot", []dump{{1, 1, 10 << 20}, {2, 2, 70 << 20}, {3, 3, 130 << 20}}, true, "within one boot"},
		{"flat within one boot", []dump{{1, 1, 900 << 20}, {2, 2, 900 << 20}, {3, 3, 900 << 20}}, false, "within one boot"},
		{"one dump", grow(50<<20, 3), false, "one dump"},
		{"uptimes alike", grow(50<<20, 3, 3.1), false, "too alike"},
		{"below the floor", grow(512<<10, 1, 3, 5), false, "across boots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Group{}
			tags := map[*DumpRecord]keptTags{}
			for _, d := range tt.dumps {
				r := &DumpRecord{Status: StatusOK, SystemTime: t0.Add(time.Duration(d.at * day * float64(time.Second))), UptimeSeconds: d.up * day}
				tags[r] = keptTags{{tag: pooltag.MustTag("Tst"), bytes: d.bytes}}
				g.Dumps = append(g.Dumps, r)
			}
			assignBoots(g.Dumps)
			dumpTrends(g, tags, TrendOptions{})
			if len(g.Trends) != 1 {
				t.Fatalf("%d trends", len(g.Trends))
			}
			tr := g.Trends[0]
			if tr.Flagged != tt.flagged || !strings.Contains(tr.Evidence, tt.evidence) {
				t.Errorf("flagged %v (%s), evidence %q; want %v and %q", tr.Flagged, tr.Reason, tr.Evidence, tt.flagged, tt.evidence)
			}
		})
	}
}

func TestDiskBudget(t *testing.T) {
	free := uint64(1 << 30)
	b := newDiskBudget("/tmp")
	b.free = func(string) (uint64, bool) { return free, true }

	// More than is free, with nothing else running: refused at once.
	_, err := b.reserve("big.dmp.gz", 2<<30)
	var se *SpaceError
	if !errors.As(err, &se) || se.Need != 2<<30+spaceMargin || se.Free != free || !strings.Contains(err.Error(), "big.dmp.gz") {
		t.Fatalf("reserve 2 GiB of 1: %v", err)
	}
	// Unknown size: nothing reserved.
	if rel, err := b.reserve("x", -1); err != nil {
		t.Fatal(err)
	} else {
		rel()
	}
	// Two that fit one at a time: the second waits for the first.
	rel1, err := b.reserve("a", 600<<20)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rel2, err := b.reserve("b", 600<<20)
		if err == nil {
			rel2()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second reservation did not wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	rel1()
	wg.Wait()
	if err := <-got; err != nil {
		t.Fatalf("second reservation after the first: %v", err)
	}
	if b.reserved != 0 || b.active != 0 {
		t.Errorf("budget not released: %d bytes, %d active", b.reserved, b.active)
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	real, err := os.ReadFile(realPoolmon(t))
	if err != nil {
		t.Fatal(err)
	}
	dump := []byte("PAGEDU64" + strings.Repeat("\x00", 0x3000))
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, m := range []struct {
		name   string
		method uint16
		data   []byte
	}{{"in/one.dmp", zip.Deflate, dump}, {"two.bin", zip.Store, dump}, {"screen.txt", zip.Deflate, real}, {"notes.txt", zip.Deflate, []byte("hello")}} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: m.method})
		w.Write(m.data)
	}
	zw.Close()
	files := map[string][]byte{
		"a.dmp":         dump,
		"b.dmp.gz":      gz(dump),
		"c.zst":         enc.EncodeAll(dump, nil),
		"d.zip":         zbuf.Bytes(),
		"poolmon.txt":   real,
		"poolmon.gz":    gz(real),
		"httperr1.log":  []byte("2005-09-02 18:45:12 - - - - - - - - - 1_Connections_Refused -\n"),
		"readme.txt":    []byte("nothing\n"),
		"garbage.dmp":   []byte("not a dump at all"),
		"sub/e.dmp":     dump,
		"sub/other.bin": {1, 2, 3},
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		write(t, p, data)
	}
	d, err := discover([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range d.inputs {
		rel, _ := filepath.Rel(dir, in.path)
		name := filepath.ToSlash(rel)
		if in.member != "" {
			name += ":" + in.member
		}
		k := map[kind]string{kindDump: "dump", kindSnapshot: "snapshot", kindHTTPErr: "httperr"}[in.kind]
		if in.container != "" {
			k += "/" + in.container
		}
		if in.err != nil {
			k += "!"
		}
		got[name] = k
	}
	want := map[string]string{
		"a.dmp": "dump", "b.dmp.gz": "dump/gzip", "c.zst": "dump/zstd", "d.zip:in/one.dmp": "dump/zip", "d.zip:two.bin": "dump/zip",
		"d.zip:screen.txt": "snapshot/zip", "poolmon.txt": "snapshot", "poolmon.gz": "snapshot/gzip", "httperr1.log": "httperr",
		"garbage.dmp": "dump", "sub/e.dmp": "dump",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("found %v, want %v", got, want)
	}
	if d.ignored != 3 { // readme.txt, sub/other.bin, d.zip:notes.txt
		t.Errorf("%d ignored, want 3", d.ignored)
	}
	for _, in := range d.inputs {
		if in.kind == kindDump && in.key == "" {
			t.Errorf("%s: no key", in.name())
		}
	}
	// gzip records the size of what it holds; zip members carry theirs.
	for _, in := range d.inputs {
		if in.kind == kindDump && in.container != "" && in.size != int64(len(dump)) && in.container != zstdFile {
			t.Errorf("%s: size %d, want %d", in.name(), in.size, len(dump))
		}
	}

	// Named explicitly, an unknown file is a failed input; a glob expands.
	d, err = discover([]string{filepath.Join(dir, "readme.txt"), filepath.Join(dir, "sub", "*.dmp")})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.inputs) != 2 || d.inputs[0].err == nil || d.inputs[1].err != nil {
		t.Errorf("explicit readme and a glob: %+v", d.inputs)
	}
}

func TestReportBase(t *testing.T) {
	tests := []struct {
		in   input
		want string
	}{
		{input{path: "/x/MEMORY.DMP", key: "0123456789abcdef-100"}, "MEMORY-01234567"},
		{input{path: "/x/a b.dmp.gz", key: "ffffffff00-z9"}, "a_b-ffffffff"},
		{input{path: "/x/old.zip", member: "srv/Mini 01.dmp", key: "abc-1-2"}, "Mini_01-abc"},
	}
	for _, tt := range tests {
		if got := reportBase(&tt.in); got != tt.want {
			t.Errorf("reportBase(%s) = %q, want %q", tt.in.name(), got, tt.want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	fs, err := ParseFormats("html, md,json,html")
	if err != nil || len(fs) != 3 || fs[0] != report.HTML || fs[1] != report.Markdown || fs[2] != report.JSON {
		t.Errorf("ParseFormats: %v %v", fs, err)
	}
	for _, bad := range []string{"", ",", "pdf"} {
		if _, err := ParseFormats(bad); err == nil {
			t.Errorf("ParseFormats(%q): no error", bad)
		}
	}
	for s, want := range map[string]GroupBy{"auto": GroupAuto, "Folder": GroupFolder, " none ": GroupNone} {
		if g, err := ParseGroupBy(s); err != nil || g != want {
			t.Errorf("ParseGroupBy(%q) = %v, %v", s, g, err)
		}
	}
	if _, err := ParseGroupBy("rack"); err == nil {
		t.Error("ParseGroupBy(rack): no error")
	}
}

// TestTrimmedReport: a report whose analysis gathered more leading tags
// (for trends) says exactly what the report built with its own number
// says, which is what lets a batch keep more tags for trends without a
// second pass over the tracker tables.
func TestTrimmedReport(t *testing.T) {
	tests := []struct {
		dump    string
		drivers []string
		top     int
	}{
		{"../testdata/win2003-x86-isil.dmp", []string{"../testdata/drivers-2003"}, 10},
		{"../testdata/win11-x64-ctfl.dmp", []string{"../testdata/drivers-win11"}, 5},
		{"../testdata/win11-x64-ctfl.dmp", nil, 3},
		{"../testdata/win11-x64-ctfl.dmp", nil, 1},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.dump), func(t *testing.T) {
			f, err := dumpfile.Open(tt.dump)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			o := report.Options{Top: tt.top, DriverDirs: tt.drivers}
			plain, err := report.Build(context.Background(), f, o)
			if err != nil {
				t.Fatal(err)
			}
			o.Gather = keptPerPool
			more, err := report.Build(context.Background(), f, o)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(more.Analysis.NonPaged); n <= tt.top || len(more.LeadingNonPaged) > tt.top {
				t.Fatalf("%d nonpaged tags gathered, %d shown: the sample cannot tell", n, len(more.LeadingNonPaged))
			}
			var a, b bytes.Buffer
			if err := report.Render(&a, plain, report.JSON, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := report.Render(&b, more, report.JSON, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("the cut report differs from the plain one:\n%s\n---\n%s", a.Bytes(), b.Bytes())
			}
		})
	}
}
