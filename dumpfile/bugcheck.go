package dumpfile

import "fmt"

// bugCheckNames are the symbolic names of common bug check codes
// (learn.microsoft.com "Bug Check Code Reference").
var bugCheckNames = map[uint32]string{
	0x0A:       "IRQL_NOT_LESS_OR_EQUAL",
	0x19:       "BAD_POOL_HEADER",
	0x1A:       "MEMORY_MANAGEMENT",
	0x1E:       "KMODE_EXCEPTION_NOT_HANDLED",
	0x24:       "NTFS_FILE_SYSTEM",
	0x3B:       "SYSTEM_SERVICE_EXCEPTION",
	0x41:       "MUST_SUCCEED_POOL_EMPTY",
	0x4E:       "PFN_LIST_CORRUPT",
	0x50:       "PAGE_FAULT_IN_NONPAGED_AREA",
	0x7E:       "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED",
	0x7F:       "UNEXPECTED_KERNEL_MODE_TRAP",
	0x9F:       "DRIVER_POWER_STATE_FAILURE",
	0xC2:       "BAD_POOL_CALLER",
	0xC4:       "DRIVER_VERIFIER_DETECTED_VIOLATION",
	0xC5:       "DRIVER_CORRUPTED_EXPOOL",
	0xCD:       "PAGE_FAULT_BEYOND_END_OF_ALLOCATION",
	0xD1:       "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
	0xD5:       "DRIVER_PAGE_FAULT_IN_FREED_SPECIAL_POOL",
	0xD6:       "DRIVER_PAGE_FAULT_BEYOND_END_OF_ALLOCATION",
	0xE2:       "MANUALLY_INITIATED_CRASH",
	0xEF:       "CRITICAL_PROCESS_DIED",
	0xF4:       "CRITICAL_OBJECT_TERMINATION",
	0x101:      "CLOCK_WATCHDOG_TIMEOUT",
	0x109:      "CRITICAL_STRUCTURE_CORRUPTION",
	0x116:      "VIDEO_TDR_FAILURE",
	0x124:      "WHEA_UNCORRECTABLE_ERROR",
	0x133:      "DPC_WATCHDOG_VIOLATION",
	0x139:      "KERNEL_SECURITY_CHECK_FAILURE",
	0x13A:      "KERNEL_MODE_HEAP_CORRUPTION",
	0x144:      "BUGCODE_USB3_DRIVER",
	0x154:      "UNEXPECTED_STORE_EXCEPTION",
	0x15F:      "CONNECTED_STANDBY_WATCHDOG_TIMEOUT_LIVEDUMP",
	0x161:      "LIVE_SYSTEM_DUMP",
	0x1C8:      "MANUALLY_INITIATED_POWER_BUTTON_HOLD",
	0x1000007E: "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M",
	0x1000008E: "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M",
	0x100000EA: "THREAD_STUCK_IN_DEVICE_DRIVER_M",
}

// BugCheckName returns the symbolic name of a bug check code, or "" when
// it is not one of the common ones.
func BugCheckName(code uint32) string { return bugCheckNames[code] }

// BugCheckString formats a code with its name: "0x41 (MUST_SUCCEED_POOL_EMPTY)".
func BugCheckString(code uint32) string {
	if n := bugCheckNames[code]; n != "" {
		return fmt.Sprintf("%#x (%s)", code, n)
	}
	return fmt.Sprintf("%#x", code)
}

// IsPoolBugCheck reports bug checks that point at pool exhaustion or
// corruption: 0x19, 0x41, 0xC2, 0xC5, 0xCD, 0xD5, 0xD6, 0x13A.
func IsPoolBugCheck(code uint32) bool {
	switch code {
	case 0x19, 0x41, 0xC2, 0xC5, 0xCD, 0xD5, 0xD6, 0x13A:
		return true
	}
	return false
}
