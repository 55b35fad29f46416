package pool_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

// layoutCase is one row of the tracker layout table, on a machine that uses it.
type layoutCase struct {
	name  string
	arch  dumpfile.Arch
	build uint32
	size  int // expected entry size
}

var layoutCases = []layoutCase{
	{"XP x86", dumpfile.ArchX86, 2600, 0x1C},
	{"2003 x86 PAE", dumpfile.ArchX86PAE, 3790, 0x1C},
	{"7 x64", dumpfile.ArchAMD64, 7601, 0x28},
	{"10 1709 x64", dumpfile.ArchAMD64, 16299, 0x38},
	{"10 19041 x64", dumpfile.ArchAMD64, 19041, 0x38},
	{"10 19041 x86", dumpfile.ArchX86PAE, 19041, 0x30},
	{"x86 21292", dumpfile.ArchX86PAE, 21292, 0x40},
	{"11 x64", dumpfile.ArchAMD64, 22621, 0x50},
	{"11 arm64", dumpfile.ArchARM64, 22000, 0x50},
}

// scenarioTags: leaks in both pools, churn freed on another CPU, and
// enough tags to make the hash collide in a 257-entry table.
func scenarioTags(cpus int) []pooltest.TagSpec {
	tags := []pooltest.TagSpec{
		pooltest.Leak("ISil", false, 80939, 453, 1327427, cpus),
		pooltest.Leak("I100", false, 80909, 183, 10967968, cpus),
		pooltest.Leak("CM31", true, 1200, 4096, 50000, cpus),
		pooltest.Leak("Mm", false, 24, 15828, 2, cpus),
	}
	for i := 0; i < 60; i++ {
		tags = append(tags, pooltest.Leak(fmt.Sprintf("T%03d", i), i%2 == 0, uint64(i+1), 64, uint64(i*10), cpus))
	}
	return tags
}

func plantAndAnalyze(t *testing.T, cfg dumptest.Config, s pooltest.Scenario) (*pool.Result, *pooltest.Planted) {
	t.Helper()
	b := dumptest.New(cfg)
	p, err := pooltest.Plant(b, cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	f := pooltest.Open(t, b, "pool.dmp")
	r, err := pool.Analyze(f)
	if err != nil {
		t.Fatal(err)
	}
	return r, p
}

func checkSums(t *testing.T, r *pool.Result, want map[pooltag.Tag]pool.Usage, skip map[pooltag.Tag]bool) {
	t.Helper()
	got := map[pooltag.Tag]pool.Usage{}
	for _, u := range r.Usages {
		got[u.Tag] = u
	}
	for tag, w := range want {
		if skip[tag] {
			if _, ok := got[tag]; ok {
				t.Errorf("tag %s from an unreadable page was reported", tag)
			}
			continue
		}
		if g, ok := got[tag]; !ok || g != w {
			t.Errorf("tag %s: got %+v, want %+v", tag, g, w)
		}
	}
	for tag := range got {
		if _, ok := want[tag]; !ok {
			t.Errorf("tag %s was not planted", tag)
		}
	}
}

func TestLayoutsAndCPUs(t *testing.T) {
	for _, lc := range layoutCases {
		for _, cpus := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/%dcpu", lc.name, cpus), func(t *testing.T) {
				cfg := dumptest.Config{Arch: lc.arch, Build: lc.build, CPUs: uint32(cpus), Type: dumpfile.TypeBitmapFull, Seed: 3}
				r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{Tags: scenarioTags(cpus), NonPagedMax: 128 << 20, PagedMax: 256 << 20})
				if r.Layout.EntrySize != lc.size || r.Global.Size != 257 || r.Global.Addr != p.TableAddr {
					t.Errorf("layout %s size %d at %#x", r.Layout.Name, r.Global.Size, r.Global.Addr)
				}
				if !strings.Contains(r.Global.SizeSource, "PoolTrackTableSize") {
					t.Errorf("size from %q", r.Global.SizeSource)
				}
				if cpus > 1 && (len(r.PerCPU) != cpus || r.PerCPUArray != p.PerCPUArray || r.OneCPUOnly) {
					t.Errorf("per-CPU tables %d at %#x (want %#x), one-CPU-only %v; notes %q", len(r.PerCPU), r.PerCPUArray, p.PerCPUArray, r.OneCPUOnly, r.Notes)
				}
				if r.Partial {
					t.Errorf("partial: %q", r.Missing)
				}
				checkSums(t, r, p.Sums, nil)
				// 64-bit 8.1 and later have no fixed maximum: the KDBG
				// variables are not limits there, physical memory is.
				wantNP, wantP := uint64(128<<20), uint64(256<<20)
				if modern := lc.arch.Is64() && lc.build >= 9600; modern {
					wantNP, wantP = 0, 0
					if !r.Limits.NoFixedMax || r.Limits.PhysicalBytes == 0 {
						t.Errorf("modern build: no fixed maximum %v, physical %d", r.Limits.NoFixedMax, r.Limits.PhysicalBytes)
					}
				}
				if r.Limits.NonPagedUsed != p.NonPagedUsed || r.Limits.PagedUsed != p.PagedUsed ||
					r.Limits.NonPagedMax != wantNP || r.Limits.PagedMax != wantP {
					t.Errorf("limits %+v", r.Limits)
				}
				if f := r.Failed(); len(f) > 0 {
					t.Errorf("checks failed on a good dump: %v (%+v)", f, r.Checks)
				}
			})
		}
	}
}

// Without ExPoolTagTables, the other CPUs' tables are looked for in
// memory: found, they are summed and the check says how they were found;
// not in the dump at all, a multi-processor dump must say loudly that its
// figures cover one CPU, and show that CPU's table as it is.
func TestPerCPUMissing(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 4, Type: dumpfile.TypeBitmapFull}
	t.Run("found in memory", func(t *testing.T) {
		r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{Tags: scenarioTags(4), HidePerCPU: true})
		if r.OneCPUOnly || len(r.PerCPU) != 4 {
			t.Fatalf("one-CPU-only %v, per-CPU %d", r.OneCPUOnly, len(r.PerCPU))
		}
		checkSums(t, r, p.Sums, nil)
		c, _ := r.CheckByName(pool.CheckPerCPUTables)
		if c.Status != pool.CheckUnknown || c.Outcome != pool.PerCPUFoundInMemory || len(c.Found) != 3 {
			t.Errorf("check %+v, want unknown, naming the scan", c)
		}
	})
	t.Run("not in the dump", func(t *testing.T) {
		r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{Tags: scenarioTags(4), HidePerCPU: true, DropPerCPU: true})
		if !r.OneCPUOnly || len(r.PerCPU) != 0 {
			t.Fatalf("one-CPU-only %v, per-CPU %d", r.OneCPUOnly, len(r.PerCPU))
		}
		checkSums(t, r, p.CPU0, nil)
		if r.CPUs != 4 {
			t.Errorf("CPUs %d, want 4: the warning names them", r.CPUs)
		}
	})
}

func TestSizeInference(t *testing.T) {
	for _, sw := range []struct {
		name string
		w    pooltest.SizeWord
	}{{"garbage", pooltest.SizeWordGarbage}, {"wrong", pooltest.SizeWordWrong}} {
		t.Run(sw.name, func(t *testing.T) {
			cfg := dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790, CPUs: 1, Type: dumpfile.TypeFull}
			r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{TableSize: 513, Tags: scenarioTags(1), SizeWord: sw.w})
			if r.Global.Size != 513 || !strings.Contains(r.Global.SizeSource, "inferred") {
				t.Errorf("size %d from %q", r.Global.Size, r.Global.SizeSource)
			}
			checkSums(t, r, p.Sums, nil)
		})
	}
}

func TestAbsentTrackerPage(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 1, Type: dumpfile.TypeBitmapFull}
	r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{TableSize: 513, Tags: scenarioTags(1), AbsentTablePage: 2})
	if !r.Partial || len(p.DroppedTags) == 0 {
		t.Fatalf("partial %v, dropped %d", r.Partial, len(p.DroppedTags))
	}
	skip := map[pooltag.Tag]bool{}
	for _, tag := range p.DroppedTags {
		skip[tag] = true
	}
	checkSums(t, r, p.Sums, skip)
	if !strings.Contains(strings.Join(r.Missing, ";"), "absent from the dump") {
		t.Errorf("missing %q does not say why", r.Missing)
	}
}

func TestNoPoolData(t *testing.T) {
	// A dump whose KDBG has no PoolTrackTable: nothing can be said.
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeBitmapFull})
	f := pooltest.Open(t, b, "x.dmp")
	if _, err := pool.Analyze(f); !errors.Is(err, pool.ErrNoPoolData) {
		t.Errorf("got %v, want ErrNoPoolData", err)
	}
}

// A full table: the kernel puts new tags in the expansion table.
func TestExpansionTable(t *testing.T) {
	var tags []pooltest.TagSpec
	for i := 0; i < 64; i++ { // 65 entries: 64 slots and the Ovfl sentinel
		tags = append(tags, pooltest.Leak(fmt.Sprintf("F%03d", i), false, uint64(i+1), 32, 5, 1))
	}
	overflow := []pooltest.TagSpec{pooltest.Leak("Xp01", false, 7, 100, 0, 1), pooltest.Leak("Xp02", true, 9, 200, 3, 1)}
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 1, Type: dumpfile.TypeFull}
	r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{TableSize: 65, Tags: tags, Overflow: overflow})
	if r.Expansion == nil || r.Expansion.Addr != p.Expansion || r.Partial {
		t.Fatalf("expansion %+v partial %v %q", r.Expansion, r.Partial, r.Missing)
	}
	checkSums(t, r, p.Sums, nil)
}

// The scenario must really exercise linear probing: some keys sit past
// their hash slot.
func TestCollisionsHappen(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchX86, Build: 2600, CPUs: 1, Type: dumpfile.TypeFull}
	r, _ := plantAndAnalyze(t, cfg, pooltest.Scenario{Tags: scenarioTags(1)})
	moved := 0
	for i, u := range r.Global.Entries() {
		if u.Tag != 0 && i < r.Global.Size-1 && int(pool.HashWRK(uint32(u.Tag))&uint32(r.Global.Size-2)) != i {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no key collided: the probing path is untested")
	}
	if r.Global.Hash != "WRK" {
		t.Errorf("XP keys agree with hash %q, want WRK", r.Global.Hash)
	}
}

// What cannot be read is said, and nothing is invented.
func TestUnreadableTracker(t *testing.T) {
	tests := []struct {
		name  string
		build uint32
		patch func(b *dumptest.Builder)
		want  string
	}{
		{"table pointer not mapped", 19041, func(b *dumptest.Builder) {
			v := b.KernelVar(8)
			b.PutPtr(v, b.UnmappedAddr())
			b.SetKDBG(dumptest.KDBGPoolTrackTable, v)
		}, "pool tracker table at"},
		{"variable not mapped", 19041, func(b *dumptest.Builder) {
			b.SetKDBG(dumptest.KDBGPoolTrackTable, b.UnmappedAddr())
		}, "nt!PoolTrackTable variable at"},
		{"table pointer NULL", 19041, func(b *dumptest.Builder) {
			b.SetKDBG(dumptest.KDBGPoolTrackTable, b.KernelVar(8))
		}, "is NULL"},
		{"unknown build", 1381, nil, "no pool tracker layout known for build 1381"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: tt.build, CPUs: 1, Type: dumpfile.TypeBitmapFull}
			b := dumptest.New(cfg)
			if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: scenarioTags(1)}); err != nil && tt.patch != nil {
				t.Fatal(err)
			}
			if tt.patch != nil {
				tt.patch(b)
			}
			f := pooltest.Open(t, b, "x.dmp")
			_, err := pool.Analyze(f)
			if !errors.Is(err, pool.ErrNoPoolData) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrNoPoolData saying %q", err, tt.want)
			}
		})
	}
}

// ExPoolTagTables names a table the dump does not hold: the other CPUs
// are summed and the result says whose counts are missing.
func TestAbsentCPUTable(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 22621, CPUs: 4, Type: dumpfile.TypeBitmapFull}
	r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{Tags: scenarioTags(4), AbsentCPUTable: 2})
	if r.OneCPUOnly || len(r.PerCPU) != 4 || len(r.MissingCPUs) != 1 || r.MissingCPUs[0] != 2 || !r.Partial {
		t.Fatalf("one-CPU %v, per-CPU %d, missing %v, partial %v; notes %q", r.OneCPUOnly, len(r.PerCPU), r.MissingCPUs, r.Partial, r.Notes)
	}
	checkSums(t, r, p.SumsPresent, nil)
	if !strings.Contains(strings.Join(r.Missing, ";"), "table of CPU 2 is not in the dump") {
		t.Errorf("missing %q", r.Missing)
	}
}

// Windows 11's ExPoolTagTables has 2048 slots, NULL for absent
// processors; with processor groups the tables are not contiguous. The
// kernel's own query skips NULL slots one by one: so must the reader,
// summing every table and saying which CPUs had one.
func TestPerCPUGaps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		arch  dumpfile.Arch
		build uint32
		slots []int
	}{
		{"11 x64, two groups", dumpfile.ArchAMD64, 22621, []int{0, 1, 64, 65}},
		{"11 arm64, scattered", dumpfile.ArchARM64, 22000, []int{0, 3, 7, 2047}},
		{"11 x64, contiguous", dumpfile.ArchAMD64, 22621, []int{0, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := dumptest.Config{Arch: tc.arch, Build: tc.build, CPUs: 4, Type: dumpfile.TypeBitmapFull, Seed: 11}
			r, p := plantAndAnalyze(t, cfg, pooltest.Scenario{Tags: scenarioTags(4), PerCPUSlots: tc.slots})
			if fmt.Sprint(r.TableCPUs) != fmt.Sprint(tc.slots) || len(r.PerCPU) != 4 || r.PerCPUArray != p.PerCPUArray || r.OneCPUOnly {
				t.Errorf("tables of CPUs %v (want %v), array %#x (want %#x), one CPU only %v; notes %q", r.TableCPUs, tc.slots, r.PerCPUArray, p.PerCPUArray, r.OneCPUOnly, r.Notes)
			}
			checkSums(t, r, p.Sums, nil)
			if c, _ := r.CheckByName(pool.CheckPerCPUTables); c.Status != pool.CheckPassed {
				t.Errorf("per-CPU check %+v", c)
			}
			if f := r.Failed(); len(f) > 0 {
				t.Errorf("failed checks %v", f)
			}
		})
	}
}
