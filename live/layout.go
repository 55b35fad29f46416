package live

import (
	"encoding/binary"
	"fmt"

	"github.com/poolblame/poolblame/pooltag"
)

// SystemPoolTagInformation is the information class poolmon queries.
const SystemPoolTagInformation = 22

// TagCounters is one SYSTEM_POOLTAG entry: a tag's allocations, frees and
// bytes in use in each pool, as the kernel sums them over its trackers.
type TagCounters struct {
	Tag            pooltag.Tag
	PagedAllocs    uint32
	PagedFrees     uint32
	PagedUsed      uint64
	NonPagedAllocs uint32
	NonPagedFrees  uint32
	NonPagedUsed   uint64
}

// poolTagLayout places SYSTEM_POOLTAG's fields:
//
//	typedef struct _SYSTEM_POOLTAG {
//	    union { UCHAR Tag[4]; ULONG TagUlong; };
//	    ULONG PagedAllocs; ULONG PagedFrees; SIZE_T PagedUsed;
//	    ULONG NonPagedAllocs; ULONG NonPagedFrees; SIZE_T NonPagedUsed;
//	} SYSTEM_POOLTAG;
//	typedef struct _SYSTEM_POOLTAG_INFORMATION {
//	    ULONG Count; SYSTEM_POOLTAG TagInfo[ANYSIZE_ARRAY];
//	} SYSTEM_POOLTAG_INFORMATION;
//
// SIZE_T is the pointer width of the calling process; on 64-bit it aligns
// the array and PagedUsed to 8 bytes.
type poolTagLayout struct {
	array, size                            int // offset of TagInfo[0], size of an entry
	pagedAllocs, pagedFrees, pagedUsed     int
	nonPagedAllocs, nonPagedFrees, nonUsed int
}

// layouts is the one table of layout facts, by pointer size.
var layouts = map[int]poolTagLayout{
	4: {array: 4, size: 28, pagedAllocs: 4, pagedFrees: 8, pagedUsed: 12, nonPagedAllocs: 16, nonPagedFrees: 20, nonUsed: 24},
	8: {array: 8, size: 40, pagedAllocs: 4, pagedFrees: 8, pagedUsed: 16, nonPagedAllocs: 24, nonPagedFrees: 28, nonUsed: 32},
}

// FormatError says what is wrong in a buffer, naming the field and offset.
type FormatError struct {
	Field string
	Off   int
	Msg   string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("SYSTEM_POOLTAG_INFORMATION: %s at offset %#x: %s", e.Field, e.Off, e.Msg)
}

// Decode reads a SYSTEM_POOLTAG_INFORMATION buffer written for a process
// whose pointers are ptrSize bytes (4 or 8).
func Decode(buf []byte, ptrSize int) ([]TagCounters, error) {
	l, ok := layouts[ptrSize]
	if !ok {
		return nil, fmt.Errorf("SYSTEM_POOLTAG_INFORMATION: pointer size %d: want 4 or 8", ptrSize)
	}
	if len(buf) < 4 {
		return nil, &FormatError{"Count", 0, fmt.Sprintf("buffer of %d bytes", len(buf))}
	}
	n := int64(binary.LittleEndian.Uint32(buf))
	if n > 0 && int64(l.array)+n*int64(l.size) > int64(len(buf)) {
		return nil, &FormatError{"Count", 0, fmt.Sprintf("%d entries of %d bytes do not fit the %d-byte buffer", n, l.size, len(buf))}
	}
	out := make([]TagCounters, n)
	for i := range out {
		e := buf[l.array+i*l.size:][:l.size]
		u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(e[off:]) }
		size := func(off int) uint64 {
			if ptrSize == 4 {
				return uint64(u32(off))
			}
			return binary.LittleEndian.Uint64(e[off:])
		}
		out[i] = TagCounters{
			Tag:         pooltag.Tag(u32(0)),
			PagedAllocs: u32(l.pagedAllocs), PagedFrees: u32(l.pagedFrees), PagedUsed: size(l.pagedUsed),
			NonPagedAllocs: u32(l.nonPagedAllocs), NonPagedFrees: u32(l.nonPagedFrees), NonPagedUsed: size(l.nonUsed),
		}
	}
	return out, nil
}
