package snapshot

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Most snapshot texts carry no time (a poolmon screen, a !poolused paste),
// and a file's modification time says when it was copied, not captured: a
// 2005 capture saved today would be dated today. The user can give the
// time, on the command line or in the file's name.

// userTimeLayouts are the ways a time may be given on the command line.
// Without a zone it is UTC, as every time the tool prints is.
var userTimeLayouts = []string{
	time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", time.DateTime, "2006-01-02 15:04", time.DateOnly,
}

// ParseTime reads a time given by the user: RFC 3339, or "2006-01-02
// 15:04[:05]" (a T may stand for the blank), or a date alone, in UTC
// unless a zone is given.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range userTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want 2006-01-02 15:04[:05], 2006-01-02T15:04:05Z or 2006-01-02", s)
}

// nameTime finds a date and an optional time of day in a file name:
// 2005-09-02_18-59-03, 2005-09-02T1859, 20050902-185903, 20050902_1859,
// poolmon-2005-09-02.txt. Separators between the parts may be '-', '_',
// '.', 'T' or a blank.
var nameTime = regexp.MustCompile(`(?:^|[^0-9])((?:19|20)\d\d)[-_.]?(\d\d)[-_.]?(\d\d)(?:[-_.T ]?(\d\d)[-_.:h]?(\d\d)(?:[-_.:m]?(\d\d))?)?(?:[^0-9]|$)`)

// TimeFromName returns the capture time a file's name carries, in UTC;
// ok is false when the name has no valid date. A date without a time of
// day stands for its midnight, and dateOnly says so.
func TimeFromName(name string) (t time.Time, dateOnly, ok bool) {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	for _, m := range nameTime.FindAllStringSubmatch(base, -1) {
		hh, mm, ss := m[4], m[5], m[6]
		if hh == "" {
			hh, mm = "00", "00"
		}
		if ss == "" {
			ss = "00"
		}
		s := fmt.Sprintf("%s-%s-%s %s:%s:%s", m[1], m[2], m[3], hh, mm, ss)
		tm, err := time.Parse(time.DateTime, s)
		if err != nil {
			continue // 2005-13-45 is not a date
		}
		return tm, m[4] == "", true
	}
	return time.Time{}, false, false
}
