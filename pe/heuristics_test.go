package pe

import "testing"

func TestInText(t *testing.T) {
	tests := []struct {
		name   string
		code   string
		off, n int
		in     bool
	}{
		{"push tag among code", "\xff\x15\x00\x20\x40\x00hTag1\x6a\x00", 6, 5, false},
		{"push tag after push imm", "h\x00\x02\x00\x00hTag1\x50", 5, 5, false},
		{"message", "Device open failed: %08x\n\x00", 4, 5, true},
		{"short string", "\x00ab cd\x00", 1, 5, false},
		{"instruction with a zero byte", "Device\x00open failed: %08x", 4, 4, false},
	}
	for _, tt := range tests {
		if got := inText([]byte(tt.code), tt.off, tt.n); got != tt.in {
			t.Errorf("%s: inText = %v, want %v", tt.name, got, tt.in)
		}
	}
}

func TestDataEnd(t *testing.T) {
	spans := []span{{0x100, 0x120}, {0x110, 0x180}, {0x200, 0x210}}
	tests := []struct{ rva, end uint32 }{
		{0x0f0, 0}, {0x100, 0x120}, {0x118, 0x180}, {0x170, 0x180}, {0x180, 0}, {0x205, 0x210}, {0x300, 0},
	}
	s := spans
	for _, tt := range tests {
		if got := dataEnd(&s, tt.rva); got != tt.end {
			t.Errorf("dataEnd(%#x) = %#x, want %#x", tt.rva, got, tt.end)
		}
	}
}

func TestTagArgumentLocations(t *testing.T) {
	tests := []struct {
		routine  string
		x86, x64 int64 // entry locations on x86 and x64
		arm64    int64
	}{
		{"ExAllocatePoolWithTag", slotLoc(12), regLoc(8), regLoc(2)},
		{"ExAllocatePool2", slotLoc(16), regLoc(8), regLoc(2)}, // 64-bit flags: two words on x86
		{"ExFreePoolWithTag", slotLoc(8), regLoc(x86DX), regLoc(1)},
		{"ExInitializeNPagedLookasideList", slotLoc(24), slotLoc(0x30), regLoc(5)},
		{"ExInitializeLookasideListEx", slotLoc(28), slotLoc(0x38), regLoc(6)},
		{"FltAllocatePoolAlignedWithTag", slotLoc(16), regLoc(9), regLoc(3)},
	}
	for _, tt := range tests {
		r, ok := lookupRoutine(tt.routine)
		if !ok {
			t.Fatalf("%s not in the table", tt.routine)
		}
		if got := x86Arches[MachineX86].tagLoc(r); got != tt.x86 {
			t.Errorf("%s x86: %#x, want %#x", tt.routine, got, tt.x86)
		}
		if got := x86Arches[MachineX64].tagLoc(r); got != tt.x64 {
			t.Errorf("%s x64: %#x, want %#x", tt.routine, got, tt.x64)
		}
		if got := arm64TagLoc(r); got != tt.arm64 {
			t.Errorf("%s arm64: %#x, want %#x", tt.routine, got, tt.arm64)
		}
	}
}
