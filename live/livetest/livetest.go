// Package livetest builds the buffers NtQuerySystemInformation writes for
// SystemPoolTagInformation, from a readable list of tags and counts, and
// serves them as a live.System would. The structures are written out
// field by field as a C compiler lays them out, independent of the
// decoder's table.
package livetest

import "encoding/binary"

// Tag is one SYSTEM_POOLTAG entry: a tag of up to four characters and its
// counters in each pool.
type Tag struct {
	Name                          string
	PagedAllocs, PagedFrees       uint32
	PagedUsed                     uint64
	NonPagedAllocs, NonPagedFrees uint32
	NonPagedUsed                  uint64
}

// Buffer is SYSTEM_POOLTAG_INFORMATION as written for a process whose
// pointers are ptrSize (4 or 8) bytes:
//
//	ULONG Count; [64-bit: 4 bytes of padding]
//	{ UCHAR Tag[4]; ULONG PagedAllocs, PagedFrees; [64-bit: padding]
//	  SIZE_T PagedUsed; ULONG NonPagedAllocs, NonPagedFrees;
//	  SIZE_T NonPagedUsed; } TagInfo[Count];
//
// Tag names are padded with blanks as drivers' tags are.
func Buffer(ptrSize int, tags ...Tag) []byte {
	le := binary.LittleEndian
	size := func(b []byte, v uint64) []byte {
		if ptrSize == 8 {
			return le.AppendUint64(b, v)
		}
		return le.AppendUint32(b, uint32(v))
	}
	b := le.AppendUint32(nil, uint32(len(tags)))
	if ptrSize == 8 {
		b = le.AppendUint32(b, 0)
	}
	for _, t := range tags {
		name := []byte("    ")
		copy(name, t.Name)
		b = append(b, name...)
		b = le.AppendUint32(b, t.PagedAllocs)
		b = le.AppendUint32(b, t.PagedFrees)
		if ptrSize == 8 {
			b = le.AppendUint32(b, 0)
		}
		b = size(b, t.PagedUsed)
		b = le.AppendUint32(b, t.NonPagedAllocs)
		b = le.AppendUint32(b, t.NonPagedFrees)
		b = size(b, t.NonPagedUsed)
	}
	return b
}

// System serves one built buffer per call, as live.System does, from a
// function of the call's number (0, 1, ...); err, when not nil, is
// returned instead.
type System struct {
	PtrSize int
	Sample  func(n int) ([]Tag, error)
	calls   int
}

// PoolTagInformation builds the next sample's buffer.
func (s *System) PoolTagInformation() ([]byte, int, error) {
	tags, err := s.Sample(s.calls)
	s.calls++
	if err != nil {
		return nil, 0, err
	}
	return Buffer(s.PtrSize, tags...), s.PtrSize, nil
}
