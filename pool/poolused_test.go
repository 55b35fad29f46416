package pool_test

import (
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
	doc, err := os.ReadFile("snapshot/testdata/poolused-doc.txt")
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
	if err := pool.WritePoolused(&sb, r, pool.WriteOptions{Pooltag: db}); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(sb.String(), "\n")[:len(want)]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
}
