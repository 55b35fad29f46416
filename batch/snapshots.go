package batch

import (
	"archive/zip"
	"fmt"
	"github.com/poolblame/poolblame/batch/trend"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/snapshot"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// openText opens a snapshot or log input as a stream.
func openText(in *input) (io.ReadCloser, error) {
	switch in.container {
	case plainFile:
		return os.Open(in.path)
	case zipFile:
		zr, err := zip.OpenReader(in.path)
		if err != nil {
			return nil, fmt.Errorf("%s: unreadable zip: %w", in.path, err)
		}
		for _, zf := range zr.File {
			if zf.Name == in.member {
				rc, err := zf.Open()
				if err != nil {
					zr.Close()
					return nil, fmt.Errorf("%s: %w", in.name(), err)
				}
				return readCloser{rc, func() error { rc.Close(); return zr.Close() }}, nil
			}
		}
		zr.Close()
		return nil, fmt.Errorf("%s: member %s is gone", in.path, in.member)
	}
	r, closeDec, err := openCompressed(in.path, in.container)
	if err != nil {
		return nil, err
	}
	return readCloser{r, func() error { closeDec(); return nil }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// timedSnapshot is a parsed snapshot with the moment it stands for.
type timedSnapshot struct {
	info  *SnapshotInfo
	order int
	key   string // the series it belongs to
}

// nameTime is the time a snapshot file's name gives.
type nameTime struct {
	t            time.Time
	dateOnly, ok bool
}

// poolTotals copies the machine's pool totals and maxima a snapshot gives.
func poolTotals(info *SnapshotInfo, s *snapshot.Snapshot) {
	switch {
	case s.Totals.Present:
		info.PoolNonPaged, info.PoolPaged = s.Totals.PoolNonPaged, s.Totals.PoolPaged
	case s.VM.Present:
		info.PoolNonPaged, info.PoolPaged = s.VM.NonPagedUsage, s.VM.PagedUsage
	}
	if max, ok := s.VM.NonPagedLimit(); ok {
		info.NonPagedMax = max
	}
	if max, ok := s.VM.PagedLimit(); ok {
		info.PagedMax = max
	}
}

// seriesKey names the series a snapshot belongs to: its computer (else
// its folder), one series for all under GroupNone, the session pool apart.
func seriesKey(in *input, s *snapshot.Snapshot, by GroupBy) string {
	key := in.folder
	if name := computerName(s); name != "" {
		key = name
	}
	if by == GroupNone {
		key = "all snapshots"
	}
	if s.Session {
		key += " (session pool)"
	}
	return key
}

// readSnapshots parses the snapshot inputs. An unreadable one is a failed
// input, listed with its error (batch exits 1 for it), not a note.
func readSnapshots(ins []*input, by GroupBy, times map[string]time.Time) ([]*timedSnapshot, []FailedInput, []string) {
	var out []*timedSnapshot
	var failed []FailedInput
	var notes []string
	for _, in := range ins {
		rc, err := openText(in)
		if err != nil {
			failed = append(failed, FailedInput{File: in.name(), Error: err.Error()})
			continue
		}
		snaps, err := snapshot.Parse(rc, in.name())
		rc.Close()
		if err != nil {
			failed = append(failed, FailedInput{File: in.name(), Error: err.Error()})
			continue
		}
		given, hasGiven := userTime(times, in)
		if hasGiven && len(snaps) > 1 {
			notes = append(notes, fmt.Sprintf("%s holds %d snapshots: the time given for it (--time) is not used", in.name(), len(snaps)))
			hasGiven = false
		}
		named := nameTime{}
		named.t, named.dateOnly, named.ok = snapshot.TimeFromName(in.name())
		for i, s := range snaps {
			info := &SnapshotInfo{File: in.name(), Format: s.Format.String(), Time: s.Time.UTC(), TimeSource: "file",
				Partial: s.Partial, Tags: len(s.Usages), Notes: s.Notes, snap: s}
			if len(snaps) > 1 {
				info.File = fmt.Sprintf("%s #%d", in.name(), i+1)
			}
			// The time the user gives wins; then the snapshot's own; then
			// the file's name; the modification time only when nothing
			// else says (it tells when the file was copied, not captured).
			switch {
			case hasGiven:
				if !s.Time.IsZero() && !s.Time.Equal(given) {
					notes = append(notes, fmt.Sprintf("%s says it was taken at %s; the time given (%s) is used", in.name(), timeText(s.Time), timeText(given)))
				}
				info.Time, info.TimeSource = given, "given"
			case !s.Time.IsZero():
			case named.ok && len(snaps) == 1:
				info.Time, info.TimeSource = named.t, "name"
				if named.dateOnly {
					info.TimeSource = "name (date)"
				}
			case !in.modTime.IsZero():
				info.Time, info.TimeSource = in.modTime.UTC(), "modified"
			default:
				info.Time, info.TimeSource = time.Time{}, "order"
			}
			poolTotals(info, s)
			out = append(out, &timedSnapshot{info: info, order: in.order*1000 + i, key: seriesKey(in, s, by)})
		}
	}
	return out, failed, notes
}

// userTime is the time the user gave for an input, by its name, its path
// or its base name.
func userTime(times map[string]time.Time, in *input) (time.Time, bool) {
	for _, k := range []string{in.name(), in.path, filepath.Base(in.path), in.member} {
		if k == "" {
			continue
		}
		if t, ok := times[k]; ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// computerName is the machine a poolmon log names, if it does.
func computerName(s *snapshot.Snapshot) string {
	for k, v := range s.Attrs {
		if strings.EqualFold(strings.TrimLeft(k, "!"), "ComputerName") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// minSnapshotGap is the least time between snapshots for a rate per day.
const minSnapshotGap = time.Minute

// buildSeries groups snapshots into series and computes their trends.
func buildSeries(snaps []*timedSnapshot, o TrendOptions) []*Series {
	o = o.WithDefaults()
	byKey := map[string][]*timedSnapshot{}
	var keys []string
	for _, s := range snaps {
		if byKey[s.key] == nil {
			keys = append(keys, s.key)
		}
		byKey[s.key] = append(byKey[s.key], s)
	}
	var out []*Series
	for i, k := range keys {
		ss := byKey[k]
		sort.SliceStable(ss, func(a, b int) bool {
			ta, tb := ss[a].info.Time, ss[b].info.Time
			if !ta.Equal(tb) && !ta.IsZero() && !tb.IsZero() {
				return ta.Before(tb)
			}
			return ss[a].order < ss[b].order
		})
		se := &Series{ID: fmt.Sprintf("s%d", i+1), Name: k}
		for j, s := range ss {
			se.Snapshots = append(se.Snapshots, s.info)
			// Snapshots less than a minute apart are copies made at one
			// moment, not a measurement over time: a rate per day from
			// them would be noise.
			if j > 0 && s.info.Time.Sub(ss[j-1].info.Time) < minSnapshotGap {
				se.PerStep = true
			}
			if s.info.Time.IsZero() {
				se.PerStep = true
			}
		}
		if se.PerStep && len(ss) > 1 {
			se.Notes = append(se.Notes, "the snapshots' times are unknown or less than a minute apart: they are taken in the order given and growth is per snapshot, not per day")
		}
		sources := map[string]bool{}
		for _, s := range se.Snapshots {
			sources[s.TimeSource] = true
		}
		if sources["modified"] && !se.PerStep {
			se.Notes = append(se.Notes, "some snapshots carry no time: their files' modification times stand for it (give the time with --time FILE=TIME or in the file's name)")
		}
		if sources["name (date)"] {
			se.Notes = append(se.Notes, "some snapshots are dated by the day in their file names only: their time of day is taken as midnight")
		}
		for _, s := range se.Snapshots {
			if s.Partial {
				se.Notes = append(se.Notes, "some snapshots list only part of the tags (a poolmon screen shows what fits its window): a tag absent from one is unknown there, not zero")
				break
			}
		}
		taggedTrends(se, o)
		out = append(out, se)
	}
	return out
}

// snapshotUse returns a tag's use in one pool of a snapshot; ok is false
// when the snapshot does not list that pool's row for the tag.
func snapshotUse(s *snapshot.Snapshot, tag pooltag.Tag, paged bool) (bytes uint64, out int64, ok bool) {
	u, found := s.Usage(tag)
	if !found {
		return 0, 0, false
	}
	if paged {
		if u.PagedAllocs == 0 && u.PagedFrees == 0 && u.PagedBytes == 0 {
			return 0, 0, false
		}
		return u.PagedBytes, u.PagedOutstanding(), true
	}
	if u.NonPagedAllocs == 0 && u.NonPagedFrees == 0 && u.NonPagedBytes == 0 {
		return 0, 0, false
	}
	return u.NonPagedBytes, u.NonPagedOutstanding(), true
}

// seriesCand is a tag in one pool of a snapshot series.
type seriesCand struct {
	tag   pooltag.Tag
	paged bool
}

// taggedTrends runs snapshotTrends over the snapshots that list tags: !vm
// text gives the pools' totals and maxima only, so it stands in the
// series' table but not between two snapshots whose tags are compared.
// Its trend points say the tag is not listed there.
func taggedTrends(se *Series, o TrendOptions) {
	var tagged []*SnapshotInfo
	var at []int
	for i, s := range se.Snapshots {
		if s.snap.Format != snapshot.VMText {
			tagged = append(tagged, s)
			at = append(at, i)
		}
	}
	if len(tagged) == len(se.Snapshots) {
		snapshotTrends(se, o)
		return
	}
	sub := *se
	sub.Snapshots, sub.Trends = tagged, nil
	snapshotTrends(&sub, o)
	se.Notes, se.Trends = sub.Notes, sub.Trends
	se.Notes = append(se.Notes, fmt.Sprintf("%s of !vm text: pool totals and maxima only, no tags", plural(len(se.Snapshots)-len(tagged), "snapshot")))
	for _, t := range se.Trends {
		points := make([]Point, len(se.Snapshots))
		for i, s := range se.Snapshots {
			points[i] = Point{Time: s.Time}
		}
		for j, p := range t.Points {
			points[at[j]] = p
		}
		t.Points = points
	}
}

// snapshotTrends computes growth between consecutive snapshots of one
// live machine: one boot, so the change of bytes is growth itself.
func snapshotTrends(se *Series, o TrendOptions) {
	n := len(se.Snapshots)
	if n < 2 {
		se.Notes = append(se.Notes, "one snapshot: growth needs two or more")
	}
	x := func(i int) float64 { // days, or steps
		if se.PerStep {
			return float64(i)
		}
		return se.Snapshots[i].Time.Sub(se.Snapshots[0].Time).Hours() / 24
	}
	var cands candList
	rates := make([]map[seriesCand]float64, max(0, n-1))
	for i := range rates {
		rates[i] = intervalRates(se.Snapshots[i].snap, se.Snapshots[i+1].snap, x(i+1)-x(i))
		for _, paged := range []bool{false, true} {
			for _, c := range topRising(rates[i], paged, o.TopK) {
				cands.consider(c)
			}
		}
	}
	// The largest tags of the last snapshot too, so a big steady tag is
	// listed as such.
	if n > 0 {
		for _, c := range largest(se.Snapshots[n-1].snap, o.TopK) {
			cands.consider(c)
		}
	}
	for _, c := range cands.list {
		t := seriesTrend(se, c, rates, x, o)
		se.Trends = append(se.Trends, t)
	}
	se.Trends = trend.Rank(se.Trends)
}

// candList is the tags a series' trends follow, each once, in the order
// found.
type candList struct {
	list []seriesCand
	seen map[seriesCand]bool
}

func (l *candList) consider(c seriesCand) {
	if l.seen == nil {
		l.seen = map[seriesCand]bool{}
	}
	if !l.seen[c] {
		l.seen[c] = true
		l.list = append(l.list, c)
	}
}

// intervalRates are the growth rates per tag and pool from snapshot a to
// b, dx (days or steps) apart; a tag missing from either has none.
func intervalRates(a, b *snapshot.Snapshot, dx float64) map[seriesCand]float64 {
	rates := map[seriesCand]float64{}
	if dx <= 0 {
		return rates
	}
	for _, u := range b.Usages {
		for _, paged := range []bool{false, true} {
			bb, _, okB := snapshotUse(b, u.Tag, paged)
			ba, _, okA := snapshotUse(a, u.Tag, paged)
			if okA && okB {
				rates[seriesCand{u.Tag, paged}] = (float64(bb) - float64(ba)) / dx
			}
		}
	}
	return rates
}

// topRising are the k fastest-growing tags of one pool in an interval.
func topRising(rates map[seriesCand]float64, paged bool, k int) []seriesCand {
	var cs []seriesCand
	for c, r := range rates {
		if c.paged == paged && r > 0 {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(p, q int) bool {
		if rates[cs[p]] != rates[cs[q]] {
			return rates[cs[p]] > rates[cs[q]]
		}
		return cs[p].tag < cs[q].tag
	})
	return cs[:min(k, len(cs))]
}

// largest are the k largest tags of each pool in a snapshot, nonpaged
// first.
func largest(last *snapshot.Snapshot, k int) []seriesCand {
	var out []seriesCand
	us := append([]pool.Usage(nil), last.Usages...)
	for _, paged := range []bool{false, true} {
		sort.SliceStable(us, func(p, q int) bool {
			if paged {
				return us[p].PagedBytes > us[q].PagedBytes
			}
			return us[p].NonPagedBytes > us[q].NonPagedBytes
		})
		for _, u := range us[:min(k, len(us))] {
			if _, _, ok := snapshotUse(last, u.Tag, paged); ok {
				out = append(out, seriesCand{u.Tag, paged})
			}
		}
	}
	return out
}

// seriesTrend is one tag's course over the series, judged.
func seriesTrend(se *Series, c seriesCand, rates []map[seriesCand]float64, x func(int) float64, o TrendOptions) *Trend {
	t := &Trend{Tag: c.tag.Trimmed(), Pool: poolName(c.paged)}
	first, lastIdx := -1, -1
	for i, s := range se.Snapshots {
		p := Point{Time: s.Time}
		if b, out, ok := snapshotUse(s.snap, c.tag, c.paged); ok {
			p.Present, p.Bytes, p.Outstanding = true, b, out
			if first < 0 {
				first = i
			}
			lastIdx = i
		}
		t.Points = append(t.Points, p)
	}
	intervals := len(rates)
	top := 0
	for i := 0; i < intervals; i++ {
		r, ok := rates[i][c]
		if !ok {
			continue
		}
		t.WithinBoot = append(t.WithinBoot, r)
		if r > 0 && inTop(rates[i], c, c.paged, o.TopK) {
			top++
		}
	}
	if intervals > 0 {
		t.TopShare = float64(top) / float64(intervals)
	}
	if first >= 0 && lastIdx > first && x(lastIdx) > x(first) {
		t.Growth = (float64(t.Points[lastIdx].Bytes) - float64(t.Points[first].Bytes)) / (x(lastIdx) - x(first))
	}
	judgeSnapshotTrend(t, se, intervals, o)
	return t
}

func inTop(rates map[seriesCand]float64, c seriesCand, paged bool, k int) bool {
	r := rates[c]
	higher := 0
	for d, q := range rates {
		if d.paged == paged && (q > r || q == r && d.tag < c.tag) {
			higher++
		}
	}
	return higher < k
}

// unit prints a growth in the series' unit: per day, or per snapshot
// when the times are unknown.
func (se *Series) unit(v float64) string {
	if se.PerStep {
		return units.PerSnapshot(v)
	}
	return units.PerDay(v)
}

func judgeSnapshotTrend(t *Trend, se *Series, intervals int, o TrendOptions) {
	unit := se.unit
	span := "over the series"
	if !se.PerStep && len(se.Snapshots) > 1 {
		span = fmt.Sprintf("over %s", se.Snapshots[len(se.Snapshots)-1].Time.Sub(se.Snapshots[0].Time).Round(time.Minute))
	}
	t.Evidence = fmt.Sprintf("within one boot: %d snapshots %s", len(se.Snapshots), span)
	floor := o.FloorPerDay
	if se.PerStep {
		floor = 1 // times unknown: any growth in every interval counts
	}
	switch {
	case intervals < 1 || len(t.WithinBoot) == 0:
		t.Reason = "not listed in two consecutive snapshots"
	case t.Growth <= 0:
		t.Reason = fmt.Sprintf("does not grow over the series (%s)", unit(t.Growth))
	case t.Growth < floor:
		t.Reason = fmt.Sprintf("grows %s, below the floor of %s", unit(t.Growth), unit(floor))
	case t.TopShare < o.Consistency:
		t.Reason = fmt.Sprintf("grows %s, but is among the top %d growers of its pool in only %.0f%% of the intervals", unit(t.Growth), o.TopK, 100*t.TopShare)
	default:
		t.Flagged = true
		t.Reason = fmt.Sprintf("grows %s (%s), among the top %d growers of its pool in %.0f%% of the intervals", unit(t.Growth), t.Evidence, o.TopK, 100*t.TopShare)
	}
}

func poolName(paged bool) string {
	if paged {
		return "paged"
	}
	return "nonpaged"
}

// readRefusals reads HTTP.SYS error logs into refusals per hour.
func readRefusals(paths []string, ins []*input) []*RefusalLog {
	var out []*RefusalLog
	read := func(name string, open func() (io.ReadCloser, error)) {
		l := &RefusalLog{File: name}
		out = append(out, l)
		rc, err := open()
		if err != nil {
			l.Err = err.Error()
			return
		}
		defer rc.Close()
		rs, err := snapshot.ParseHTTPErr(rc, name)
		if err != nil {
			l.Err = err.Error()
			return
		}
		l.Hours = snapshot.RefusalsPerHour(rs)
		for _, h := range l.Hours {
			l.Total += h.Count
		}
	}
	seen := map[string]bool{}
	for _, p := range paths {
		seen[p] = true
		read(p, func() (io.ReadCloser, error) { return os.Open(p) })
	}
	for _, in := range ins {
		if in.member == "" && seen[in.path] {
			continue
		}
		read(in.name(), func() (io.ReadCloser, error) { return openText(in) })
	}
	return out
}
