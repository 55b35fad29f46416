package dumpfile

import "fmt"

// BugCheckMeaning is what a bug check says about the pools.
type BugCheckMeaning int

const (
	// BugCheckUnrelated means the code says nothing about the pools.
	BugCheckUnrelated BugCheckMeaning = iota
	// BugCheckPoolCorruption means a pool block or list was corrupted (or
	// special pool caught a driver misusing one). The tags holding the
	// most are not the cause; Special Pool or Driver Verifier on the
	// suspects is.
	BugCheckPoolCorruption
	// BugCheckPoolExhaustion means a pool or the system PTEs ran out: the
	// leak case.
	BugCheckPoolExhaustion
	// BugCheckManual means a crash or live dump taken on purpose, as when a
	// server refusing connections is dumped for a leak.
	BugCheckManual
)

func (m BugCheckMeaning) String() string {
	switch m {
	case BugCheckPoolCorruption:
		return "pool corruption"
	case BugCheckPoolExhaustion:
		return "pool exhaustion"
	case BugCheckManual:
		return "manual crash or live dump"
	}
	return "unrelated to the pools"
}

// bugChecks are the symbolic names of common bug check codes and what
// each says about the pools (learn.microsoft.com "Bug Check Code
// Reference" and the page of each code).
var bugChecks = map[uint32]struct {
	name    string
	meaning BugCheckMeaning
}{
	0x0A:       {"IRQL_NOT_LESS_OR_EQUAL", BugCheckUnrelated},
	0x19:       {"BAD_POOL_HEADER", BugCheckPoolCorruption},
	0x1A:       {"MEMORY_MANAGEMENT", BugCheckUnrelated},
	0x1E:       {"KMODE_EXCEPTION_NOT_HANDLED", BugCheckUnrelated},
	0x24:       {"NTFS_FILE_SYSTEM", BugCheckUnrelated},
	0x3B:       {"SYSTEM_SERVICE_EXCEPTION", BugCheckUnrelated},
	0x3F:       {"NO_MORE_SYSTEM_PTES", BugCheckPoolExhaustion},
	0x41:       {"MUST_SUCCEED_POOL_EMPTY", BugCheckPoolExhaustion},
	0x4E:       {"PFN_LIST_CORRUPT", BugCheckUnrelated},
	0x50:       {"PAGE_FAULT_IN_NONPAGED_AREA", BugCheckUnrelated},
	0x7E:       {"SYSTEM_THREAD_EXCEPTION_NOT_HANDLED", BugCheckUnrelated},
	0x7F:       {"UNEXPECTED_KERNEL_MODE_TRAP", BugCheckUnrelated},
	0x9F:       {"DRIVER_POWER_STATE_FAILURE", BugCheckUnrelated},
	0xC1:       {"SPECIAL_POOL_DETECTED_MEMORY_CORRUPTION", BugCheckPoolCorruption},
	0xC2:       {"BAD_POOL_CALLER", BugCheckPoolCorruption},
	0xC4:       {"DRIVER_VERIFIER_DETECTED_VIOLATION", BugCheckUnrelated}, // parameter 1 decides: see BugCheckMeaningOf
	0xC5:       {"DRIVER_CORRUPTED_EXPOOL", BugCheckPoolCorruption},
	0xCC:       {"PAGE_FAULT_IN_FREED_SPECIAL_POOL", BugCheckPoolCorruption},
	0xCD:       {"PAGE_FAULT_BEYOND_END_OF_ALLOCATION", BugCheckPoolCorruption},
	0xD0:       {"DRIVER_CORRUPTED_MMPOOL", BugCheckPoolCorruption},
	0xD1:       {"DRIVER_IRQL_NOT_LESS_OR_EQUAL", BugCheckUnrelated},
	0xD5:       {"DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL", BugCheckPoolCorruption},
	0xD6:       {"DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION", BugCheckPoolCorruption},
	0xDE:       {"POOL_CORRUPTION_IN_FILE_AREA", BugCheckPoolCorruption},
	0xE2:       {"MANUALLY_INITIATED_CRASH", BugCheckManual},
	0xEF:       {"CRITICAL_PROCESS_DIED", BugCheckUnrelated},
	0xF4:       {"CRITICAL_OBJECT_TERMINATION", BugCheckUnrelated},
	0x101:      {"CLOCK_WATCHDOG_TIMEOUT", BugCheckUnrelated},
	0x109:      {"CRITICAL_STRUCTURE_CORRUPTION", BugCheckUnrelated},
	0x116:      {"VIDEO_TDR_FAILURE", BugCheckUnrelated},
	0x124:      {"WHEA_UNCORRECTABLE_ERROR", BugCheckUnrelated},
	0x133:      {"DPC_WATCHDOG_VIOLATION", BugCheckUnrelated},
	0x139:      {"KERNEL_SECURITY_CHECK_FAILURE", BugCheckUnrelated},
	0x13A:      {"KERNEL_MODE_HEAP_CORRUPTION", BugCheckPoolCorruption},
	0x144:      {"BUGCODE_USB3_DRIVER", BugCheckUnrelated},
	0x154:      {"UNEXPECTED_STORE_EXCEPTION", BugCheckUnrelated},
	0x15F:      {"CONNECTED_STANDBY_WATCHDOG_TIMEOUT_LIVEDUMP", BugCheckUnrelated},
	0x161:      {"LIVE_SYSTEM_DUMP", BugCheckManual},
	0x184:      {"WVR_LIVEDUMP_MANUALLY_INITIATED", BugCheckManual},
	0x1C8:      {"MANUALLY_INITIATED_POWER_BUTTON_HOLD", BugCheckManual},
	0x1E8:      {"MANUALLY_INITIATED_BLACKSCREEN_HOTKEY_LIVE_DUMP", BugCheckManual},
	0x11C8:     {"MANUALLY_INITIATED_POWER_BUTTON_HOLD_LIVE_DUMP", BugCheckManual},
	0xDEADDEAD: {"MANUALLY_INITIATED_CRASH1", BugCheckManual},
	0x1000007E: {"SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M", BugCheckUnrelated},
	0x1000008E: {"KERNEL_MODE_EXCEPTION_NOT_HANDLED_M", BugCheckUnrelated},
	0x100000EA: {"THREAD_STUCK_IN_DEVICE_DRIVER_M", BugCheckUnrelated},
}

// BugCheckName returns the symbolic name of a bug check code, or "" when
// it is not one of the common ones.
func BugCheckName(code uint32) string { return bugChecks[code].name }

// BugCheckString formats a code with its name: "0x41 (MUST_SUCCEED_POOL_EMPTY)".
func BugCheckString(code uint32) string {
	if n := bugChecks[code].name; n != "" {
		return fmt.Sprintf("%#x (%s)", code, n)
	}
	return fmt.Sprintf("%#x", code)
}

// BugCheckMeaningOf says what a bug check (with its first parameter)
// means for the pools. Driver Verifier's 0xC4 is a leak when a driver
// unloads with allocations outstanding (parameter 1 0x60 to 0x62) and
// pool misuse when it catches a bad pool call (0x00 to 0x1F).
func BugCheckMeaningOf(code uint32, p1 uint64) BugCheckMeaning {
	if code == 0xC4 {
		switch {
		case p1 >= 0x60 && p1 <= 0x62:
			return BugCheckPoolExhaustion
		case p1 <= 0x1F:
			return BugCheckPoolCorruption
		}
		return BugCheckUnrelated
	}
	return bugChecks[code].meaning
}

// IsPoolBugCheck reports bug checks that point at pool exhaustion or
// corruption.
func IsPoolBugCheck(code uint32) bool {
	m := bugChecks[code].meaning
	return m == BugCheckPoolCorruption || m == BugCheckPoolExhaustion
}
