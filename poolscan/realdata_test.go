package poolscan_test

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/poolscan"
)

// realCapture wraps the real Windows 10 1809 x64 kernel pages of
// memory/rewind-17763/a in a bitmap dump (CR3 and KDBG from its README).
func realCapture(t *testing.T, build uint32) *dumpfile.File {
	t.Helper()
	dir := realdata.Path(t, filepath.Join("memory", "rewind-17763", "a"))
	ents, err := os.ReadDir(filepath.Join(dir, "mem"))
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		CR3                uint64 `json:"cr3"`
		PsLoadedModuleList uint64 `json:"ps_loaded_module_list"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	pages := map[uint64][]byte{}
	for _, e := range ents {
		pa, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".bin"), 16, 64)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if pages[pa>>12], err = os.ReadFile(filepath.Join(dir, "mem", e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	b, err := dumptest.NewCapture(dumptest.Capture{
		Config: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, CPUs: 1, Type: dumpfile.TypeBitmapFull},
		DTB:    snap.CR3, KDBG: 0x269e5e0, PsLoadedModuleList: snap.PsLoadedModuleList, Pages: pages,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.NewFile("rewind-17763-a.dmp", dumpfile.Bytes(d), int64(len(d)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// 933 pages of a real running Windows 10 1809 x64 kernel. Its pool is
// the segment heap: the scan finds real blocks (files, object names, NTFS
// and ETW structures), each a VS or LFH block with a printable tag, none
// overlapping another; two ALPC blocks of 592 bytes sit one 16-byte
// chunk header apart, as VS chunks do. Read as classic pool (the same
// pages under a Windows 7 header) they hold no page tiled by headers, so
// nothing may be found. Either way the page tables the capture lacks are
// named.
func TestRealMemory(t *testing.T) {
	m, _ := poolscan.NewMatcher("*")
	for _, build := range []uint32{17763, 7601} {
		f := realCapture(t, build)
		r, err := poolscan.Scan(context.Background(), f, poolscan.Options{Tags: m})
		if err != nil {
			t.Fatal(err)
		}
		if r.Pages.Scanned != 933 || r.Pages.MissingTables == 0 || !strings.Contains(strings.Join(r.Notes, " "), "page-table pages are absent") {
			t.Errorf("build %d: pages %+v, notes %q", build, r.Pages, r.Notes)
		}
		// The README's words before nt!PoolTrackTable: the big page table
		// pointer and its size, whose pages the capture lacks.
		if !strings.Contains(r.Big.Err, "0xffffe38f37510000 with 32768 entries") {
			t.Errorf("big page table: %q", r.Big.Err)
		}
		blocks := walkAll(t, f, r)
		if build == 7601 {
			if len(blocks) != 0 || r.Pages.PoolPages != 0 {
				t.Errorf("classic reading: %d blocks in %d pool pages", len(blocks), r.Pages.PoolPages)
			}
			continue
		}
		tags := map[string]int{}
		end := map[uint64]uint64{} // by page: end of the last block
		alpc := map[uint64]bool{}
		byPhys := slices.Clone(blocks)
		slices.SortFunc(byPhys, func(a, b poolscan.Block) int { return cmp.Compare(a.Phys, b.Phys) })
		for _, b := range byPhys {
			tags[b.Tag.Trimmed()]++
			if b.Kind != poolscan.KindVS && b.Kind != poolscan.KindLFH {
				t.Errorf("%+v: not a segment-heap block", b)
			}
			if !printable(b.Tag.String()) || b.State != poolscan.StatePresent || b.Addr == 0 {
				t.Errorf("%+v", b)
			}
			pg := b.Phys >> 12
			if b.Phys < end[pg] {
				t.Errorf("%+v overlaps the block before it", b)
			}
			end[pg] = b.Phys + b.Size
			if b.Tag.Trimmed() == "ALPC" && b.Size == 592 {
				alpc[b.Addr] = true
			}
		}
		pair := false
		for a := range alpc {
			pair = pair || alpc[a+592+16]
		}
		if len(blocks) < 1000 || r.Pages.PoolPages < 50 || !pair {
			t.Errorf("%d blocks in %d pool pages, ALPC pair %v", len(blocks), r.Pages.PoolPages, pair)
		}
		// The LFH subsegment headers among the pages name one key (the
		// blocks of 32 of them, all agreeing), and every header decodes
		// with it into offsets its bitmap's size confirms.
		if st := r.LFH; !st.Keyed || st.Key != 0x4d0bf0d3 || st.Agree != st.Voters || st.Voters < 30 || st.Decoded != st.Headers || st.Damaged != 0 ||
			st.Free == 0 || st.Busy < 1000 {
			t.Errorf("LFH %+v", st)
		}
		free := 0
		for _, b := range blocks {
			if b.Free {
				free++
			}
		}
		if int64(free) != r.LFH.Free {
			t.Errorf("walk gives %d free blocks, the scan counted %d", free, r.LFH.Free)
		}
		for _, want := range []string{"File", "ObNm", "Ntf0", "EtwG", "Thre", "Key"} {
			if tags[want] == 0 {
				t.Errorf("no %s block among %d", want, len(blocks))
			}
		}
	}
}

func printable(s string) bool { return !strings.Contains(s, `\x`) }
