package snapshot

import (
	"testing"
	"time"
)

func TestTimeFromName(t *testing.T) {
	utc := func(y, mo, d, h, mi, s int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC) }
	tests := []struct {
		name     string
		want     time.Time
		dateOnly bool
		ok       bool
	}{
		{"poolmon-2005-09-02_18-59-03.txt", utc(2005, 9, 2, 18, 59, 3), false, true},
		{"web01/poolmon_20050902-1859.txt", utc(2005, 9, 2, 18, 59, 0), false, true},
		{`C:\logs\pool 2005-09-02T185903.log`, utc(2005, 9, 2, 18, 59, 3), false, true},
		{"poolused-2024-03-01.txt", utc(2024, 3, 1, 0, 0, 0), true, true},
		{"snap20240301.txt", utc(2024, 3, 1, 0, 0, 0), true, true},
		{"poolmon.txt", time.Time{}, false, false},
		{"build-3790-2005-13-45.txt", time.Time{}, false, false},    // month 13
		{"12005090211.txt", time.Time{}, false, false},              // digits run on: no date boundary
		{"poolmon-2005-09-02_25-00.txt", time.Time{}, false, false}, // hour 25: no guess
	}
	for _, tt := range tests {
		got, dateOnly, ok := TimeFromName(tt.name)
		if ok != tt.ok || !got.Equal(tt.want) || dateOnly != tt.dateOnly {
			t.Errorf("%s: %v date-only %v ok %v; want %v %v %v", tt.name, got, dateOnly, ok, tt.want, tt.dateOnly, tt.ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2005-09-02 18:59", time.Date(2005, 9, 2, 18, 59, 0, 0, time.UTC), false},
		{"2005-09-02T18:59:03Z", time.Date(2005, 9, 2, 18, 59, 3, 0, time.UTC), false},
		{"2005-09-02T20:59:03+02:00", time.Date(2005, 9, 2, 18, 59, 3, 0, time.UTC), false},
		{"2005-09-02", time.Date(2005, 9, 2, 0, 0, 0, 0, time.UTC), false},
		{"yesterday", time.Time{}, true},
		{"02/09/2005", time.Time{}, true}, // day and month order unknown
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("%q: %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
