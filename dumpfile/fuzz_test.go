package dumpfile_test

import (
	"encoding/binary"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// FuzzOpen: header and container parsing never panic, whatever the bytes.
func FuzzOpen(f *testing.F) {
	valid := validBitmapDump(f)
	f.Add(valid[:0x3000])
	f.Add(damaged(f, dumpfile.TypeFull, dumptest.Damage{})[:0x3000])
	f.Add([]byte("PAGEDUMP"))
	f.Add([]byte("MDMP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := dumpfile.NewFile("fuzz.dmp", dumpfile.Bytes(data), int64(len(data)))
		if err != nil {
			return
		}
		d.KDBG()
		d.Modules()
		d.ReadVirtual(d.PsLoadedModuleList, make([]byte, 64))
	})
}

// FuzzTranslate: any address, on any paging mode, translates or fails
// with an error; reads never panic and never return more than asked.
func FuzzTranslate(f *testing.F) {
	dumps := make([]*dumpfile.File, len(archCases))
	for i, c := range archCases {
		b, p := buildPlanted(f, c, dumpfile.TypeBitmapFull, nil)
		dumps[i] = openBuilder(f, b, "fuzz.dmp")
		f.Add(uint8(i), p.cross, uint16(100))
		f.Add(uint8(i), p.large, uint16(0x2000))
		f.Add(uint8(i), p.trans, uint16(8))
		f.Add(uint8(i), p.absent, uint16(8))
	}
	f.Fuzz(func(t *testing.T, which uint8, va uint64, n uint16) {
		d := dumps[int(which)%len(dumps)]
		d.Translate(va)
		buf := make([]byte, n)
		if got, err := d.ReadVirtual(va, buf); got > len(buf) || (err == nil && got != len(buf)) {
			t.Fatalf("read %d of %d, err %v", got, len(buf), err)
		}
	})
}

// FuzzPageLookup: physical lookups on bitmaps and runs, whatever the
// bitmap holds.
func FuzzPageLookup(f *testing.F) {
	valid := validBitmapDump(f)
	f.Add(valid[0x2038:0x2100], uint64(5))
	f.Fuzz(func(t *testing.T, bitmap []byte, pfn uint64) {
		raw := append([]byte(nil), valid...)
		copy(raw[0x2038:], bitmap)
		// Keep the header's count in step with the bits, else Open
		// rightly refuses the dump.
		bits := binary.LittleEndian.Uint64(raw[0x2030:])
		var set uint64
		for i := uint64(0); i < bits; i++ {
			if raw[0x2038+i/8]>>(i%8)&1 == 1 {
				set++
			}
		}
		binary.LittleEndian.PutUint64(raw[0x2028:], set)
		d, err := dumpfile.NewFile("fuzz.dmp", dumpfile.Bytes(raw), int64(len(raw)))
		if err != nil {
			return
		}
		d.ReadPhysical(pfn<<12, make([]byte, 16))
		d.HasPage(pfn)
	})
}
