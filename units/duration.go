package units

import (
	"fmt"
	"math"
)

// Uptime formats seconds since boot as WinDbg's "System Uptime" does:
// "9d 07h 12m 00s", or "7h 12m 00s" under a day. Less than a second, or
// no value, is "not recorded".
func Uptime(sec float64) string {
	if !Known(sec) || sec < 1 {
		return "not recorded"
	}
	d, h, m, s := split(sec)
	if d > 0 {
		return fmt.Sprintf("%dd %02dh %02dm %02ds", d, h, m, s)
	}
	return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
}

// UptimeShort is Uptime to the hour, or the minute under a day, for table
// cells: "9d 7h", "7h 12m"; "unknown" when there is no value.
func UptimeShort(sec float64) string {
	if !Known(sec) || sec <= 0 {
		return "unknown"
	}
	d, h, m, _ := split(sec)
	if d > 0 {
		return fmt.Sprintf("%dd %dh", d, h)
	}
	return fmt.Sprintf("%dh %dm", h, m)
}

func split(sec float64) (d, h, m, s int64) {
	s = int64(sec)
	d, s = s/86400, s%86400
	h, s = s/3600, s%3600
	m, s = s/60, s%60
	return d, h, m, s
}

// Days formats a time to exhaustion given in days: "about 40 hours",
// "about 67.7 days".
func Days(d float64) string {
	switch {
	case d < 1.0/24:
		return "less than an hour"
	case d < 2:
		h := math.Round(d * 24)
		return fmt.Sprintf("about %.0f hour%s", h, Plural(int(h)))
	case d < 100:
		return fmt.Sprintf("about %.1f days", d)
	}
	return fmt.Sprintf("about %s days", CountF(d))
}

// Plural is the "s" of a count's noun.
func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
