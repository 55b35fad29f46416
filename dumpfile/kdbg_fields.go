package dumpfile

// KDBGField describes one KDDEBUGGER_DATA64 field the tool reads.
type KDBGField struct {
	Name string
	Off  int
	// Address is true when the field holds the address of a kernel
	// variable (ReactOS kddata.c fills the block with &Variable); false
	// when it holds the value itself.
	Address bool
	Width   int // 8 for pointers and 64-bit values, 2 for the Offset* fields
}

// KDBGFields lists the fields of the reference table, in offset order.
var KDBGFields = []KDBGField{
	{"KernBase", KdKernBase, false, 8},
	{"PsLoadedModuleList", KdPsLoadedModuleList, true, 8},
	{"PsActiveProcessHead", KdPsActiveProcessHead, true, 8},
	{"KiBugcheckData", KdKiBugcheckData, true, 8},
	{"MmPfnDatabase", KdMmPfnDatabase, true, 8},
	{"MmLowestPhysicalPage", KdMmLowestPhysicalPage, true, 8},
	{"MmHighestPhysicalPage", KdMmHighestPhysicalPage, true, 8},
	{"MmNumberOfPhysicalPages", KdMmNumberOfPhysicalPages, true, 8},
	{"MmMaximumNonPagedPoolInBytes", KdMmMaximumNonPagedPoolInBytes, true, 8},
	{"MmNonPagedPoolStart", KdMmNonPagedPoolStart, true, 8},
	{"MmNonPagedPoolEnd", KdMmNonPagedPoolEnd, true, 8},
	{"MmPagedPoolStart", KdMmPagedPoolStart, true, 8},
	{"MmPagedPoolEnd", KdMmPagedPoolEnd, true, 8},
	{"MmSizeOfPagedPoolInBytes", KdMmSizeOfPagedPoolInBytes, true, 8},
	{"PoolTrackTable", KdPoolTrackTable, true, 8},
	{"NonPagedPoolDescriptor", KdNonPagedPoolDescriptor, true, 8},
	{"MmSystemRangeStart", KdMmSystemRangeStart, true, 8},
	{"NtBuildLab", KdNtBuildLab, true, 8},
	{"KiProcessorBlock", KdKiProcessorBlock, true, 8},
	{"MmPhysicalMemoryBlock", KdMmPhysicalMemoryBlock, true, 8},
	{"MmSessionBase", KdMmSessionBase, true, 8},
	{"MmSessionSize", KdMmSessionSize, true, 8},
	{"OffsetPrcbNumber", KdOffsetPrcbNumber, false, 2},
	{"PteBase", KdPteBase, true, 8},
}

// Field returns a field's raw value (pointers masked to 32 bits on x86),
// and false when the block is too short to hold it or it is zero.
func (k *KDBG) Field(f KDBGField) (uint64, bool) {
	if f.Width == 2 {
		v, ok := k.U16(f.Off)
		return uint64(v), ok
	}
	return k.Pointer(f.Off)
}

// PsActiveProcessHead is the address of the process list head.
func (k *KDBG) PsActiveProcessHead() uint64 { v, _ := k.Pointer(KdPsActiveProcessHead); return v }

// KiBugcheckData is the address of the bug check data.
func (k *KDBG) KiBugcheckData() uint64 { v, _ := k.Pointer(KdKiBugcheckData); return v }

// MmPfnDatabase is the address of the variable holding the PFN database.
func (k *KDBG) MmPfnDatabase() uint64 { v, _ := k.Pointer(KdMmPfnDatabase); return v }

// MmNumberOfPhysicalPages is the address of that variable.
func (k *KDBG) MmNumberOfPhysicalPages() uint64 {
	v, _ := k.Pointer(KdMmNumberOfPhysicalPages)
	return v
}

// MmNonPagedPoolStart is the address of that variable.
func (k *KDBG) MmNonPagedPoolStart() uint64 { v, _ := k.Pointer(KdMmNonPagedPoolStart); return v }

// MmNonPagedPoolEnd is the address of that variable.
func (k *KDBG) MmNonPagedPoolEnd() uint64 { v, _ := k.Pointer(KdMmNonPagedPoolEnd); return v }

// MmPagedPoolStart is the address of that variable.
func (k *KDBG) MmPagedPoolStart() uint64 { v, _ := k.Pointer(KdMmPagedPoolStart); return v }

// MmPagedPoolEnd is the address of that variable.
func (k *KDBG) MmPagedPoolEnd() uint64 { v, _ := k.Pointer(KdMmPagedPoolEnd); return v }

// NonPagedPoolDescriptor is the address of the nonpaged pool descriptor.
func (k *KDBG) NonPagedPoolDescriptor() uint64 { v, _ := k.Pointer(KdNonPagedPoolDescriptor); return v }

// MmSystemRangeStart is the address of that variable.
func (k *KDBG) MmSystemRangeStart() uint64 { v, _ := k.Pointer(KdMmSystemRangeStart); return v }

// MmPhysicalMemoryBlock is the address of the variable pointing to the
// physical memory descriptor.
func (k *KDBG) MmPhysicalMemoryBlock() uint64 { v, _ := k.Pointer(KdMmPhysicalMemoryBlock); return v }

// MmSessionBase is the address of that variable.
func (k *KDBG) MmSessionBase() uint64 { v, _ := k.Pointer(KdMmSessionBase); return v }

// MmSessionSize is the address of that variable.
func (k *KDBG) MmSessionSize() uint64 { v, _ := k.Pointer(KdMmSessionSize); return v }

// OffsetPrcbNumber is the offset of Number in the KPRCB (a value).
func (k *KDBG) OffsetPrcbNumber() uint16 { v, _ := k.U16(KdOffsetPrcbNumber); return v }

// PteBase is the address of the PTE base variable (Windows 10 RS1 and later).
func (k *KDBG) PteBase() uint64 { v, _ := k.Pointer(KdPteBase); return v }
