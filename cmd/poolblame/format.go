package main

import (
	"fmt"
	"strconv"
	"time"
)

// commas formats n with thousands separators, as WinDbg and poolmon users
// read large counts.
func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// humanBytes formats a byte count in binary units.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanDuration formats an uptime as days, hours, minutes and seconds.
func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "not recorded"
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	if days > 0 {
		return fmt.Sprintf("%dd %02dh %02dm %02ds", days, h, m, s)
	}
	return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
