package dumpfile_test

import (
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
)

// Each accessor reads its field at the offset wdbgexts.h gives it, stated
// here as a literal, on both widths (x86 pointers masked to 32 bits).
func TestKDBGAccessors(t *testing.T) {
	fields := []struct {
		name string
		off  int
		get  func(*dumpfile.KDBG) uint64
	}{
		{"PsLoadedModuleList", 0x48, (*dumpfile.KDBG).PsLoadedModuleList},
		{"MmNumberOfPhysicalPages", 0xF8, (*dumpfile.KDBG).MmNumberOfPhysicalPages},
		{"MmMaximumNonPagedPoolInBytes", 0x100, (*dumpfile.KDBG).MmMaximumNonPagedPoolInBytes},
		{"MmNonPagedPoolStart", 0x110, (*dumpfile.KDBG).MmNonPagedPoolStart},
		{"MmNonPagedPoolEnd", 0x118, (*dumpfile.KDBG).MmNonPagedPoolEnd},
		{"MmPagedPoolStart", 0x120, (*dumpfile.KDBG).MmPagedPoolStart},
		{"MmPagedPoolEnd", 0x128, (*dumpfile.KDBG).MmPagedPoolEnd},
		{"MmSizeOfPagedPoolInBytes", 0x140, (*dumpfile.KDBG).MmSizeOfPagedPoolInBytes},
		{"PoolTrackTable", 0x1B8, (*dumpfile.KDBG).PoolTrackTable},
	}
	for _, c := range []archCase{archCases[0], archCases[2]} {
		b, _ := buildPlanted(t, c, dumpfile.TypeFull, nil)
		for i, fd := range fields {
			b.SetKDBG(fd.off, c.base+0x9000+uint64(i)*0x10)
		}
		f := openBuilder(t, b, "k.dmp")
		k, err := f.KDBG()
		if err != nil {
			t.Fatal(err)
		}
		for i, fd := range fields {
			if got, want := fd.get(k), c.base+0x9000+uint64(i)*0x10; got != want {
				t.Errorf("%v %s = %#x, want %#x", c.arch, fd.name, got, want)
			}
		}
	}
	// The listing names every field once, at increasing offsets.
	seen := map[string]bool{}
	prev := -1
	for _, fd := range dumpfile.KDBGFields() {
		if seen[fd.String()] || fd.Offset() <= prev {
			t.Errorf("field %s at %#x: repeated or out of order", fd, fd.Offset())
		}
		seen[fd.String()], prev = true, fd.Offset()
	}
	if !dumpfile.KdPoolTrackTable.IsAddress() || dumpfile.KdKernBase.IsAddress() {
		t.Error("PoolTrackTable holds an address and KernBase a value")
	}
}
