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
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

func main() {
	mk := flag.Bool("make", false, "write a dump instead of scanning one")
	gib := flag.Int("gib", 4, "with -make: GiB of stored pages")
	build := flag.Uint("build", 19041, "with -make: Windows build (18362 and later: segment heap)")
	every := flag.Int("every", 64, "with -make: one pool page per this many stored pages (1: every stored page)")
	size := flag.Int("size", 0x60, "with -make: bytes of each planted block, header included")
	perPage := flag.Int("blocks", 40, "with -make: blocks per pool page")
	memGiB := flag.Int("memgib", 0, "with -make: GiB of physical memory described (0: twice -gib)")
	poolGiB := flag.Int("poolgib", 0, "with -make: GiB of pool pages (3 in 4 of 'Leak' blocks, 1 in 4 of 'Othr'), with pool tracker tables counting them; -gib and -every are then not used")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the scan to `file`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scanbench [-make -gib N -build B -every K -size S -blocks N] DUMP")
		os.Exit(2)
	}
	if *mk {
		var err error
		if *poolGiB > 0 {
			err = makePoolDump(flag.Arg(0), *memGiB, *poolGiB, uint32(*build))
		} else {
			err = makeDump(flag.Arg(0), *gib, *memGiB, uint32(*build), *every, *size, *perPage)
		}
		if err != nil {
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
			err = pprof.StartCPUProfile(pf)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "scanbench: profile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
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

// makeDump plants one pool page of perPage 'Leak' blocks of size bytes
// per every stored pages; the other stored pages are zero (file holes).
func makeDump(path string, gib, memGiB int, build uint32, every, size, perPage int) error {
	pages := uint64(gib) << 18
	mem := 2 * pages
	if memGiB > 0 {
		mem = uint64(memGiB) << 18
	}
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, StoredPages: pages, MemoryPages: mem, Seed: 1})
	n := int(pages) / every
	blocks := make([]dumptest.PoolBlock, perPage)
	for i := range blocks {
		blocks[i] = dumptest.PoolBlock{Tag: "Leak", Size: size, Data: []byte("\\Device\\HarddiskVolume2\\x")}
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

// makePoolDump writes a kernel dump of memGiB of physical memory whose
// only stored pages are poolGiB of nonpaged pool, 715 pages of paged
// pool, the kernel and the pool tracker tables, which count exactly the
// blocks planted: what a full report reads on a large machine.
func makePoolDump(path string, memGiB, poolGiB int, build uint32) error {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, CPUs: 4, Type: dumpfile.TypeBitmapKernel,
		MemoryPages: uint64(max(memGiB, 2*poolGiB)) << 18, Uptime: 9 * 24 * time.Hour, Seed: 7}
	b := dumptest.New(cfg)
	leak := make([]dumptest.PoolBlock, 40)
	for i := range leak {
		leak[i] = dumptest.PoolBlock{Tag: "Leak", Size: 0x60, Data: []byte("\\Device\\HarddiskVolume2\\x")}
	}
	othr := make([]dumptest.PoolBlock, 15)
	for i := range othr {
		othr[i] = dumptest.PoolBlock{Tag: "Othr", Size: 0x100}
	}
	var nLeak, nOthr uint64
	for i := range uint64(poolGiB) << 18 {
		va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
		blocks := leak
		if i%4 == 3 {
			blocks = othr
		}
		if build >= 17763 {
			b.SegmentHeapPage(va, dumptest.SegmentLFH, 0x40, blocks)
		} else {
			b.ClassicPoolPage(va, blocks)
		}
		if i%4 == 3 {
			nOthr += uint64(len(othr))
		} else {
			nLeak += uint64(len(leak))
		}
	}
	ntfx := make([]dumptest.PoolBlock, 7)
	for i := range ntfx {
		ntfx[i] = dumptest.PoolBlock{Tag: "Ntfx", Size: 0x200, Paged: true}
	}
	var nNtfx uint64
	for ; nNtfx < 5000; nNtfx += uint64(len(ntfx)) {
		va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
		if build >= 17763 {
			b.SegmentHeapPage(va, dumptest.SegmentLFH, 0x40, ntfx)
		} else {
			b.ClassicPoolPage(va, ntfx)
		}
	}
	s := pooltest.Scenario{TableSize: 1025, NonPagedMax: uint64(poolGiB) << 31, PagedMax: 32 << 30, Tags: []pooltest.TagSpec{
		pooltest.Leak("Leak", false, nLeak, 0x60, nLeak/10, int(cfg.CPUs)),
		pooltest.Leak("Othr", false, nOthr, 0x100, 1000, int(cfg.CPUs)),
		pooltest.Leak("Ntfx", true, nNtfx, 0x200, 100, int(cfg.CPUs)),
	}}
	if _, err := pooltest.Plant(b, cfg, s); err != nil {
		return err
	}
	return b.WriteFile(path)
}
