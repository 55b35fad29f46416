package dumpfile

// KDBGField is a field of KDDEBUGGER_DATA64 the tool reads. Its offset,
// width and meaning are in kdbgLayout, the one statement of them.
type KDBGField int

// The fields, in offset order.
const (
	KdKernBase KDBGField = iota
	KdPaeEnabled
	KdPsLoadedModuleList
	KdPsActiveProcessHead
	KdKiBugcheckData
	KdMmPfnDatabase
	KdMmLowestPhysicalPage
	KdMmHighestPhysicalPage
	KdMmNumberOfPhysicalPages
	KdMmMaximumNonPagedPoolInBytes
	KdMmNonPagedPoolStart
	KdMmNonPagedPoolEnd
	KdMmPagedPoolStart
	KdMmPagedPoolEnd
	KdMmSizeOfPagedPoolInBytes
	KdPoolTrackTable
	KdNonPagedPoolDescriptor
	KdMmSystemRangeStart
	KdNtBuildLab
	KdKiProcessorBlock
	KdMmPhysicalMemoryBlock
	KdMmSessionBase
	KdMmSessionSize
	KdOffsetPrcbNumber
	KdPteBase
	kdFieldCount
)

// kdbgLoc is where a field sits and what it holds.
type kdbgLoc struct {
	name string
	off  int
	// address is true when the field holds the address of a kernel
	// variable (ReactOS kddata.c fills the block with &Variable); false
	// when it holds the value itself.
	address bool
	width   int // 8 for pointers and 64-bit values, 2 for the Offset* fields
}

// kdbgLayout is KDDEBUGGER_DATA64 (wdbgexts.h), the same on x86, where
// pointers are sign-extended to 64 bits.
var kdbgLayout = [kdFieldCount]kdbgLoc{
	KdKernBase:                     {"KernBase", 0x18, false, 8},
	KdPaeEnabled:                   {"PaeEnabled", 0x36, false, 2},
	KdPsLoadedModuleList:           {"PsLoadedModuleList", 0x48, true, 8},
	KdPsActiveProcessHead:          {"PsActiveProcessHead", 0x50, true, 8},
	KdKiBugcheckData:               {"KiBugcheckData", 0x88, true, 8},
	KdMmPfnDatabase:                {"MmPfnDatabase", 0xC0, true, 8},
	KdMmLowestPhysicalPage:         {"MmLowestPhysicalPage", 0xE8, true, 8},
	KdMmHighestPhysicalPage:        {"MmHighestPhysicalPage", 0xF0, true, 8},
	KdMmNumberOfPhysicalPages:      {"MmNumberOfPhysicalPages", 0xF8, true, 8},
	KdMmMaximumNonPagedPoolInBytes: {"MmMaximumNonPagedPoolInBytes", 0x100, true, 8},
	KdMmNonPagedPoolStart:          {"MmNonPagedPoolStart", 0x110, true, 8},
	KdMmNonPagedPoolEnd:            {"MmNonPagedPoolEnd", 0x118, true, 8},
	KdMmPagedPoolStart:             {"MmPagedPoolStart", 0x120, true, 8},
	KdMmPagedPoolEnd:               {"MmPagedPoolEnd", 0x128, true, 8},
	KdMmSizeOfPagedPoolInBytes:     {"MmSizeOfPagedPoolInBytes", 0x140, true, 8},
	KdPoolTrackTable:               {"PoolTrackTable", 0x1B8, true, 8},
	KdNonPagedPoolDescriptor:       {"NonPagedPoolDescriptor", 0x1C0, true, 8},
	KdMmSystemRangeStart:           {"MmSystemRangeStart", 0x1D0, true, 8},
	KdNtBuildLab:                   {"NtBuildLab", 0x208, true, 8},
	KdKiProcessorBlock:             {"KiProcessorBlock", 0x218, true, 8},
	KdMmPhysicalMemoryBlock:        {"MmPhysicalMemoryBlock", 0x270, true, 8},
	KdMmSessionBase:                {"MmSessionBase", 0x278, true, 8},
	KdMmSessionSize:                {"MmSessionSize", 0x280, true, 8},
	KdOffsetPrcbNumber:             {"OffsetPrcbNumber", 0x2BE, false, 2},
	KdPteBase:                      {"PteBase", 0x360, true, 8},
}

// String is the field's name in wdbgexts.h.
func (f KDBGField) String() string { return kdbgLayout[f].name }

// Offset is the field's offset in the block.
func (f KDBGField) Offset() int { return kdbgLayout[f].off }

// IsAddress reports whether the field holds the address of a kernel
// variable rather than the value itself.
func (f KDBGField) IsAddress() bool { return kdbgLayout[f].address }

// KDBGFields lists every field the tool knows, in offset order, in a
// slice of the caller's own.
func KDBGFields() []KDBGField {
	out := make([]KDBGField, kdFieldCount)
	for i := range out {
		out[i] = KDBGField(i)
	}
	return out
}

// Field returns a field's raw value (pointers masked to 32 bits on x86),
// and false when the block is too short to hold it or it is zero.
func (k *KDBG) Field(f KDBGField) (uint64, bool) {
	l := kdbgLayout[f]
	if l.width == 2 {
		v, ok := k.U16(l.off)
		return uint64(v), ok
	}
	return k.Pointer(l.off)
}

// field is Field without the flag: zero when absent.
func (k *KDBG) field(f KDBGField) uint64 { v, _ := k.Field(f); return v }

// KernBase is the kernel's load address (a value, not an address of one).
func (k *KDBG) KernBase() uint64 { return k.field(KdKernBase) }

// PaeEnabled reports bit 0 of the PaeEnabled field.
func (k *KDBG) PaeEnabled() bool { return k.field(KdPaeEnabled)&1 != 0 }

// PsLoadedModuleList is the address of the module list head.
func (k *KDBG) PsLoadedModuleList() uint64 { return k.field(KdPsLoadedModuleList) }

// PsActiveProcessHead is the address of the process list head.
func (k *KDBG) PsActiveProcessHead() uint64 { return k.field(KdPsActiveProcessHead) }

// MmNumberOfPhysicalPages is the address of that variable.
func (k *KDBG) MmNumberOfPhysicalPages() uint64 { return k.field(KdMmNumberOfPhysicalPages) }

// MmMaximumNonPagedPoolInBytes is the address of that variable.
func (k *KDBG) MmMaximumNonPagedPoolInBytes() uint64 {
	return k.field(KdMmMaximumNonPagedPoolInBytes)
}

// MmNonPagedPoolStart is the address of that variable.
func (k *KDBG) MmNonPagedPoolStart() uint64 { return k.field(KdMmNonPagedPoolStart) }

// MmNonPagedPoolEnd is the address of that variable.
func (k *KDBG) MmNonPagedPoolEnd() uint64 { return k.field(KdMmNonPagedPoolEnd) }

// MmPagedPoolStart is the address of that variable.
func (k *KDBG) MmPagedPoolStart() uint64 { return k.field(KdMmPagedPoolStart) }

// MmPagedPoolEnd is the address of that variable.
func (k *KDBG) MmPagedPoolEnd() uint64 { return k.field(KdMmPagedPoolEnd) }

// MmSizeOfPagedPoolInBytes is the address of that variable.
func (k *KDBG) MmSizeOfPagedPoolInBytes() uint64 { return k.field(KdMmSizeOfPagedPoolInBytes) }

// PoolTrackTable is the address of the nt!PoolTrackTable variable, which
// holds the table's address.
func (k *KDBG) PoolTrackTable() uint64 { return k.field(KdPoolTrackTable) }

// MmSessionBase is the address of that variable.
func (k *KDBG) MmSessionBase() uint64 { return k.field(KdMmSessionBase) }

// PteBase is the address of the PTE base variable (Windows 10 RS1 and later).
func (k *KDBG) PteBase() uint64 { return k.field(KdPteBase) }
