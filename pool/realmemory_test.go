package pool_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pool"
)

// The facts of ../shared/realdata/memory/README.md, from the real pages:
// on a real Windows 10 1809 kernel the table size is not beside the
// table, and only a few of its pages are present. The reader must infer
// the size exactly, list what the present pages hold, name what is
// absent and never give the partial sums as the whole.
func TestRealSparseTrackerTable(t *testing.T) {
	type row struct {
		index                     int
		tag                       string
		npA, npF, npB, pA, pF, pB uint64
	}
	tests := []struct {
		which   string
		table   uint64
		present []int // pages of the table in the dump
		keyed   int   // entries on page 15 with a key
		rows    []row
	}{
		{"a", 0xffffe38f36402000, []int{15, 16, 28, 31, 51}, 41, []row{
			{1098, "MbmU", 67, 7, 26048, 21, 19, 256},
			{1101, "Avpn", 38, 28, 640, 0, 0, 0},
			{1102, "User", 66, 17, 8128, 0, 0, 0},
			{1104, "EMpr", 0, 0, 0, 13, 0, 864},
			{1106, "Ntfu", 2, 0, 192, 0, 0, 0},
			{1108, "CM66", 0, 0, 0, 90441, 90441, 0},
		}},
		{"b", 0xffffd00834e02000, []int{15, 16, 28, 31, 51}, 44, []row{
			{1098, "MbmU", 67, 7, 26048, 21, 19, 256},
			{1101, "Avpn", 36, 26, 640, 0, 0, 0},
			{1102, "User", 67, 22, 7360, 0, 0, 0},
			{1104, "EMpr", 0, 0, 0, 13, 0, 864},
			{1106, "Ntfu", 2, 0, 192, 0, 0, 0},
			{1108, "CM66", 0, 0, 0, 95667, 95667, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.which, func(t *testing.T) {
			r, err := pool.Analyze(realdata.RewindFile(t, tt.which))
			if err != nil {
				t.Fatal(err)
			}
			g := r.Global
			// 4097 entries: the only 2^n+1 whose keys all sit at their
			// hash slots (225 keys, none out of place; 8193 has 177).
			if g.Addr != tt.table || g.Size != 4097 || g.Layout.EntrySize != 0x38 || !strings.Contains(g.SizeSource, "inferred") {
				t.Errorf("table %#x, %d entries of %#x, size %q", g.Addr, g.Size, g.Layout.EntrySize, g.SizeSource)
			}
			if !strings.Contains(strings.Join(r.Notes, "\n"), "is not a table size") {
				t.Errorf("the zero word before nt!PoolTrackTable is not named: %q", r.Notes)
			}
			es := g.Entries()
			pageRead := func(p int) bool {
				for i := p * dumpfile.PageSize / 0x38; i < (p+1)*dumpfile.PageSize/0x38 && i < g.Size; i++ {
					if u := es[i]; u.Tag != 0 {
						return true
					}
				}
				return false
			}
			for p := 0; p*dumpfile.PageSize < g.Size*0x38; p++ {
				want := false
				for _, q := range tt.present {
					want = want || q == p
				}
				if got := pageRead(p); got != want {
					t.Errorf("page %d: read %v, want %v", p, got, want)
				}
			}
			keyed := 0
			for i := 15 * dumpfile.PageSize / 0x38; i < 16*dumpfile.PageSize/0x38; i++ {
				if es[i].Tag != 0 {
					keyed++
				}
			}
			// Entries straddling the page's edges are not wholly on it.
			if keyed < tt.keyed-2 || keyed > tt.keyed {
				t.Errorf("%d keyed entries on page 15, README says %d", keyed, tt.keyed)
			}
			for _, w := range tt.rows {
				u := es[w.index]
				if u.Tag.String() != w.tag || u.NonPagedAllocs != w.npA || u.NonPagedFrees != w.npF || u.NonPagedBytes != w.npB ||
					u.PagedAllocs != w.pA || u.PagedFrees != w.pF || u.PagedBytes != w.pB {
					t.Errorf("entry %d: %+v, want %+v", w.index, u, w)
				}
			}
			// Never the whole: partial, a lower bound, the absent ranges named.
			if !r.Partial || !r.Limits.UsedLowerBound || r.TableCoverage >= 0.2 {
				t.Errorf("partial %v, lower bound %v, coverage %.2f", r.Partial, r.Limits.UsedLowerBound, r.TableCoverage)
			}
			missing := strings.Join(r.Missing, "\n")
			if !strings.Contains(missing, fmt.Sprintf("bytes at %#x: physical page absent", tt.table)) || !strings.Contains(missing, "left out, not counted as zero") {
				t.Errorf("absent ranges not named: %q", r.Missing)
			}
			if c, _ := r.CheckByName(pool.CheckTableComplete); c.Status != pool.CheckUnknown || c.Outcome != pool.TablesMissingEntries || c.N == 0 {
				t.Errorf("completeness check: %+v", c)
			}
			// Windows 10 x64 has no fixed maximum: no percent of a maximum.
			if !r.Limits.NoFixedMax || r.Limits.NonPagedMax != 0 || r.Limits.PagedMax != 0 || r.Limits.NonPagedPercent() != -1 {
				t.Errorf("limits %+v", r.Limits)
			}
			if f := r.Failed(); len(f) > 0 {
				t.Errorf("real data fails checks %v: %+v", f, r.Checks)
			}
		})
	}
}

// The real 1809 pages hold no session space a reader could reach:
// PsActiveProcessHead is present but the System EPROCESS it links to is
// not (and no present page holds win32k session tags at tracker entry
// boundaries), so no EPROCESS.Session and no session page tables can be
// found. The reader must stop at that page and name it in its one line,
// not report an empty session pool.
func TestRealSessionPool(t *testing.T) {
	for _, tt := range []struct {
		which  string
		system uint64 // PsActiveProcessHead's Flink - ActiveProcessLinks (0x2E8)
	}{
		{"a", 0xffffe38f36461040},
		{"b", 0xffffd00834e5c040},
	} {
		t.Run(tt.which, func(t *testing.T) {
			got := pool.ReadSessions(realdata.RewindFile(t, tt.which))
			want := fmt.Sprintf("session pool: not read: EPROCESS at %#x unreadable: virtual address %#x: physical page absent from the dump", tt.system, tt.system+0x450)
			if got.Read || got.Reason != want || len(got.Sessions) != 0 {
				t.Errorf("Read %v, %d sessions, reason %q; want %q", got.Read, len(got.Sessions), got.Reason, want)
			}
		})
	}
}
