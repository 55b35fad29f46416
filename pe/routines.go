package pe

// routine is an imported kernel routine that takes a pool tag.
type routine struct {
	name    string
	tag     int  // zero-based index of the tag argument
	nargs   int  // argument count
	flags64 bool // the first argument is a 64-bit POOL_FLAGS: two stack words on x86
}

// x86TagOff is the stack offset of the tag argument at entry (stdcall,
// above the return address).
func (r routine) x86TagOff() int32 {
	off := int32(4 + 4*r.tag)
	if r.flags64 {
		off += 4
	}
	return off
}

// x86Pop is how many bytes of arguments the routine pops (stdcall).
func (r routine) x86Pop() int32 {
	n := int32(4 * r.nargs)
	if r.flags64 {
		n += 4
	}
	return n
}

// poolRoutines lists the exported routines whose argument is charged to a
// pool tag in the kernel's tracker tables, with the position of that
// argument (from the WDK prototypes on learn.microsoft.com).
//
// ExAllocatePoolZero, ExAllocatePoolUninitialized, ExAllocatePoolQuotaZero,
// ExAllocatePoolQuotaUninitialized and ExAllocatePoolPriorityZero/
// Uninitialized are FORCEINLINE wrappers in wdm.h: they compile to calls of
// ExAllocatePoolWithTag, ExAllocatePoolWithQuotaTag,
// ExAllocatePoolWithTagPriority or ExAllocatePool2 below, so they are never
// imported. FltAllocateContext (tag registered in FLT_CONTEXT_REGISTRATION
// data), ExAllocateTimer, IoAllocateErrorLogEntry, RtlCreateHashTable and
// MmAllocatePagesForMdl take no tag argument. MmAllocateMappingAddress tags
// a system PTE range, not a pool allocation, so it is left out.
var poolRoutines = []routine{
	{"ExAllocatePoolWithTag", 2, 3, false},                 // (PoolType, NumberOfBytes, Tag)
	{"ExAllocatePoolWithQuotaTag", 2, 3, false},            // (PoolType, NumberOfBytes, Tag)
	{"ExAllocatePoolWithTagPriority", 2, 4, false},         // (PoolType, NumberOfBytes, Tag, Priority)
	{"ExAllocatePool2", 2, 3, true},                        // (Flags, NumberOfBytes, Tag)
	{"ExAllocatePool3", 2, 5, true},                        // (Flags, NumberOfBytes, Tag, ExtendedParameters, Count)
	{"ExFreePoolWithTag", 1, 2, false},                     // (P, Tag)
	{"ExFreePool2", 1, 4, false},                           // (P, Tag, ExtendedParameters, Count)
	{"ExInitializeLookasideListEx", 6, 8, false},           // (Lookaside, Allocate, Free, PoolType, Flags, Size, Tag, Depth)
	{"ExInitializeNPagedLookasideList", 5, 7, false},       // (Lookaside, Allocate, Free, Flags, Size, Tag, Depth)
	{"ExInitializePagedLookasideList", 5, 7, false},        // (Lookaside, Allocate, Free, Flags, Size, Tag, Depth)
	{"ExAllocateCacheAwareRundownProtection", 1, 2, false}, // (PoolType, PoolTag)
	{"FsRtlAllocatePoolWithTag", 2, 3, false},              // (PoolType, NumberOfBytes, Tag)
	{"FsRtlAllocatePoolWithQuotaTag", 2, 3, false},         // (PoolType, NumberOfBytes, Tag)
	{"NdisAllocateMemoryWithTag", 2, 3, false},             // (VirtualAddress, Length, Tag)
	{"NdisAllocateMemoryWithTagPriority", 2, 4, false},     // (NdisHandle, Length, Tag, Priority)
	{"NdisFreeMemoryWithTag", 1, 2, false},                 // (VirtualAddress, Tag)
	{"NdisFreeMemoryWithTagPriority", 2, 3, false},         // (NdisHandle, VirtualAddress, Tag)
	{"FltAllocatePoolAlignedWithTag", 3, 4, false},         // (Instance, PoolType, NumberOfBytes, Tag)
	{"FltFreePoolAlignedWithTag", 2, 3, false},             // (Instance, Buffer, Tag)
	{"VideoPortAllocatePool", 3, 4, false},                 // (HwDeviceExtension, PoolType, NumberOfBytes, Tag)
	{"StorPortAllocatePool", 2, 4, false},                  // (HwDeviceExtension, NumberOfBytes, Tag, BufferPointer)
}

// lookupRoutine returns the index of the named routine in poolRoutines.
// Import names are matched exactly, as the loader does; the DLL is not
// checked because forwarders move these routines between modules.
func lookupRoutine(name string) (int, bool) {
	for i, r := range poolRoutines {
		if r.name == name {
			return i, true
		}
	}
	return 0, false
}

// routineNames returns the names of the routines set in mask.
func routineNames(mask uint32) []string {
	var out []string
	for i := range poolRoutines {
		if mask&(1<<i) != 0 {
			out = append(out, poolRoutines[i].name)
		}
	}
	return out
}
