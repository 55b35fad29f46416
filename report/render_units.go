package report

import (
	"fmt"
	"strings"
	"time"
)

// Forms only the report prints; numbers shared with the other outputs
// are formatted by package units.

// hex32 is a bug check code as WinDbg prints it.
func hex32(v uint32) string { return fmt.Sprintf("0x%08X", v) }

// hexParam is a bug check parameter; WinDbg prints them without padding
// beyond what the value needs.
func hexParam(v uint64) string { return fmt.Sprintf("0x%X", v) }

// utc formats the dump's system time.
func utc(t time.Time) string {
	if t.IsZero() {
		return "not recorded"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// oneLine flattens text that must fit a table cell or a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
