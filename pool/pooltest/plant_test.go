package pooltest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

// TestPlant reads a planted Windows 7 x64 table back at literal offsets:
// 'ISil' hashes (multiplicatively) to 0x3C7CB506, entry 6 of a 257-entry
// table; entries are 0x28 bytes with the key at 0, NonPagedAllocs at 4,
// NonPagedFrees at 8 (4 bytes each) and NonPagedBytes at 0x10 (8 bytes).
// CPU 1's table is found through the per-CPU array, Ovfl keys the last
// entry, and a page left out of the dump takes its tags with it.
func TestPlant(t *testing.T) {
	const entry, isilAt = 0x28, 6 * 0x28
	isil, ovfl := pooltag.MustTag("ISil"), pooltag.MustTag("Ovfl")
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 2}
	spec := pooltest.TagSpec{Tag: isil, CPU: []pool.Usage{
		{NonPagedAllocs: 10, NonPagedFrees: 4, NonPagedBytes: 600},
		{NonPagedAllocs: 3, NonPagedFrees: 1, NonPagedBytes: 200},
	}}
	open := func(t *testing.T, s pooltest.Scenario) (*dumpfile.File, *pooltest.Planted) {
		t.Helper()
		b := dumptest.New(cfg)
		p, err := pooltest.Plant(b, cfg, s)
		if err != nil {
			t.Fatal(err)
		}
		f := pooltest.Open(t, b, "plant.dmp")
		return f, p
	}
	u32 := func(t *testing.T, f *dumpfile.File, va uint64) uint32 {
		t.Helper()
		v, err := f.ReadU32(va)
		if err != nil {
			t.Fatalf("at %#x: %v", va, err)
		}
		return v
	}

	t.Run("tables", func(t *testing.T) {
		f, p := open(t, pooltest.Scenario{Tags: []pooltest.TagSpec{spec}, NonPagedMax: 1 << 30})
		if p.EntrySize != entry || p.PerCPUArray == 0 {
			t.Fatalf("entry size %#x, per-CPU array %#x", p.EntrySize, p.PerCPUArray)
		}
		at := p.TableAddr + isilAt
		if k, a, fr := u32(t, f, at), u32(t, f, at+4), u32(t, f, at+8); k != 0x6C695349 || a != 10 || fr != 4 {
			t.Errorf("CPU 0 entry 6: key %#x allocs %d frees %d, want ISil 10 4", k, a, fr)
		}
		if by, err := f.ReadU64(at + 0x10); err != nil || by != 600 {
			t.Errorf("CPU 0 NonPagedBytes %d (%v), want 600", by, err)
		}
		if k := u32(t, f, p.TableAddr+256*entry); k != 0x6C66764F {
			t.Errorf("last entry key %#x, want Ovfl", k)
		}
		cpu1, err := f.ReadPointer(p.PerCPUArray + 8)
		if err != nil {
			t.Fatal(err)
		}
		if k, a := u32(t, f, cpu1+isilAt), u32(t, f, cpu1+isilAt+4); k != 0x6C695349 || a != 3 {
			t.Errorf("CPU 1 entry 6: key %#x allocs %d, want ISil 3", k, a)
		}
		want := pool.Usage{Tag: isil, NonPagedAllocs: 13, NonPagedFrees: 5, NonPagedBytes: 800}
		if p.Sums[isil] != want || p.CPU0[isil].NonPagedAllocs != 10 || p.Sums[ovfl] != (pool.Usage{Tag: ovfl}) || p.NonPagedUsed != 800 {
			t.Errorf("sums %+v, CPU 0 %+v, used %d", p.Sums, p.CPU0, p.NonPagedUsed)
		}
	})

	t.Run("absent page", func(t *testing.T) {
		f, p := open(t, pooltest.Scenario{Tags: []pooltest.TagSpec{spec}, AbsentTablePage: 1, AbsentCPUTable: 1})
		if !slices.Equal(p.DroppedTags, []pooltag.Tag{isil}) {
			t.Errorf("dropped %v, want ISil", p.DroppedTags)
		}
		if _, err := f.ReadU32(p.TableAddr + isilAt); err == nil {
			t.Error("the dropped page reads")
		}
		if u32(t, f, p.TableAddr+256*entry) != 0x6C66764F {
			t.Error("Ovfl's page, the last, is missing too")
		}
		if got := p.SumsPresent[isil]; got.NonPagedAllocs != 10 || p.Sums[isil].NonPagedAllocs != 13 {
			t.Errorf("present %+v, all %+v: CPU 1's table is absent", got, p.Sums[isil])
		}
	})

	for _, tt := range []struct {
		name string
		s    pooltest.Scenario
		want string
	}{
		{"size", pooltest.Scenario{TableSize: 100}, "table size 100 is not 2^n+1"},
		{"twice", pooltest.Scenario{Tags: []pooltest.TagSpec{spec, spec}}, "planted twice"},
		{"slots", pooltest.Scenario{PerCPUSlots: []int{0}}, "want one slot per CPU"},
		{"slot past", pooltest.Scenario{PerCPUSlots: []int{0, 4096}}, "past the 2048-slot array"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pooltest.Plant(dumptest.New(cfg), cfg, tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}
