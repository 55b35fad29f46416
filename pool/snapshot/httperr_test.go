package snapshot

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestHTTPErrIIS6(t *testing.T) {
	rs, err := ParseHTTPErr(bytes.NewReader(readReal(t, "httperr-connections-refused.log")), "httperr1.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 27 {
		t.Fatalf("%d refusals, want 27", len(rs))
	}
	at := func(h, m, s int) time.Time { return time.Date(2005, 9, 2, h, m, s, 0, time.UTC) }
	tests := []struct {
		i     int
		when  time.Time
		count int
	}{
		{0, at(18, 45, 12), 1},
		{2, at(18, 46, 27), 2},
		{8, at(18, 49, 42), 7},
		{10, at(18, 50, 37), 6},
		{26, at(18, 58, 57), 1},
	}
	for _, tt := range tests {
		if !rs[tt.i].Time.Equal(tt.when) || rs[tt.i].Count != tt.count {
			t.Errorf("refusal %d = %+v, want %v x%d", tt.i, rs[tt.i], tt.when, tt.count)
		}
	}
	hours := RefusalsPerHour(rs)
	if len(hours) != 1 || !hours[0].Hour.Equal(at(18, 0, 0)) || hours[0].Count != 53 {
		t.Errorf("per hour = %+v, want 53 in the 18:00 hour", hours)
	}
}

func TestHTTPErrFixtures(t *testing.T) {
	// The documented example entry is a ConnLimit error, not a refusal.
	rs, err := ParseHTTPErr(bytes.NewReader(readFixture(t, "httperr-technet-example.log")), "ex.log")
	if err != nil || len(rs) != 0 {
		t.Errorf("technet example: %v, %v; want no refusals and no error", rs, err)
	}
	// With a #Fields header the s-reason field is read by name.
	rs, err = ParseHTTPErr(bytes.NewReader(readFixture(t, "httperr-w3c-madeup.log")), "w3c.log")
	if err != nil {
		t.Fatal(err)
	}
	want := []Refusal{
		{time.Date(2007, 3, 14, 9, 59, 40, 0, time.UTC), 1},
		{time.Date(2007, 3, 14, 10, 2, 11, 0, time.UTC), 4},
		{time.Date(2007, 3, 14, 10, 41, 3, 0, time.UTC), 12},
	}
	if len(rs) != len(want) {
		t.Fatalf("refusals %+v, want %+v", rs, want)
	}
	for i := range want {
		if !rs[i].Time.Equal(want[i].Time) || rs[i].Count != want[i].Count {
			t.Errorf("refusal %d = %+v, want %+v", i, rs[i], want[i])
		}
	}
	hours := RefusalsPerHour(rs)
	if len(hours) != 2 || hours[0].Count != 1 || hours[1].Count != 16 || hours[1].Hour.Hour() != 10 {
		t.Errorf("per hour = %+v, want 1 at 09:00 and 16 at 10:00", hours)
	}
}

func TestHTTPErrErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"bad date", "2005-09-02 18:45:12 - - - - - - - - - 1_Connections_Refused -\n2005-13-02 18:46:07 - - - - - - - - - 1_Connections_Refused -\n",
			`h.log:2: bad date time field "2005-13-02 18:46:07"`},
		{"bad count", "2005-09-02 18:45:12 - - - - - - - - - x_Connections_Refused -\n",
			`h.log:1: bad s-reason field "x_Connections_Refused"`},
		{"fields without time", "#Fields: date c-ip s-reason\n", "h.log:1: #Fields line names no date or time field"},
		{"prose", "2005-09-02 18:45:12 - - - - - - - - - 1_Connections_Refused -\nnot a log line\n", `h.log:2: bad date time field "not a"`},
		{"one word", "hello\n", `h.log:1: no date and time: "hello"`},
	}
	for _, tt := range tests {
		_, err := ParseHTTPErr(strings.NewReader(tt.text), "h.log")
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestRefusalsPerHourOrder(t *testing.T) {
	base := time.Date(2005, 9, 2, 18, 0, 0, 0, time.UTC)
	rs := []Refusal{
		{base.Add(3*time.Hour + 5*time.Minute), 2},
		{base.Add(10 * time.Minute), 1},
		{base.Add(3*time.Hour + 59*time.Minute), 3},
		{base.Add(-time.Minute), 4},
	}
	got := RefusalsPerHour(rs)
	want := []HourCount{{base.Add(-time.Hour), 4}, {base, 1}, {base.Add(3 * time.Hour), 5}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].Hour.Equal(want[i].Hour) || got[i].Count != want[i].Count {
			t.Errorf("hour %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if RefusalsPerHour(nil) == nil || len(RefusalsPerHour(nil)) != 0 {
		t.Error("no refusals should give an empty, non-nil list")
	}
}
