package live

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/poolblame/poolblame/pooltag"
)

// The C structures written out field by field, with the padding a 64-bit
// compiler inserts spelled out, independent of the decoder's table.
type poolTag32 struct {
	Tag                                      [4]byte
	PagedAllocs, PagedFrees, PagedUsed       uint32
	NonPagedAllocs, NonPagedFrees, NonPagedU uint32
}

type poolTag64 struct {
	Tag                         [4]byte
	PagedAllocs, PagedFrees     uint32
	_                           uint32 // SIZE_T alignment
	PagedUsed                   uint64
	NonPagedAllocs, NonPagedFre uint32
	NonPagedUsed                uint64
}

func buffer32(entries ...poolTag32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(len(entries)))
	binary.Write(&b, binary.LittleEndian, entries)
	return b.Bytes()
}

func buffer64(entries ...poolTag64) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(len(entries)))
	binary.Write(&b, binary.LittleEndian, uint32(0)) // TagInfo aligned to 8
	binary.Write(&b, binary.LittleEndian, entries)
	return b.Bytes()
}

func tagBytes(s string) (b [4]byte) { copy(b[:], s); return }

func TestDecode(t *testing.T) {
	// Counts of the IIS 6 case's leading tags, and a paged one.
	want := []TagCounters{
		{Tag: pooltag.MustTag("ISil"), NonPagedAllocs: 1408366, NonPagedFrees: 1327427, NonPagedUsed: 36678632},
		{Tag: pooltag.MustTag("MmSt"), PagedAllocs: 54321, PagedFrees: 52211, PagedUsed: 14403584, NonPagedAllocs: 3, NonPagedFrees: 1, NonPagedUsed: 96},
	}
	b32 := buffer32(
		poolTag32{tagBytes("ISil"), 0, 0, 0, 1408366, 1327427, 36678632},
		poolTag32{tagBytes("MmSt"), 54321, 52211, 14403584, 3, 1, 96},
	)
	b64 := buffer64(
		poolTag64{Tag: tagBytes("ISil"), NonPagedAllocs: 1408366, NonPagedFre: 1327427, NonPagedUsed: 36678632},
		poolTag64{Tag: tagBytes("MmSt"), PagedAllocs: 54321, PagedFrees: 52211, PagedUsed: 14403584, NonPagedAllocs: 3, NonPagedFre: 1, NonPagedUsed: 96},
	)
	big := buffer64(poolTag64{Tag: tagBytes("Big "), NonPagedUsed: 5 << 32})
	tests := []struct {
		name    string
		buf     []byte
		ptr     int
		want    []TagCounters
		wantErr string
	}{
		{"32-bit", b32, 4, want, ""},
		{"64-bit", b64, 8, want, ""},
		{"64-bit, more than 4 GiB in one tag", big, 8, []TagCounters{{Tag: pooltag.MustTag("Big"), NonPagedUsed: 5 << 32}}, ""},
		{"64-bit buffer read as 32-bit", b64[:len(b64)-30], 4, nil, "do not fit"},
		{"Count past the end", b32[:len(b32)-1], 4, nil, "2 entries of 28 bytes do not fit the 59-byte buffer"},
		{"no entries", buffer32(), 4, []TagCounters{}, ""},
		{"too short for Count", []byte{1, 0}, 8, nil, "buffer of 2 bytes"},
		{"unknown pointer size", b32, 2, nil, "pointer size 2"},
	}
	for _, tt := range tests {
		got, err := Decode(tt.buf, tt.ptr)
		if tt.wantErr != "" {
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.wantErr)) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantErr)
			}
			var fe *FormatError
			if tt.ptr != 2 && !errors.As(err, &fe) {
				t.Errorf("%s: %T is not a *FormatError", tt.name, err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("%s: %v, %d entries", tt.name, err, len(got))
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: entry %d = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}
