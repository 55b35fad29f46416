package pool_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/damage"
	"github.com/poolblame/poolblame/pooltag"
)

// TestDamageFlags damages the generated samples one way at a time: every
// kind that changes the sums must be named by a failed check, and the
// HTTP.SYS claim must never rest on sums that failed one.
func TestDamageFlags(t *testing.T) {
	tests := []struct {
		sample, kind string
		flags        []string // checks that must not pass
		same         bool     // the good sample's sums are still found
	}{
		{"win2003-x86-isil", "cpus-zero", []string{pool.CheckCPUCount}, true},
		{"win2003-x86-isil", "cpus-huge", []string{pool.CheckCPUCount}, true},
		{"win2003-x86-isil", "percpu-page-zeroed", []string{pool.CheckTablePages}, false},
		{"win2003-x86-isil", "tracker-page-zeroed", []string{pool.CheckPerCPUAgree}, false},
		{"win2003-x86-isil", "max-pointer-unreadable", []string{pool.CheckNonPagedMax}, true},
		{"win2003-x86-isil", "kernbase-garbled", []string{pool.CheckKernBase}, true}, // the kernel found through the module list
		{"win2003-x86-isil", "table-size-word-zeroed", nil, true},
		{"win2003-x86-isil", "tracker-key-overwritten", []string{pool.CheckPerCPUAgree, pool.CheckTablePages}, false},
		{"win2003-x86-isil", "tracker-bytes-inflated", []string{pool.CheckNonPagedBounds}, false},
		{"win2003-x86-isil", "percpu-slot-nulled", []string{pool.CheckPerCPUTables}, true}, // the table found in memory
		{"win11-x64-ctfl", "cpus-zero", []string{pool.CheckCPUCount}, true},
		{"win11-x64-ctfl", "cpus-huge", []string{pool.CheckCPUCount}, true},
		{"win11-x64-ctfl", "percpu-page-zeroed", []string{pool.CheckTablePages}, false},
		{"win11-x64-ctfl", "tracker-page-zeroed", []string{pool.CheckPerCPUAgree}, false},
		{"win11-x64-ctfl", "max-pointer-unreadable", nil, true}, // no fixed maximum on Windows 11: nothing lost
		{"win11-x64-ctfl", "kernbase-garbled", []string{pool.CheckKernBase}, true},
		{"win11-x64-ctfl", "table-size-word-zeroed", nil, true},
		{"win11-x64-ctfl", "tracker-key-overwritten", []string{pool.CheckPerCPUAgree, pool.CheckTablePages}, false},
		{"win11-x64-ctfl", "tracker-bytes-inflated", []string{pool.CheckNonPagedBounds}, false},
		{"win11-x64-ctfl", "percpu-slot-nulled", []string{pool.CheckPerCPUTables}, true},
	}
	goods := map[string]*pool.Result{}
	for _, tt := range tests {
		t.Run(tt.sample+"/"+tt.kind, func(t *testing.T) {
			name := filepath.Join("..", "testdata", tt.sample+".dmp")
			good, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if goods[tt.sample] == nil {
				f, err := dumpfile.NewFile(name, dumpfile.Bytes(good), int64(len(good)))
				if err != nil {
					t.Fatal(err)
				}
				if goods[tt.sample], err = pool.Analyze(f); err != nil {
					t.Fatal(err)
				}
				if failed := goods[tt.sample].Failed(); len(failed) > 0 {
					t.Fatalf("the good sample fails %v", failed)
				}
			}
			k, ok := damage.ByName(tt.kind)
			if !ok {
				t.Fatalf("no damage kind %q", tt.kind)
			}
			d, err := damage.Apply(name, good, k)
			if err != nil {
				t.Fatal(err)
			}
			f, err := dumpfile.NewFile(name, dumpfile.Bytes(d), int64(len(d)))
			if err != nil {
				t.Fatal(err)
			}
			r, err := pool.Analyze(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.flags {
				c, ok := r.CheckByName(want)
				if !ok || c.Status == pool.CheckPassed {
					t.Errorf("check %s: %+v, want failed or unknown", want, c)
				}
			}
			if tt.flags == nil {
				for _, c := range r.Checks {
					if g, _ := goods[tt.sample].CheckByName(c.Name); g.Status != c.Status {
						t.Errorf("check %s went from %s to %s: %+v", c.Name, g.Status, c.Status, c)
					}
				}
			}
			g := goods[tt.sample].Limits
			if tt.same && (r.Limits.NonPagedUsed != g.NonPagedUsed || r.Limits.PagedUsed != g.PagedUsed || len(r.Usages) != len(goods[tt.sample].Usages)) {
				t.Errorf("used %d/%d, want the good sample's %d/%d", r.Limits.NonPagedUsed, r.Limits.PagedUsed, g.NonPagedUsed, g.PagedUsed)
			}
			if !tt.same && r.Limits.HTTPSysBelow {
				t.Errorf("HTTP.SYS claim made on sums that failed a check")
			}
			// The kinds that damage one entry are found there, by kind,
			// and name the tag whose entry it was.
			if want, ok := pinned[tt.kind]; ok {
				top := largestNonPaged(goods[tt.sample])
				found := false
				for _, dm := range r.Damage {
					found = found || dm.Kind == want && slices.Contains(dm.Tags, top)
				}
				if !found {
					t.Errorf("no %v damage naming %s: %+v", want, top, r.Damage)
				}
			}
			if len(goods[tt.sample].Damage) > 0 {
				t.Errorf("the good sample has damage: %+v", goods[tt.sample].Damage)
			}
		})
	}
}

// pinned are the kinds of damage pool.Damage names entry by entry.
var pinned = map[string]pool.DamageKind{
	"percpu-page-zeroed":      pool.DamageZeroedPage,
	"tracker-page-zeroed":     pool.DamageOrphan,
	"tracker-key-overwritten": pool.DamageKeyConflict,
}

func largestNonPaged(r *pool.Result) pooltag.Tag {
	var top pool.Usage
	for _, u := range r.Usages {
		if u.NonPagedBytes > top.NonPagedBytes {
			top = u
		}
	}
	return top.Tag
}
