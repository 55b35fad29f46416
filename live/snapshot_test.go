package live

import (
	"testing"
	"time"

	"github.com/poolblame/poolblame/live/livetest"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
)

// The test builder's buffers decode to what they describe, in both
// layouts, through the System interface.
func TestQueryBuiltBuffers(t *testing.T) {
	tags := []livetest.Tag{
		{Name: "ISil", NonPagedAllocs: 1408366, NonPagedFrees: 1327427, NonPagedUsed: 36678632},
		{Name: "Mm", PagedAllocs: 54321, PagedFrees: 52211, PagedUsed: 14403584},
	}
	for _, ptr := range []int{4, 8} {
		sys := &livetest.System{PtrSize: ptr, Sample: func(int) ([]livetest.Tag, error) { return tags, nil }}
		got, err := Query(sys)
		if err != nil || len(got) != 2 {
			t.Fatalf("%d-byte pointers: %v, %d tags", ptr, err, len(got))
		}
		if got[0] != (TagCounters{Tag: pooltag.MustTag("ISil"), NonPagedAllocs: 1408366, NonPagedFrees: 1327427, NonPagedUsed: 36678632}) ||
			got[1] != (TagCounters{Tag: pooltag.MustTag("Mm"), PagedAllocs: 54321, PagedFrees: 52211, PagedUsed: 14403584}) {
			t.Errorf("%d-byte pointers: %+v", ptr, got)
		}
	}
}

// The last sample becomes the snapshot, the first its Earlier; wrapped
// 32-bit allocation counts keep their outstanding count.
func TestSnapshot(t *testing.T) {
	first := sample(0, nonpaged("Leak", 100, 0, 100*512))
	last := sample(time.Hour, nonpaged("Leak", 300, 0, 300*512), nonpaged("Wrap", 8, 0xFFFFFFF8, 16*32))
	s := Snapshot(first, last, "live sampling of SRV1")
	if s.Format != snapshot.Live || !s.Time.Equal(last.Time) || s.Source != "live sampling of SRV1" || s.Earlier == nil || !s.Earlier.Time.Equal(first.Time) {
		t.Fatalf("snapshot %+v", s)
	}
	if u, _ := s.Usage(pooltag.MustTag("Wrap")); u.NonPagedOutstanding() != 16 || u.NonPagedBytes != 16*32 {
		t.Errorf("wrapped counts: %+v, outstanding %d", u, u.NonPagedOutstanding())
	}
	if u, _ := s.Earlier.Usage(pooltag.MustTag("Leak")); u.NonPagedBytes != 100*512 {
		t.Errorf("earlier Leak: %+v", u)
	}
	if one := Snapshot(last, last, "x"); one.Earlier != nil {
		t.Error("one sample given an earlier snapshot")
	}
}
