package dumpfile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
)

// An ARM32 kernel dump (MachineImageType 0x1C4 in a 32-bit header): the
// header and physical pages are read; the whole-table walk is refused
// with ErrUnsupportedPaging, and a warning says what ARM32 leaves out.
// The 2003 sample with its machine type changed stands in for one: the
// container is the same, only the page tables would differ.
func TestARM32KernelDump(t *testing.T) {
	b, err := os.ReadFile("../testdata/win2003-x86-isil.dmp")
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[0x20:], dumpfile.MachineARMNT)
	f, err := dumpfile.NewFile("arm32.dmp", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch() != dumpfile.ArchARM32 || f.Arch().String() != "arm32" || f.Arch().Is64() || f.Arch().PointerSize() != 4 {
		t.Errorf("arch %v (64-bit %v, pointer %d), want arm32, 4-byte pointers", f.Arch(), f.Arch().Is64(), f.Arch().PointerSize())
	}
	if f.DTB()&0x3FFF != 0 {
		t.Errorf("DTB %#x: a first-level table is 16 KiB aligned", f.DTB())
	}
	if !hasWarning(f, "software entries (transition, paged out) are not decoded") {
		t.Errorf("warnings %q should say what ARM32 leaves out", f.Warnings)
	}
	if _, err := f.Mappings(func(dumpfile.Mapping) bool { return true }); !errors.Is(err, dumpfile.ErrUnsupportedPaging) {
		t.Errorf("page walk: %v, want ErrUnsupportedPaging", err)
	}
	if _, err := f.ReadPhysical(0x6b4020, make([]byte, 16)); err != nil { // the KDBG block, found there by a scan
		t.Errorf("physical read: %v; the pages are in the dump", err)
	}
	// 0x1C4 in a 64-bit header is a contradiction, named at its offset.
	b64, err := os.ReadFile("../testdata/win11-x64-ctfl.dmp")
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b64[0x30:], dumpfile.MachineARMNT)
	_, err = dumpfile.NewFile("x.dmp", bytes.NewReader(b64), int64(len(b64)))
	var fe *dumpfile.FormatError
	if !errors.As(err, &fe) || fe.Off != 0x30 {
		t.Errorf("ARMNT in a 64-bit header: %v, want a FormatError at 0x30", err)
	}
}

// ARMv7 short descriptors, written by hand from the ARM ARM (B3.5.1):
// first-level fault, page table, section, supersection and reserved;
// second-level fault, large and small pages (with XN set and clear).
func TestShortDescriptor(t *testing.T) {
	const root = 0x00200000 // 16 KiB aligned
	mem := map[uint64]uint32{
		root + 0x800<<2: 0x00401001, // VA 0x800xxxxx: page table at 0x00401000
		root + 0x801<<2: 0x12300402, // VA 0x801xxxxx: section at 0x12300000
		root + 0x810<<2: 0x45641002, // VA 0x810xxxxx: supersection 0x45000000, PA[35:32] = 6 (bits 23:20), bit 18 set
		root + 0x802<<2: 0x00000003, // reserved
		// second level at 0x00401000, indexed by VA[19:12]
		0x00401000 + 0x00<<2: 0x0ABCD012, // small page 0x0ABCD000, XN clear
		0x00401000 + 0x01<<2: 0x0ABCE013, // small page, XN set
		// a large page is repeated in 16 consecutive entries (0x10-0x1F)
		0x00401000 + 0x10<<2: 0x07650001, // large page 0x07650000
		0x00401000 + 0x1F<<2: 0x07650001,
		0x00401000 + 0x20<<2: 0x00000000, // fault
	}
	read := func(pa uint64) (uint32, error) {
		v, ok := mem[pa]
		if !ok {
			return 0, dumpfile.ErrNotMapped // an unset first-level slot reads as a fault below
		}
		return v, nil
	}
	tests := []struct {
		va    uint64
		pa    uint64
		level string
		err   error
	}{
		{0x80000ABC, 0x0ABCDABC, "L2", nil},
		{0x80001004, 0x0ABCE004, "L2", nil},
		{0x8001F123, 0x0765F123, "L2", nil}, // 64 KiB page: VA[15:0] kept
		{0x80010123, 0x07650123, "L2", nil},
		{0x80020000, 0, "L2", dumpfile.ErrNotMapped},
		{0x801ABCDE, 0x123ABCDE, "L1", nil},
		{0x810ABCDE, 0x6450ABCDE, "L1", nil}, // supersection: VA[23:0], PA bits 35:32 = 6
		{0x80200000, 0, "L1", dumpfile.ErrNotMapped},
		{0x1_0000_0000, 0, "", dumpfile.ErrNotMapped},
	}
	for _, tt := range tests {
		pa, level, _, err := dumpfile.ShortDescriptorForTest(root, tt.va, read)
		if pa != tt.pa || level != tt.level || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%#x: %#x at %s, %v; want %#x at %s, %v", tt.va, pa, level, err, tt.pa, tt.level, tt.err)
		}
	}
}
