package pool

import (
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
)

// ARM32 keeps the 28-byte entry where x86 moved to 0x30 (1709) and 0x40.
func TestLayoutForArch(t *testing.T) {
	tests := []struct {
		arch  dumpfile.Arch
		build uint32
		size  int
		err   bool
	}{
		{dumpfile.ArchARM32, 9600, 0x1C, false},  // Windows RT 8.1
		{dumpfile.ArchARM32, 17134, 0x1C, false}, // Windows 10 IoT Core 1803 (the real Raspberry Pi 3 dump)
		{dumpfile.ArchX86, 17134, 0x30, false},
		{dumpfile.ArchX86PAE, 3790, 0x1C, false},
		{dumpfile.ArchAMD64, 19041, 0x38, false},
		{dumpfile.ArchARM64, 22000, 0x50, false},
		{dumpfile.ArchARM32, 7601, 0, true}, // no ARM32 Windows before 8
	}
	for _, tt := range tests {
		l, err := LayoutForArch(tt.arch, tt.build)
		if (err != nil) != tt.err || err == nil && l.EntrySize != tt.size {
			t.Errorf("%v build %d: %v, %v; want entry %#x (error %v)", tt.arch, tt.build, l, err, tt.size, tt.err)
		}
	}
}
