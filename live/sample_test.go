package live

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func sample(at time.Duration, tags ...TagCounters) *Sample {
	return &Sample{Time: t0.Add(at), Tags: tags}
}

func nonpaged(tag string, allocs, frees uint32, used uint64) TagCounters {
	return TagCounters{Tag: pooltag.MustTag(tag), NonPagedAllocs: allocs, NonPagedFrees: frees, NonPagedUsed: used}
}

func TestRows(t *testing.T) {
	first := sample(0, nonpaged("Leak", 100, 0, 100*512), nonpaged("Flat", 50, 40, 10*64),
		nonpaged("Wrap", 0xFFFFFFF0, 0xFFFFFFE0, 16*32))
	prev := sample(time.Hour, nonpaged("Leak", 200, 0, 200*512), nonpaged("Flat", 60, 50, 10*64),
		nonpaged("Wrap", 0xFFFFFFF8, 0xFFFFFFE8, 16*32))
	cur := sample(2*time.Hour, nonpaged("Leak", 300, 0, 300*512), nonpaged("Flat", 70, 60, 10*64),
		nonpaged("Wrap", 8, 0xFFFFFFF8, 16*32), // Allocs wrapped past 2^32
		nonpaged("New", 5, 0, 5*128))
	rows := Rows(first, prev, cur)
	by := map[string]Row{}
	for _, r := range rows {
		if r.Paged {
			t.Errorf("%s: a paged row for a tag with nothing paged", r.Tag)
		}
		by[r.Tag.Trimmed()] = r
	}
	tests := []struct {
		tag             string
		diff            int64
		dAllocs, dFrees uint32
		dBytes          int64
		perHour         float64
		perAlloc        uint64
	}{
		{"Leak", 300, 100, 0, 100 * 512, 100 * 512, 512},
		{"Flat", 10, 10, 10, 0, 0, 64},
		{"Wrap", 16, 16, 16, 0, 0, 32},
		{"New", 5, 0, 0, 0, 0, 128}, // not in the earlier samples: no change shown
	}
	for _, tt := range tests {
		r := by[tt.tag]
		if r.Diff != tt.diff || r.DAllocs != tt.dAllocs || r.DFrees != tt.dFrees || r.DBytes != tt.dBytes ||
			r.PerHour != tt.perHour || r.PerAlloc != tt.perAlloc {
			t.Errorf("%s: %+v", tt.tag, r)
		}
	}
	g := Growing(rows, 5)
	if len(g) != 1 || g[0].Tag.Trimmed() != "Leak" {
		t.Errorf("growing: %+v, want Leak alone", g)
	}
	for _, c := range []struct {
		key   SortKey
		first string
	}{{ByBytes, "Leak"}, {ByDiff, "Leak"}, {ByAllocs, "Leak"}, {ByChange, "Leak"}, {ByRate, "Leak"}, {ByFrees, "Wrap"}, {ByTag, "Flat"}} {
		Sort(rows, c.key)
		if got := rows[0].Tag.Trimmed(); got != c.first {
			t.Errorf("sorted by %s: %s first, want %s", sortNames[c.key], got, c.first)
		}
	}
	if _, err := ParseSortKey("size"); err == nil {
		t.Error("--sort size accepted")
	}
}

// A live log reads back through the poolmon /n parser with every count,
// one snapshot per sample, at the sample's time.
func TestPoolmonLogRoundTrip(t *testing.T) {
	samples := []*Sample{
		sample(0, nonpaged("Leak", 100, 0, 51200),
			TagCounters{Tag: pooltag.MustTag("Mm"), PagedAllocs: 7, PagedFrees: 2, PagedUsed: 4096, NonPagedAllocs: 1, NonPagedUsed: 64},
			TagCounters{Tag: pooltag.Tag(0x01020304), NonPagedAllocs: 1, NonPagedUsed: 8}),
		sample(30*time.Minute, nonpaged("Leak", 250, 10, 122880)),
	}
	var b bytes.Buffer
	for _, s := range samples {
		if err := WritePoolmonLog(&b, s, "SRV1"); err != nil {
			t.Fatal(err)
		}
	}
	if f := snapshot.Detect(b.Bytes()); f != snapshot.PoolmonLog {
		t.Fatalf("detected as %v, want a poolmon log:\n%s", f, b.String())
	}
	snaps, err := snapshot.ParsePoolmonLog(bytes.NewReader(b.Bytes()), "live.log")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots, want 2", len(snaps))
	}
	for i, s := range samples {
		if !snaps[i].Time.Equal(s.Time) {
			t.Errorf("snapshot %d at %v, want %v", i, snaps[i].Time, s.Time)
		}
		for _, tc := range s.Tags {
			u, ok := snaps[i].Usage(tc.Tag)
			if !tc.Tag.Printable() {
				if ok {
					t.Errorf("snapshot %d: unprintable tag %v written", i, tc.Tag)
				}
				continue
			}
			if !ok || u.NonPagedAllocs != uint64(tc.NonPagedAllocs) || u.NonPagedFrees != uint64(tc.NonPagedFrees) ||
				u.NonPagedBytes != tc.NonPagedUsed || u.PagedAllocs != uint64(tc.PagedAllocs) || u.PagedBytes != tc.PagedUsed {
				t.Errorf("snapshot %d: %s read back as %+v (found %v)", i, tc.Tag, u, ok)
			}
		}
	}
	if !strings.Contains(b.String(), "!SkippedRows=1") {
		t.Error("the unprintable tag is not counted")
	}
}
