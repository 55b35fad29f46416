package analysis

import (
	"testing"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// TestExclusion: failed sum checks are pinned to tags only when every
// failure is accounted for; the confidence the rest allows is low
// whenever the tags left out could hold the leak, and no driver is named
// when their surviving counters lead.
func TestExclusion(t *testing.T) {
	const mib = 1 << 20
	np := func(tag string, bytes, out uint64) pool.Usage {
		return pool.Usage{Tag: tagOf(tag), NonPagedAllocs: out, NonPagedBytes: bytes}
	}
	failed := func(names ...string) []pool.Check {
		var cs []pool.Check
		for _, n := range names {
			cs = append(cs, pool.Check{Name: n, Status: pool.CheckFailed})
		}
		return append(cs, pool.Check{Name: pool.CheckCounters, Status: pool.CheckPassed, MinBlock: 8})
	}
	zeroed := pool.Damage{Kind: pool.DamageZeroedPage, CPU: 1, Table: 0x2000, First: 10, Last: 20, Tags: []pooltag.Tag{tagOf("Dmgd")}}
	tests := []struct {
		name      string
		usages    []pool.Usage
		checks    []pool.Check
		damage    []pool.Damage
		faults    []string
		max       uint64
		want      bool // an exclusion is made
		couldHold bool
		leading   string // the excluded tag whose surviving counters lead
	}{
		{name: "zeroed page, the rest fills the pool: medium",
			usages: []pool.Usage{np("Dmgd", 300*mib, 10), np("Leak", 60*mib, 1000), np("Othr", 60*mib, 1000)},
			checks: failed(pool.CheckTablePages, pool.CheckNonPagedBounds), damage: []pool.Damage{zeroed},
			max: 128 * mib, want: true},
		{name: "zeroed page, room for the leak: low",
			usages: []pool.Usage{np("Dmgd", 300*mib, 10), np("Leak", 40*mib, 1000)},
			checks: failed(pool.CheckTablePages, pool.CheckNonPagedBounds), damage: []pool.Damage{zeroed},
			max: 128 * mib, want: true, couldHold: true},
		{name: "a tag above the bound puts the bound in question: low",
			usages: []pool.Usage{np("Huge", 1<<40, 10), np("Leak", 60*mib, 1000), np("Othr", 60*mib, 1000)},
			checks: failed(pool.CheckNonPagedBounds), max: 128 * mib, want: true, couldHold: true},
		{name: "a tag above the bound whose allocations alone lead: none",
			usages: []pool.Usage{np("Huge", 1<<40, 4_000_000), np("Leak", 60*mib, 1000)},
			checks: failed(pool.CheckNonPagedBounds), max: 128 * mib, want: true, couldHold: true, leading: "Huge"},
		{name: "overwritten key whose counters lead: none",
			usages: []pool.Usage{np("Zzzz", 30*mib, 10), np("Leak", 20*mib, 1000)},
			checks: failed(pool.CheckPerCPUAgree),
			damage: []pool.Damage{{Kind: pool.DamageKeyConflict, First: 5, Last: 5, Tags: []pooltag.Tag{tagOf("Zzzz"), tagOf("Real")},
				Surviving: &pool.Usage{Tag: tagOf("Real"), NonPagedAllocs: 10, NonPagedBytes: 50 * mib}}},
			max: 128 * mib, want: true, couldHold: true, leading: "Real"},
		{name: "unreachable key with no damage to explain it",
			usages: []pool.Usage{np("Leak", 60*mib, 1000)}, checks: failed(pool.CheckTablePages),
			damage: []pool.Damage{{Kind: pool.DamageUnreachable, Table: 0x1000, First: 7, Last: 7, Crossed: 3}}, max: 128 * mib},
		{name: "one CPU's table only",
			usages: []pool.Usage{np("Leak", 60*mib, 1000)}, checks: failed(pool.CheckPerCPUTables, pool.CheckTablePages),
			damage: []pool.Damage{zeroed}, max: 128 * mib},
		{name: "the rest still above the bound",
			usages: []pool.Usage{np("Dmgd", 300*mib, 10), np("Leak", 100*mib, 1000), np("Othr", 100*mib, 1000)},
			checks: failed(pool.CheckTablePages, pool.CheckNonPagedBounds), damage: []pool.Damage{zeroed}, max: 128 * mib},
		{name: "counters broken by tags the damage does not name",
			usages: []pool.Usage{np("Dmgd", 3*mib, 10), np("Leak", 60*mib, 1000), np("Othr", 6*mib, 100)},
			checks: failed(pool.CheckTablePages, pool.CheckCounters), damage: []pool.Damage{zeroed},
			faults: []string{"Leak", "Othr"}, max: 128 * mib},
		{name: "counters broken by the damaged tag alone",
			usages: []pool.Usage{np("Dmgd", 3*mib, 10), np("Leak", 60*mib, 1000), np("Othr", 6*mib, 100)},
			checks: failed(pool.CheckTablePages, pool.CheckCounters), damage: []pool.Damage{zeroed},
			faults: []string{"Dmgd"}, max: 128 * mib, want: true, couldHold: true},
		{name: "no bound to rank a damaged pool against, and its check failed",
			usages: []pool.Usage{np("Dmgd", 300*mib, 10), np("Leak", 60*mib, 1000)},
			checks: failed(pool.CheckTablePages, pool.CheckNonPagedBounds), damage: []pool.Damage{zeroed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pool.Result{Usages: tt.usages, Checks: tt.checks, Damage: tt.damage, PerCPU: []uint64{0x1000, 0x2000}}
			for _, f := range tt.faults {
				p.CounterFaults = append(p.CounterFaults, tagOf(f))
			}
			p.Limits.NonPagedMax = tt.max
			e := exclusion(p, Machine{CPUs: 2}, newRates(0, 0, nil), DefaultLeading)
			if (e != nil) != tt.want {
				t.Fatalf("exclusion %+v, want one: %v", e, tt.want)
			}
			if e == nil {
				return
			}
			if e.CouldHoldLeak != tt.couldHold {
				t.Errorf("could hold the leak: %v, want %v (room %d of %d)", e.CouldHoldLeak, tt.couldHold, e.NonPaged.Room, e.NonPaged.Bound)
			}
			switch {
			case tt.leading == "" && e.Leading != nil:
				t.Errorf("leading %s, want none", e.Leading.Tag)
			case tt.leading != "" && (e.Leading == nil || e.Leading.Tag != tagOf(tt.leading)):
				t.Errorf("leading %+v, want %s", e.Leading, tt.leading)
			}
			if len(e.NonPaged.Rows) == 0 || e.Excluded(e.NonPaged.Rows[0].Tag) {
				t.Errorf("rows %+v lead with an excluded tag", e.NonPaged.Rows)
			}
		})
	}
}
