package dumptest

import (
	"fmt"
	"math/rand/v2"
)

// Capture describes physical pages taken as they are, for example pages
// read from a real machine, to be wrapped in a dump container: no page
// tables or kernel of the builder's own, the header pointing where the
// capture says.
type Capture struct {
	Config                    // Arch, Build, CPUs, Type (a bitmap or run-based type), bug check...
	DTB                uint64 // CR3 as captured (PCID bits included)
	KDBG               uint64 // virtual address of KdDebuggerDataBlock
	PsLoadedModuleList uint64
	Pages              map[uint64][]byte // by PFN; each at most one page
}

// NewCapture returns a Builder holding exactly c.Pages. Its Bytes and
// WriteFile write them in the chosen container; the Builder's mapping
// methods are not meant for it (there are no page tables to extend).
func NewCapture(c Capture) (*Builder, error) {
	if err := c.Config.Validate(); err != nil {
		return nil, fmt.Errorf("dumptest: %w", err)
	}
	cfg := c.Config.withDefaults()
	if cfg.EncodeKDBG || cfg.PlainKDBGCopy {
		return nil, fmt.Errorf("dumptest: a capture stores its KDBG as captured")
	}
	b := &Builder{
		cfg:    cfg,
		arch:   archTable[cfg.Arch],
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6361_7074_7572_6521)),
		mem:    make(map[uint64]*page, len(c.Pages)),
		leaves: make(map[uint64]leaf),
		syms:   map[string]uint64{"PsLoadedModuleList": c.PsLoadedModuleList},
		dtb:    c.DTB,
		kdbgVA: c.KDBG,
	}
	b.phys = newPhysAllocator(b.rng)
	for pfn, data := range c.Pages {
		if len(data) > PageSize {
			return nil, fmt.Errorf("dumptest: page %#x holds %d bytes, more than a page", pfn, len(data))
		}
		p := new(page)
		copy(p[:], data)
		b.mem[pfn] = p
		b.phys.top = max(b.phys.top, pfn+1)
	}
	return b, nil
}
