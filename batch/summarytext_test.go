package batch

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// The text summary lists, after the flagged ones, at most eight of a
// machine's other tags and of a log's other counters, in their order.
func TestSummaryTextOthers(t *testing.T) {
	g := &Group{ID: "M1", Name: "web01", Dumps: []*DumpRecord{rec(10, 10, "")}, Boots: 1}
	l := &CounterLog{ID: "L1", Machine: "web01", File: "web01.csv"}
	for i := range 10 {
		g.Trends = append(g.Trends, &Trend{Tag: fmt.Sprintf("Tg%02d", i), Pool: "Nonpaged", Reason: fmt.Sprintf("reason %d", i), Flagged: i == 0, Rank: 1})
		l.Counters = append(l.Counters, &CounterTrend{Counter: fmt.Sprintf(`Memory\C%d`, i), Reason: fmt.Sprintf("why %d", i), Flagged: i == 0})
	}
	g.Trends[3].Drivers = []string{"a.sys", "b.sys"}
	tests := []struct {
		name  string
		write func(*bytes.Buffer)
		want  []string
	}{
		{"group", func(b *bytes.Buffer) { writeGroupText(b, g) }, []string{
			"  Growing tags, ranked:",
			"   1. Tg00 Nonpaged reason 0",
			"  Other leading tags:",
			"      Tg01 Nonpaged reason 1",
			"      Tg03 Nonpaged reason 3; drivers: a.sys, b.sys",
			"      Tg08 Nonpaged reason 8",
		}},
		{"counters", func(b *bytes.Buffer) { writeCounterText(b, l) }, []string{
			"  Counters that only grow:",
			`    Memory\C0: why 0`,
			"  Other counters:",
			`    Memory\C1: why 1`,
			`    Memory\C8: why 8`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.write(&b)
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, n := range []string{"Tg09", `C9:`} {
				if strings.Contains(out, n) {
					t.Errorf("lists %s, the ninth other:\n%s", n, out)
				}
			}
		})
	}
	// Every one flagged: no heading for the others.
	var b bytes.Buffer
	writeCounterText(&b, &CounterLog{ID: "L2", Machine: "m", Counters: []*CounterTrend{{Counter: "c", Flagged: true}}})
	if strings.Contains(b.String(), "Other counters") {
		t.Errorf("heading with nothing under it:\n%s", b.String())
	}
}
