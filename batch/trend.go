package batch

import (
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/batch/trend"
	"github.com/poolblame/poolblame/pooltag"
)

// dumpTrends computes the trends of a group from the tags kept for each
// of its usable dumps (pool data and an uptime).
func dumpTrends(g *Group, tags map[*DumpRecord]keptTags, o TrendOptions) {
	var ds []trend.Sample
	names := map[pooltag.Tag]string{} // each tag's text made once for the group
	for _, d := range g.Dumps {
		if (d.Status == StatusOK || d.Status == StatusPartial) && d.UptimeSeconds > 0 && len(tags[d]) > 0 {
			s := trend.Sample{Time: d.SystemTime, UptimeSeconds: d.UptimeSeconds, Boot: d.Boot, Partial: d.Status == StatusPartial}
			s.Tags = make([]trend.Usage, len(tags[d]))
			for i, t := range tags[d] {
				name, ok := names[t.tag]
				if !ok {
					name = t.tag.Trimmed()
					names[t.tag] = name
				}
				s.Tags[i] = trend.Usage{Tag: name, Pool: poolName(t.paged), Bytes: t.bytes, Outstanding: t.outstanding}
			}
			ds = append(ds, s)
		}
	}
	trends, notes := trend.FromDumps(ds, o)
	g.Notes = append(g.Notes, notes...)
	if len(ds) == 0 {
		return
	}
	if skipped := countUsable(g.Dumps) - len(ds); skipped > 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("%d dumps with pool data but no uptime are left out of the trends", skipped))
	}
	g.Trends = trends
	for _, t := range g.Trends {
		t.Drivers = driversFor(g.Dumps, t.Tag, t.Pool)
	}
}

func countUsable(ds []*DumpRecord) int {
	n := 0
	for _, d := range ds {
		if d.Status == StatusOK || d.Status == StatusPartial {
			n++
		}
	}
	return n
}

// driversFor lists the drivers the dumps' reports name first for a tag,
// the most named first.
func driversFor(ds []*DumpRecord, tag, pool string) []string {
	count := map[string]int{}
	var order []string
	for _, d := range ds {
		for _, l := range d.Leading {
			if l.Tag == tag && l.Pool == pool && l.Driver != "" {
				if count[l.Driver] == 0 {
					order = append(order, l.Driver)
				}
				count[l.Driver]++
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
	return order
}
