package report

import (
	"errors"
	"testing"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// TestCheckDetail: every outcome of a pool data check is worded, from its
// figures alone.
func TestCheckDetail(t *testing.T) {
	tests := []struct {
		c    pool.Check
		want string
	}{
		{pool.Check{Outcome: pool.CPUCountNotBelieved, NumberProcessors: 0xFFFFFFFF, Of: 2048},
			"NumberProcessors is 4294967295, not 1 to 2048: the CPU count is unknown and per-CPU tables are looked for anyway"},
		{pool.Check{Outcome: pool.PerCPUFewerTables, CPUs: []int{0, 1, 2, 3, 64, 65}, Array: 0x8000, N: 6, Of: 8, Missing: []int{4, 5}},
			"tables of CPUs 0-3, 64-65 found in ExPoolTagTables at 0x8000; 6 tables for 8 CPUs: no table for CPU numbers 4-5 (the kernel's own query skips NULL slots too), so any counts of the missing CPUs are unaccounted for"},
		{pool.Check{Outcome: pool.PerCPUFoundInMemory, N: 1, Found: []uint64{0x1000}, Err: errors.New("unused")},
			"ExPoolTagTables was not found; the other 1 CPUs' tables were found by scanning memory (0x1000), agree with the global table key by key and were summed: which CPU each belongs to is not known"},
		{pool.Check{Outcome: pool.PagesDamaged, Pages: []pool.Damage{
			{Kind: pool.DamageZeroedPage, CPU: 0, Table: 0x1000, Page: 1, PageAddr: 0x2000, Odds: 1e-9},
			{Kind: pool.DamageUnreachable, CPU: 0, Table: 0x1000, Page: 2, PageAddr: 0x3000},
			{Kind: pool.DamageUnreachable, CPU: 0, Table: 0x1000, Page: 2, PageAddr: 0x3000},
			{Kind: pool.DamageZeroedPage, CPU: 1, Table: 0x9000, Page: 0, PageAddr: 0x9000, Odds: 0},
			{Kind: pool.DamageZeroedPage, CPU: -1, Table: 0xA000, Page: 3, PageAddr: 0xD000, Odds: 0},
		}}, "global table page 1 (at 0x2000) is all zero where the rest of the table is full (odds 1e-09); " +
			"global table page 2 (at 0x3000): 2 keys placed after it are unreachable from their hash slots across its empty slots; " +
			"CPU 1 table page 0 (at 0x9000) is all zero where the rest of the table is full (odds 0e+00); " +
			"table at 0xa000 (found in memory) page 3 (at 0xd000) is all zero where the rest of the table is full (odds 0e+00)"},
		{pool.Check{Outcome: pool.CountersBroken, N: 4, Of: 10, Faults: []pool.CounterFault{
			{Tag: pooltag.MustTag("Abcd"), Rule: pool.FreesExceedAllocs, Allocs: 1, Frees: 2},
			{Tag: pooltag.MustTag("Efgh"), Paged: true, Rule: pool.BytesWithNothingHeld, Allocs: 3, Frees: 3, Bytes: 64},
			{Tag: pooltag.MustTag("Ijkl"), Rule: pool.BytesBelowSmallest, Allocs: 5, Frees: 1, Bytes: 8},
		}}, "4 of 10 tags break the tracker's counting rules (Abcd: nonpaged frees 2 > allocs 1; Efgh: paged 64 bytes with nothing outstanding; Ijkl: nonpaged 8 bytes for 4 outstanding)"},
		{pool.Check{Name: pool.CheckPagedBounds, Outcome: pool.BoundsAbove, Used: 3 << 20, Max: 2 << 20},
			"paged use 3.0 MiB is above its maximum 2.0 MiB (150%): the tracker sums cannot be right"},
		{pool.Check{Name: pool.CheckNonPagedMax, Outcome: pool.MaxUnknown, Source: "KDBG pointer unreadable"},
			"maximum unknown on a build that has one: KDBG pointer unreadable"},
	}
	for _, tt := range tests {
		if got := checkDetail(tt.c); got != tt.want {
			t.Errorf("outcome %d:\n got %q\nwant %q", tt.c.Outcome, got, tt.want)
		}
	}
	for o := pool.OutcomeNone + 1; o <= pool.SnapshotAbove; o++ {
		c := pool.Check{Outcome: o, Err: errors.New("e"), ModuleErr: errors.New("m"), Source: "s",
			Pages: []pool.Damage{{Kind: pool.DamageZeroedPage}}}
		if checkDetail(c) == "" {
			t.Errorf("outcome %d is not worded", o)
		}
	}
}
