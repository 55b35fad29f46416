package poolscan

import (
	"context"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// Walk calls fn for every block of the wanted tags the scan found, free
// ones included, in address order: the blocks of pages the system maps by
// virtual address, then those of pages it does not map by physical
// address, then the big allocations in the big page table's order. It
// reads the pages that held a wanted block again (by read(2), not the
// mapping) instead of the scan keeping every block, so that listing
// millions of blocks costs no memory for them. It stops when fn returns false, and with ctx's error when ctx
// is done. f is the dump r was scanned from.
func (r *Result) Walk(ctx context.Context, f *dumpfile.File, fn func(Block) bool) error {
	w := &walker{r: r, f: f, fn: fn, ctx: ctx, pr: newPageReader(r.is64, r.build), buf: make([]byte, dumpfile.PageSize)}
	var done pfnSet
	_, err := f.Mappings(func(m dumpfile.Mapping) bool {
		if m.State != dumpfile.MapPresent && m.State != dumpfile.MapTransition {
			return true
		}
		pfn := m.PA >> 12
		if !r.hits.has(pfn) || done.has(pfn) {
			return true
		}
		done.add(pfn)
		st := StatePresent
		if m.State == dumpfile.MapTransition {
			st = StateTransition
		}
		return w.page(pfn, m.VA, st)
	})
	// A failed walk leaves the rest to the unmapped pass, as the scan's
	// own walk then counted them.
	_ = err
	if w.stop {
		return w.err
	}
	r.hits.each(func(pfn uint64) bool {
		if done.has(pfn) {
			return true
		}
		return w.page(pfn, 0, StateUnmapped)
	})
	if w.stop || !r.bigFound {
		return w.err
	}
	t := r.Big
	readBig(f, &t, r.bigLayout, r.is64, func(e bigEntry) {
		if !w.stop && r.match.Match(pooltag.Tag(e.key)) {
			w.stop = !fn(bigBlock(f, e))
		}
	})
	return w.err
}

type walker struct {
	r    *Result
	f    *dumpfile.File
	fn   func(Block) bool
	ctx  context.Context
	pr   *pageReader
	buf  []byte
	n    int
	stop bool
	err  error
	bm   lfhBitmap // the LFH bitmap last read
}

// page lists the wanted blocks of physical page pfn, mapped at va (0: not
// mapped), and reports whether to go on.
func (w *walker) page(pfn, va uint64, st State) bool {
	if w.n%1024 == 0 {
		if w.err = w.ctx.Err(); w.err != nil {
			w.stop = true
			return false
		}
	}
	w.n++
	if err := w.f.ReadPage(pfn, w.buf); err != nil {
		return true // read once by the scan; a page that fails now has nothing to list
	}
	var blocks []found
	if w.r.segment {
		blocks, _ = w.pr.segment(w.buf, w.r.match)
	} else {
		blocks, _ = w.pr.classic(w.buf)
	}
	for _, fb := range blocks {
		if !w.r.match.Match(pooltag.Tag(fb.h.tag)) {
			continue
		}
		b := w.pr.block(pfn, fb, st)
		if va != 0 {
			b.Addr = va | uint64(fb.off)
			b.Free = b.Free || w.r.lfhFree(w.f, &w.bm, b.Addr, int(b.Size))
		}
		if !w.fn(b) {
			w.stop = true
			return false
		}
	}
	return true
}
