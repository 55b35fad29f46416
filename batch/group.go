package batch

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/poolblame/poolblame/units"
)

// vistaBuild is the first build whose kernel loads at a random base on
// every boot: from it on, KernBase tells boots apart, not machines.
const vistaBuild = 6000

// machineKey is what a dump proves about its machine.
type machineKey struct {
	build    uint32
	arch     string
	cpus     int
	phys     uint64
	kernBase uint64 // before Vista only
}

func keyOf(d *DumpRecord) machineKey {
	k := machineKey{build: d.Build, arch: d.Arch, cpus: d.CPUs, phys: d.PhysicalBytes}
	if d.Build < vistaBuild {
		k.kernBase = d.kernBase
	}
	return k
}

func factsName(d *DumpRecord) string {
	rel := d.Release
	if rel == "" {
		rel = "Windows"
	}
	mem := units.Bytes(d.PhysicalBytes) + " memory"
	if d.PhysicalBytes == 0 {
		mem = "memory size unknown"
	}
	return fmt.Sprintf("%s build %d %s, %d CPUs, %s", rel, d.Build, d.Arch, d.CPUs, mem)
}

// groupable reports whether a record carries the facts grouping needs.
func groupable(d *DumpRecord) bool {
	return d.Status == StatusOK || d.Status == StatusPartial || d.Status == StatusNoPool
}

// groupDumps puts the readable dumps into machine groups, orders each by
// system time and numbers its boots. Group ids follow the order of the
// groups' first dumps.
func groupDumps(recs []*DumpRecord, by GroupBy) []*Group {
	var readable []*DumpRecord
	for _, d := range recs {
		if groupable(d) {
			readable = append(readable, d)
		}
	}
	bs := &buckets{idx: map[string]*bucket{}}
	switch by {
	case GroupNone:
		for _, d := range readable {
			bs.add("", "all dumps", "", d)
		}
	case GroupFolder:
		bs.byFolder(readable)
	default:
		bs.byFacts(readable)
	}
	groups := make([]*Group, 0, len(bs.list))
	for _, b := range bs.list {
		g := &Group{Name: b.name, Folder: b.folder, Dumps: b.dumps, Notes: b.notes}
		sortByTime(g.Dumps)
		g.Boots = assignBoots(g.Dumps)
		groups = append(groups, g)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		return firstTime(groups[i]).Before(firstTime(groups[j]))
	})
	for i, g := range groups {
		g.ID = fmt.Sprintf("g%d", i+1)
		for _, d := range g.Dumps {
			d.Group = g.ID
		}
	}
	return groups
}

// bucket is a group in the making.
type bucket struct {
	name   string
	folder string
	dumps  []*DumpRecord
	notes  []string
}

// buckets are the groups in the making, in the order of their first dumps.
type buckets struct {
	idx  map[string]*bucket
	list []*bucket
}

func (bs *buckets) add(key, name, folder string, d *DumpRecord) {
	b := bs.idx[key]
	if b == nil {
		b = &bucket{name: name, folder: folder}
		bs.idx[key] = b
		bs.list = append(bs.list, b)
	}
	b.dumps = append(b.dumps, d)
}

// byFolder makes one group per folder, noting folders whose dumps come
// from several machines.
func (bs *buckets) byFolder(ds []*DumpRecord) {
	for _, d := range ds {
		bs.add(d.Folder, d.Folder, d.Folder, d)
	}
	for _, b := range bs.list {
		keys := map[machineKey]bool{}
		for _, d := range b.dumps {
			keys[keyOf(d)] = true
		}
		if len(keys) > 1 {
			b.notes = append(b.notes, fmt.Sprintf("the dumps in this folder come from %d different builds or hardware configurations; their trends mix machines", len(keys)))
		}
	}
}

// byFacts makes one group per machine's facts, split by folder when
// folders of equal facts overlap in time.
func (bs *buckets) byFacts(ds []*DumpRecord) {
	byFacts := map[machineKey][]*DumpRecord{}
	var order []machineKey
	for _, d := range ds {
		k := keyOf(d)
		if byFacts[k] == nil {
			order = append(order, k)
		}
		byFacts[k] = append(byFacts[k], d)
	}
	order = mergeUnknownMemory(byFacts, order)
	for i, k := range order {
		ds := byFacts[k]
		name := factsName(ds[0])
		split, note := foldersOverlap(ds)
		for _, d := range ds {
			if split {
				bs.add(fmt.Sprint(i, "\x00", d.Folder), name+" in "+d.Folder, d.Folder, d)
			} else {
				bs.add(fmt.Sprint(i), name, "", d)
			}
		}
		if n := countNoMemory(ds); n > 0 && n < len(ds) {
			joined := fmt.Sprintf("%d of these dumps describe no physical memory (triage dumps): joined to this machine by build, architecture and CPU count", n)
			if note != "" {
				joined = note + "; " + joined
			}
			note = joined
		}
		if note != "" {
			bs.noteFacts(k, note)
		}
	}
}

// noteFacts adds note to the groups whose first dump has the facts k.
func (bs *buckets) noteFacts(k machineKey, note string) {
	for _, b := range bs.list {
		if len(b.dumps) > 0 && keyOf(b.dumps[0]) == k {
			b.notes = append(b.notes, note)
		}
	}
}

func countNoMemory(ds []*DumpRecord) int {
	n := 0
	for _, d := range ds {
		if d.PhysicalBytes == 0 {
			n++
		}
	}
	return n
}

// mergeUnknownMemory joins dumps that describe no physical memory (triage
// dumps) to the one group whose other facts they share; with several
// such groups they stay apart, as nothing says which machine they are.
func mergeUnknownMemory(byFacts map[machineKey][]*DumpRecord, order []machineKey) []machineKey {
	var out []machineKey
	for _, k := range order {
		if k.phys != 0 {
			out = append(out, k)
			continue
		}
		var match []machineKey
		for _, o := range order {
			if o.phys != 0 && o.build == k.build && o.arch == k.arch && o.cpus == k.cpus && o.kernBase == k.kernBase {
				match = append(match, o)
			}
		}
		if len(match) != 1 {
			out = append(out, k)
			continue
		}
		byFacts[match[0]] = append(byFacts[match[0]], byFacts[k]...)
		delete(byFacts, k)
	}
	return out
}

// foldersOverlap decides whether dumps with equal facts in several
// folders are several machines: they are when the folders' time spans
// overlap, as one machine's dumps cannot interleave with another
// sequence of its own.
func foldersOverlap(ds []*DumpRecord) (bool, string) {
	type span struct{ lo, hi time.Time }
	spans := map[string]*span{}
	var folders []string
	for _, d := range ds {
		s := spans[d.Folder]
		if s == nil {
			s = &span{}
			spans[d.Folder] = s
			folders = append(folders, d.Folder)
		}
		if d.SystemTime.IsZero() {
			continue
		}
		if s.lo.IsZero() || d.SystemTime.Before(s.lo) {
			s.lo = d.SystemTime
		}
		if d.SystemTime.After(s.hi) {
			s.hi = d.SystemTime
		}
	}
	if len(folders) < 2 {
		return false, ""
	}
	sort.Strings(folders)
	for i, a := range folders {
		for _, b := range folders[i+1:] {
			sa, sb := spans[a], spans[b]
			if sa.lo.IsZero() || sb.lo.IsZero() {
				continue
			}
			if !sa.lo.After(sb.hi) && !sb.lo.After(sa.hi) {
				return true, fmt.Sprintf("dumps with these facts lie in %d folders whose times overlap (%s and %s): taken as different machines, one per folder", len(folders), a, b)
			}
		}
	}
	return false, fmt.Sprintf("dumps with these facts lie in %d folders one after another in time (%s): taken as one machine", len(folders), strings.Join(folders, ", "))
}

func sortByTime(ds []*DumpRecord) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].SystemTime, ds[j].SystemTime
		if a.IsZero() != b.IsZero() {
			return !a.IsZero() // dumps without a time last
		}
		return a.Before(b)
	})
}

func firstTime(g *Group) time.Time {
	if len(g.Dumps) == 0 {
		return time.Time{}
	}
	return g.Dumps[0].SystemTime
}

// assignBoots numbers the boots of time-ordered dumps and returns how
// many there are.
func assignBoots(ds []*DumpRecord) int {
	boot := 0
	for i, d := range ds {
		if i == 0 || !sameBoot(ds[i-1], d) {
			boot++
		}
		d.Boot = boot
	}
	return boot
}

// sameBoot reports whether two dumps, a before b, were taken in one boot:
// their boot moments agree, and KernBase (randomised per boot from Vista
// on) and BootId do not contradict it.
func sameBoot(a, b *DumpRecord) bool {
	if a.SystemTime.IsZero() || b.SystemTime.IsZero() || a.UptimeSeconds <= 0 || b.UptimeSeconds <= 0 {
		return false
	}
	if a.BootID != 0 && b.BootID != 0 && a.BootID != b.BootID {
		return false
	}
	if a.Build >= vistaBuild && a.kernBase != 0 && b.kernBase != 0 && a.kernBase != b.kernBase {
		return false
	}
	bootA := a.SystemTime.Add(-seconds(a.UptimeSeconds))
	bootB := b.SystemTime.Add(-seconds(b.UptimeSeconds))
	elapsed := b.SystemTime.Sub(a.SystemTime)
	if elapsed <= 0 {
		return false
	}
	tol := max(5*time.Minute, elapsed/50)
	diff := bootA.Sub(bootB)
	return diff <= tol && diff >= -tol
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
