package units

import (
	"math"
	"testing"
)

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1024.0 KiB"}, // rounds up in its unit, not into the next
		{1 << 20, "1.0 MiB"},
		{113_977_344, "108.7 MiB"},
		{10 << 30, "10.0 GiB"},
		{1<<30 + 1<<28, "1.2 GiB"}, // 1.25: one decimal, as everywhere else
		{3 << 40, "3.0 TiB"},
		{math.MaxUint64, "16.0 EiB"},
	} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestBytesF(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{-1536, "-1.5 KiB"},
		{-12, "-12 B"},
		{0.4, "0 B"},
		{math.NaN(), "?"},
		{math.Inf(1), "?"},
	} {
		if got := BytesF(c.f); got != c.want {
			t.Errorf("BytesF(%v) = %q, want %q", c.f, got, c.want)
		}
	}
	if got := PerDay(4_000_000); got != "3.8 MiB/day" {
		t.Errorf("PerDay = %q", got)
	}
	if got := PerSnapshot(-2048); got != "-2.0 KiB/snapshot" {
		t.Errorf("PerSnapshot = %q", got)
	}
}

func TestCounts(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Count(0), "0"},
		{Count(999), "999"},
		{Count(1000), "1,000"},
		{Count(-80939), "-80,939"},
		{Count(math.MinInt64), "-9,223,372,036,854,775,808"},
		{UCount(math.MaxUint64), "18,446,744,073,709,551,615"},
		{CountF(1234.5), "1,235"},
		{CountF(-1), "?"},
		{CountF(math.NaN()), "?"},
		{Percent(84.94), "84.9%"},
		{Percent(0.01), "<0.1%"},
		{Percent(0), "0.0%"},
		{Percent(-1), "?"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestDurations(t *testing.T) {
	const day = 86400
	for _, c := range []struct {
		got, want string
	}{
		{Uptime(9*day + 7*3600 + 12*60), "9d 07h 12m 00s"},
		{Uptime(3661), "1h 01m 01s"},
		{Uptime(0.5), "not recorded"},
		{Uptime(-1), "not recorded"},
		{UptimeShort(9*day + 7*3600 + 12*60), "9d 7h"},
		{UptimeShort(3661), "1h 1m"},
		{UptimeShort(0), "unknown"},
		{Days(0.01), "less than an hour"},
		{Days(1), "about 24 hours"},
		{Days(1.0 / 24), "about 1 hour"},
		{Days(67.74), "about 67.7 days"},
		{Days(1234.4), "about 1,234 days"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestReportForms pins the forms the report has always printed.
func TestReportForms(t *testing.T) {
	for i, tt := range []struct{ got, want string }{
		{UCount(36678632), "36,678,632"},
		{Bytes(109 << 20), "109.0 MiB"}, {Bytes(36678632), "35.0 MiB"}, {Bytes(3 << 30), "3.0 GiB"},
		{Percent(85.15625), "85.2%"}, {Percent(0.04), "<0.1%"}, {Percent(math.NaN()), "?"},
		{Uptime(286937), "3d 07h 42m 17s"}, {Uptime(59), "0h 00m 59s"},
		{Days(0.58), "about 14 hours"}, {Days(24.4), "about 24.4 days"}, {Days(496.2), "about 496 days"},
	} {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}
