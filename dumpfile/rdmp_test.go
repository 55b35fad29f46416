package dumpfile_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// Type 10 (FULL_RDMP_HEADER64): the range list is bounded by
// NumberOfRanges (+0x20) and TotalNumberOfPages (+0x28), not by a zero
// PFN: a range may start at PFN 0, and what follows the last range is not
// read as one.
func TestRDMPFullRanges(t *testing.T) {
	valid := damaged(t, dumpfile.TypeRDMPFull, dumptest.Damage{})
	f, err := dumpfile.NewFile("full.dmp", dumpfile.Bytes(valid), int64(len(valid)))
	if err != nil {
		t.Fatal(err)
	}
	nr := binary.LittleEndian.Uint32(valid[0x2020:])
	total := binary.LittleEndian.Uint64(valid[0x2028:])
	if f.RDMP.NumberOfRanges != nr || f.RDMP.TotalNumberOfPages != total || f.PresentPages() != total || f.RDMP.Ranges != int(nr) {
		t.Fatalf("ranges %d/%d pages %d/%d", f.RDMP.Ranges, nr, f.PresentPages(), total)
	}
	end := 0x2030 + 16*int(nr) // the entry after the last range
	first := binary.LittleEndian.Uint64(valid[0x2030:])

	pfn0 := clone(valid)
	binary.LittleEndian.PutUint64(pfn0[0x2030:], 0)
	garbage := clone(valid)
	binary.LittleEndian.PutUint64(garbage[end:], first) // would overlap the first range
	binary.LittleEndian.PutUint64(garbage[end+8:], 5)
	short := clone(valid)
	binary.LittleEndian.PutUint64(short[0x2028:], total+1)
	many := clone(valid)
	binary.LittleEndian.PutUint32(many[0x2020:], 1<<20)
	none := clone(valid)
	binary.LittleEndian.PutUint32(none[0x2020:], 0)

	tests := []struct {
		name  string
		data  []byte
		want  string // error text, or "" for a dump that opens
		check func(*dumpfile.File) bool
	}{
		{"range at PFN 0", pfn0, "", func(f *dumpfile.File) bool { return f.HasPage(0) && f.PresentPages() == total }},
		{"bytes after the last range", garbage, "", func(f *dumpfile.File) bool { return f.RDMP.Ranges == int(nr) && f.PresentPages() == total }},
		{"pages short of TotalNumberOfPages", short, "TotalNumberOfPages", nil},
		{"NumberOfRanges past the metadata", many, "NumberOfRanges", nil},
		{"no ranges", none, "NumberOfRanges", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := dumpfile.NewFile("full.dmp", dumpfile.Bytes(tt.data), int64(len(tt.data)))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "full.dmp: ") {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(f) {
				t.Errorf("ranges %d, pages %d", f.RDMP.Ranges, f.PresentPages())
			}
		})
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
