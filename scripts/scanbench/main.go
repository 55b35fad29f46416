// Command scanbench makes a multi-GB sparse dump with pool pages planted
// through it (-make), or scans one for a tag and prints what it found:
// the job scripts/bench-scan.sh times against cat.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

func main() {
	mk := flag.Bool("make", false, "write a dump instead of scanning one")
	gib := flag.Int("gib", 4, "with -make: GiB of stored pages")
	build := flag.Uint("build", 19041, "with -make: Windows build (18362 and later: segment heap)")
	every := flag.Int("every", 64, "with -make: one pool page per this many stored pages")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the scan to `file`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scanbench [-make -gib N -build B -every K] DUMP")
		os.Exit(2)
	}
	if *mk {
		if err := makeDump(flag.Arg(0), *gib, uint32(*build), *every); err != nil {
			fmt.Fprintln(os.Stderr, "scanbench:", err)
			os.Exit(1)
		}
		return
	}
	f, err := dumpfile.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		os.Exit(2)
	}
	defer f.Close()
	if *prof != "" {
		pf, err := os.Create(*prof)
		if err == nil {
			pprof.StartCPUProfile(pf)
			defer pprof.StopCPUProfile()
		}
	}
	m, _ := poolscan.NewMatcher("Leak", "Othr")
	r, err := poolscan.Scan(context.Background(), f, poolscan.Options{Tags: m})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scanbench:", err)
		return
	}
	c := r.Count(pooltag.MustTag("Leak"))
	fmt.Printf("%s: %d pages scanned, %d pool pages, Leak in use %d\n", r.Mode, r.Pages.Scanned, r.Pages.PoolPages, c.InUse())
}

// makeDump plants one pool page of 'Leak' blocks per every stored pages;
// the other stored pages are zero (file holes).
func makeDump(path string, gib int, build uint32, every int) error {
	pages := uint64(gib) << 18
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, StoredPages: pages, MemoryPages: 2 * pages, Seed: 1})
	n := int(pages) / every
	blocks := make([]dumptest.PoolBlock, 40)
	for i := range blocks {
		blocks[i] = dumptest.PoolBlock{Tag: "Leak", Size: 0x60, Data: []byte("\\Device\\HarddiskVolume2\\x")}
	}
	for range n {
		va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
		if build >= 18362 {
			b.SegmentHeapPage(va, dumptest.SegmentLFH, 0x40, blocks)
		} else {
			b.ClassicPoolPage(va, blocks)
		}
	}
	return b.WriteFile(path)
}
