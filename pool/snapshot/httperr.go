package snapshot

import (
	"io"
	"slices"
	"strings"
	"time"
)

// Refusal is one HTTPERR log line saying HTTP.SYS refused connections:
// it stops accepting them while free nonpaged pool is below 20 MB
// (KB820729, KB934878), so refusals date nonpaged pool exhaustion.
type Refusal struct {
	Time  time.Time // UTC, as the log writes it
	Count int
}

// HourCount is the number of refused connections in one hour.
type HourCount struct {
	Hour  time.Time // the start of the hour, UTC
	Count int
}

// ParseHTTPErr reads an HTTP.SYS error log (%SystemRoot%\System32\LogFiles\
// HTTPERR\httperr*.log) and returns its connection refusals. Lines are
// space-separated W3C fields, date and time first; the reason phrase is
// the s-reason field named by a "#Fields:" header, or, in logs without
// one, the field that reads "Connections_Refused" or "N_Connections_Refused"
// (N refusals). Other errors in the log are passed over; a line without a
// valid date and time is an error.
func ParseHTTPErr(r io.Reader, name string) ([]Refusal, error) {
	lr := newLineReader(r, name)
	reason := -1 // index of s-reason from #Fields, -1 when there is none
	dateIdx, timeIdx := 0, 1
	var out []Refusal
	for {
		line, ok := lr.next()
		if !ok {
			break
		}
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "#") {
			if rest, ok := strings.CutPrefix(t, "#Fields:"); ok {
				f := strings.Fields(rest)
				reason, dateIdx, timeIdx = slices.Index(f, "s-reason"), slices.Index(f, "date"), slices.Index(f, "time")
				if dateIdx < 0 || timeIdx < 0 {
					return nil, lr.errorf("#Fields line names no date or time field")
				}
			}
			continue
		}
		f := strings.Fields(t)
		if dateIdx >= len(f) || timeIdx >= len(f) {
			return nil, lr.errorf("no date and time: %q", t)
		}
		when, err := time.Parse(time.DateTime, f[dateIdx]+" "+f[timeIdx])
		if err != nil {
			return nil, lr.fieldError("date time", f[dateIdx]+" "+f[timeIdx])
		}
		var n int
		var found bool
		var phrase string
		if reason >= 0 {
			if reason < len(f) {
				phrase = f[reason]
				n, found = refusalCount(phrase)
			}
		} else {
			for _, phrase = range f[min(2, len(f)):] {
				if n, found = refusalCount(phrase); found {
					break
				}
			}
		}
		if !found {
			continue
		}
		if n < 0 {
			return nil, lr.fieldError("s-reason", phrase)
		}
		out = append(out, Refusal{Time: when, Count: n})
	}
	if err := lr.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// refusalCount reads "Connections_Refused" (one) or "N_Connections_Refused".
// A count that is not a number gives n = -1 with found set.
func refusalCount(field string) (n int, found bool) {
	const phrase = "Connections_Refused"
	if field == phrase {
		return 1, true
	}
	num, ok := strings.CutSuffix(field, "_"+phrase)
	if !ok {
		return 0, false
	}
	v, ok := parseUint(num)
	if !ok || v > 1<<31-1 {
		return -1, true
	}
	return int(v), true
}

// RefusalsPerHour sums refusals by UTC hour, earliest first. Hours with no
// refusal are left out.
func RefusalsPerHour(rs []Refusal) []HourCount {
	sums := make(map[time.Time]int)
	for _, r := range rs {
		sums[r.Time.UTC().Truncate(time.Hour)] += r.Count
	}
	out := make([]HourCount, 0, len(sums))
	for h, c := range sums {
		out = append(out, HourCount{Hour: h, Count: c})
	}
	slices.SortFunc(out, func(a, b HourCount) int { return a.Hour.Compare(b.Hour) })
	return out
}
