package realdata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// RewindDump wraps the physical pages of memory/rewind-17763/<which> (a
// real, running Windows 10 1809 x64 kernel; most of memory absent) in a
// bitmap dump with the CR3 and module list its snapshot.json gives, so
// that the whole tool runs on them. The KDBG is found by its physical
// scan, as in a dump whose header does not point at it.
func RewindDump(tb testing.TB, which string) []byte {
	tb.Helper()
	dir := Path(tb, "memory/rewind-17763/"+which)
	var snap struct {
		CR3                uint64 `json:"cr3"`
		PsLoadedModuleList uint64 `json:"ps_loaded_module_list"`
	}
	if err := json.Unmarshal(Read(tb, "memory/rewind-17763/"+which+"/snapshot.json"), &snap); err != nil {
		tb.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "mem"))
	if err != nil {
		tb.Fatal(err)
	}
	pages := map[uint64][]byte{}
	for _, e := range ents {
		pa, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".bin"), 16, 64)
		if err != nil {
			tb.Fatalf("%s: %v", e.Name(), err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "mem", e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		pages[pa>>12] = b
	}
	b, err := dumptest.NewCapture(dumptest.Capture{
		Config: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 17763, CPUs: 1, Type: dumpfile.TypeBitmapFull},
		DTB:    snap.CR3, PsLoadedModuleList: snap.PsLoadedModuleList, Pages: pages,
	})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := b.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// RewindFile is RewindDump opened as a dump named
// rewind-17763-<which>.dmp, from memory.
func RewindFile(tb testing.TB, which string) *dumpfile.File {
	tb.Helper()
	d := RewindDump(tb, which)
	f, err := dumpfile.NewFile("rewind-17763-"+which+".dmp", dumpfile.Bytes(d), int64(len(d)))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
