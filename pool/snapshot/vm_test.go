package snapshot

import (
	"bytes"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

func TestVM(t *testing.T) {
	tests := []struct {
		file    string
		format  Format
		tags    int
		want    VM
		notes   []string
		npLimit bool
	}{
		// Debugging Tools' "!vm" page: a 32-bit machine with fixed maxima.
		{"vm-1-doc.txt", VMText, 0, VM{
			Present: true, PageSize: 4096, PhysicalMemory: 65080 << 10,
			NonPagedUsage: 3508 << 10, NonPagedMax: 25008 << 10,
			PagedUsage: 6388 << 10, PagedMax: 53248 << 10,
			CommitLimit: 145024 << 10, Committed: 87796 << 10,
		}, []string{"!vm text only"}, true},
		// A Windows 10 x64 paste: NonPagedPoolNx counts as nonpaged, the
		// 2^32-page maxima are placeholders, and the !poolused table after
		// it is read as usual.
		{"vm-poolused-win10-madeup.txt", Poolused, 4, VM{
			Present: true, PageSize: 4096, PhysicalMemory: 4193652 << 10,
			NonPagedUsage: (720 + 244816) << 10, PagedUsage: 160448 << 10,
			NonPagedNoFixedMax: true, PagedNoFixedMax: true,
			CommitLimit: 6683956 << 10, Committed: 2848352 << 10,
		}, []string{"no fixed pool maximum", "outstanding allocations only"}, false},
		// poolblame's own poolused output: the !vm lines after TOTAL.
		{"poolused-poolblame-isil-top5.txt", Poolused, 5, VM{
			Present: true, PageSize: 4096, NonPagedUsage: 111329 << 10, NonPagedMax: 131072 << 10,
			PagedUsage: 43016 << 10, PagedMax: 356352 << 10, TrackedByTag: true,
		}, []string{"tracked by tag", "rows are missing"}, true},
		{"poolused-poolblame-isil-verbose.txt", Poolused, 5, VM{
			Present: true, PageSize: 4096, NonPagedUsage: 111329 << 10, NonPagedMax: 131072 << 10,
			PagedUsage: 43016 << 10, PagedMax: 356352 << 10, TrackedByTag: true,
		}, []string{"sorted by NonPaged Pool Consumed"}, true},
	}
	for _, tt := range tests {
		data := readFixture(t, tt.file)
		if got := Detect(data); got != tt.format {
			t.Errorf("%s: Detect = %v, want %v", tt.file, got, tt.format)
		}
		snaps, err := Parse(bytes.NewReader(data), tt.file)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		s := snaps[0]
		if s.Format != tt.format || len(s.Usages) != tt.tags {
			t.Errorf("%s: format %v, %d tags; want %v, %d", tt.file, s.Format, len(s.Usages), tt.format, tt.tags)
		}
		if s.VM != tt.want {
			t.Errorf("%s: VM = %+v\nwant %+v", tt.file, s.VM, tt.want)
		}
		for _, n := range tt.notes {
			if !hasNote(s, n) {
				t.Errorf("%s: notes %q lack %q", tt.file, s.Notes, n)
			}
		}
		if _, ok := s.VM.NonPagedLimit(); ok != tt.npLimit {
			t.Errorf("%s: NonPagedLimit usable = %v, want %v", tt.file, ok, tt.npLimit)
		}
	}
}

// The table of poolblame's poolused output reads back as it was printed.
func TestPoolusedOwnOutput(t *testing.T) {
	s, err := ParsePoolused(bytes.NewReader(readFixture(t, "poolused-poolblame-isil-verbose.txt")), "v.txt")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := s.Usage(pooltag.MustTag("ISil"))
	if u.NonPagedAllocs != 1408366 || u.NonPagedFrees != 1327427 || u.NonPagedBytes != 36678632 {
		t.Errorf("ISil = %+v", u)
	}
	want := pool.Usage{NonPagedAllocs: 37855378, NonPagedFrees: 37272735, NonPagedBytes: 114000900,
		PagedAllocs: 2640013, PagedFrees: 2628608, PagedBytes: 44049312}
	if !s.Totals.TaggedPresent || s.Totals.Tagged != want {
		t.Errorf("TOTAL = %+v, want %+v", s.Totals.Tagged, want)
	}
}

func TestVMContradiction(t *testing.T) {
	const text = "*** Virtual Memory Usage ***\n" +
		"NonPagedPool Usage: 29559056 ( 118236224 Kb)  \n" +
		"NonPagedPool Max: 1561080 ( 6244320 Kb)  \n"
	s, err := ParsePoolused(strings.NewReader(text), "vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.VM.NonPagedLimit(); ok || !hasNote(s, "above its maximum") {
		t.Errorf("usage above max: limit usable %v, notes %q; want unusable and a note", ok, s.Notes)
	}
}

func TestVMErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"*** Virtual Memory Usage ***\nNonPagedPool Usage: 99999999999999999999 ( 1 Kb)\n", "vm.txt:2: bad NonPagedPool Usage value"},
		{"*** Virtual Memory Usage ***\nnothing here\n", "vm.txt: no !poolused column line"},
	}
	for _, tt := range tests {
		_, err := ParsePoolused(strings.NewReader(tt.text), "vm.txt")
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.text, err, tt.want)
		}
	}
}
