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
// header and physical pages are read; kernel virtual memory is refused
// with ErrUnsupportedPaging, and a warning says what that leaves out.
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
	if !hasWarning(f, "short-descriptor page tables are not walked") {
		t.Errorf("warnings %q should say what ARM32 leaves out", f.Warnings)
	}
	if _, err := f.ReadVirtual(0x80800000, make([]byte, 4)); !errors.Is(err, dumpfile.ErrUnsupportedPaging) {
		t.Errorf("virtual read: %v, want ErrUnsupportedPaging", err)
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
