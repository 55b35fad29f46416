package batch

import (
	"fmt"
	"sort"
	"time"
)

// timelineMargin is how far around the refusals dumps and snapshots are
// put on the timeline: what the pool looked like just before and after.
const timelineMargin = 48 * time.Hour

// event is one moment on the timeline of connection refusals.
type event struct {
	t        time.Time
	kind     string // "refused", "dump" or "snapshot"
	what     string
	nonpaged string // the pool's use, when the event says
	refused  int
}

// timeline merges the refusal hours of every HTTP.SYS log with the dumps
// and snapshots taken around them, earliest first. It is empty without
// refusals.
func timeline(s *Summary) []event {
	hours := map[time.Time]int{}
	for _, l := range s.Refusals {
		for _, h := range l.Hours {
			hours[h.Hour] += h.Count
		}
	}
	if len(hours) == 0 {
		return nil
	}
	var out []event
	var lo, hi time.Time
	for h, n := range hours {
		out = append(out, event{t: h, kind: "refused", what: "connections refused in the hour", refused: n})
		if lo.IsZero() || h.Before(lo) {
			lo = h
		}
		if h.After(hi) {
			hi = h
		}
	}
	lo, hi = lo.Add(-timelineMargin), hi.Add(time.Hour+timelineMargin)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(lo) && t.Before(hi) }
	for _, d := range s.Dumps {
		if !in(d.SystemTime) {
			continue
		}
		ev := event{t: d.SystemTime, kind: "dump", what: fmt.Sprintf("%s %s", d.Group, d.Name())}
		if d.NonPaged != nil {
			ev.nonpaged = usedMax(d.NonPaged)
		}
		out = append(out, ev)
	}
	for _, se := range s.Snapshots {
		if se.PerStep {
			continue
		}
		for _, sn := range se.Snapshots {
			if !in(sn.Time) {
				continue
			}
			out = append(out, event{t: sn.Time, kind: "snapshot", what: fmt.Sprintf("%s %s", se.ID, sn.File), nonpaged: optBytes(sn.PoolNonPaged)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].t.Before(out[j].t) })
	return out
}

func eventRow(e event) []string {
	refused := ""
	if e.kind == "refused" {
		refused = fmt.Sprint(e.refused)
	}
	np := e.nonpaged
	if np == "" {
		np = "-"
	}
	if e.kind == "refused" {
		np = ""
	}
	return []string{timeText(e.t), e.kind, e.what, np, refused}
}

var eventColumns = []string{"Time (UTC)", "Event", "What", "Nonpaged pool", "Refused"}
