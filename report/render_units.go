package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Numbers in every form: counts with thousands separators (as !poolused
// and poolmon users read them), exact byte counts the same way, and
// sizes in binary units (KiB, MiB, GiB), which is how Windows states
// its pool limits: "128 MB of nonpaged pool" is 128 MiB.

// commas formats n with thousands separators.
func commas(n int64) string {
	if n < 0 {
		return "-" + ucommas(uint64(-n))
	}
	return ucommas(uint64(n))
}

func ucommas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fcommas formats a non-negative float rounded to a whole number.
func fcommas(f float64) string {
	if !known(f) {
		return "?"
	}
	return commas(int64(math.Round(f)))
}

// known says whether a float field holds a value: the model uses -1 for
// "cannot be said", and NaN or Inf never make a useful number.
func known(f float64) bool {
	return f >= 0 && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// size formats a byte count in binary units with one decimal.
func size(n uint64) string { return fsize(float64(n)) }

func fsize(f float64) string {
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
	units := "KMGTPE"
	i := 0
	for f /= 1024; f >= 1024 && i < len(units)-1; f /= 1024 {
		i++
	}
	return fmt.Sprintf("%s%.1f %ciB", neg, f, units[i])
}

// percent formats a share or a pool's use; unknown values say so.
func percent(f float64) string {
	switch {
	case !known(f):
		return "?"
	case f > 0 && f < 0.05:
		return "<0.1%" // not "0.0%": the tag does hold bytes
	}
	return fmt.Sprintf("%.1f%%", f)
}

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

// uptime formats seconds since boot as WinDbg's "System Uptime" does.
func uptime(sec float64) string {
	if !known(sec) || sec < 1 {
		return "not recorded"
	}
	s := int64(sec)
	d, s := s/86400, s%86400
	h, s := s/3600, s%3600
	m, s := s/60, s%60
	if d > 0 {
		return fmt.Sprintf("%dd %02dh %02dm %02ds", d, h, m, s)
	}
	return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
}

// days formats a time to exhaustion.
func days(d float64) string {
	switch {
	case d < 1.0/24:
		return "less than an hour"
	case d < 2:
		h := math.Round(d * 24)
		return fmt.Sprintf("about %.0f hour%s", h, plural(int(h)))
	case d < 100:
		return fmt.Sprintf("about %.1f days", d)
	}
	return fmt.Sprintf("about %s days", fcommas(d))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// oneLine flattens text that must fit a table cell or a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
