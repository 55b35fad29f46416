package units

import (
	"fmt"
	"math"
	"strconv"
)

// Count formats n with thousands separators: "80,939".
func Count(n int64) string {
	if n < 0 {
		return "-" + UCount(uint64(-n))
	}
	return UCount(uint64(n))
}

// UCount is Count for unsigned values, which may exceed int64.
func UCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	b := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// CountF formats a non-negative float rounded to a whole number, "?" when
// it holds no value (see Known).
func CountF(f float64) string {
	if !Known(f) {
		return "?"
	}
	return Count(int64(math.Round(f)))
}

// Known says whether a float quantity holds a value: the analysis uses -1
// for "cannot be said", and NaN or Inf never make a useful number.
func Known(f float64) bool {
	return f >= 0 && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// Percent formats a share or a pool's use with one decimal; unknown values
// print "?", and a share too small to show prints "<0.1%", not "0.0%",
// since the tag does hold bytes.
func Percent(f float64) string {
	switch {
	case !Known(f):
		return "?"
	case f > 0 && f < 0.05:
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", f)
}
