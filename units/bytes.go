package units

import (
	"fmt"
	"math"
)

// unitLetters are the prefixes after KiB's, in order.
const unitLetters = "KMGTPE"

// Bytes formats a byte count: "512 B", "1.5 KiB", "108.7 MiB", "1.2 GiB".
func Bytes(n uint64) string { return BytesF(float64(n)) }

// BytesF formats a byte count or difference held as a float, signed, in
// the form Bytes uses; NaN and infinities, which are no size, print "?".
func BytesF(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "?"
	}
	neg := ""
	if f < 0 {
		neg, f = "-", -f
	}
	if f < 1024 {
		return fmt.Sprintf("%s%.0f B", neg, f)
	}
	i := 0
	for f /= 1024; f >= 1024 && i < len(unitLetters)-1; f /= 1024 {
		i++
	}
	return fmt.Sprintf("%s%.1f %ciB", neg, f, unitLetters[i])
}

// PerDay formats a growth rate in bytes per day: "3.8 MiB/day".
func PerDay(f float64) string { return BytesF(f) + "/day" }

// PerSnapshot formats a growth rate between snapshots whose times are
// unknown: "3.8 MiB/snapshot".
func PerSnapshot(f float64) string { return BytesF(f) + "/snapshot" }
