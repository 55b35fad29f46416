package live

import (
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/snapshot"
)

// Snapshot is the last sample of a run as a pool snapshot, the form the
// analysis reads poolmon text in, with the first sample as its Earlier
// so that each tag's growth is measured between the two. first may be
// last (one sample) or nil: no growth is measured then. source names the
// machine in the report.
func Snapshot(first, last *Sample, source string) *snapshot.Snapshot {
	s := sampleSnapshot(last, source)
	if first != nil && first != last {
		s.Earlier = sampleSnapshot(first, source)
	}
	return s
}

func sampleSnapshot(sm *Sample, source string) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Source: source, Format: snapshot.Live, Time: sm.Time, Usages: make([]pool.Usage, 0, len(sm.Tags))}
	for _, t := range sm.Tags {
		s.Usages = append(s.Usages, pool.Usage{Tag: t.Tag,
			NonPagedAllocs: unwrap(t.NonPagedAllocs, t.NonPagedFrees), NonPagedFrees: uint64(t.NonPagedFrees), NonPagedBytes: t.NonPagedUsed,
			PagedAllocs: unwrap(t.PagedAllocs, t.PagedFrees), PagedFrees: uint64(t.PagedFrees), PagedBytes: t.PagedUsed})
	}
	return s
}

// unwrap widens the kernel's 32-bit allocation count: when it has wrapped
// past 2^32 and the frees have not yet, it is below the frees, and the
// outstanding count is only right with the lost 2^32 put back.
func unwrap(allocs, frees uint32) uint64 {
	if allocs < frees {
		return uint64(allocs) + 1<<32
	}
	return uint64(allocs)
}
