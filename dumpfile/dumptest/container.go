package dumptest

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/poolblame/poolblame/dumpfile"
)

// dumpImage is a finished dump: metadata bytes (header, sub-headers,
// bitmaps) from offset 0, then the stored pages densely in PFN order
// from firstPage.
type dumpImage struct {
	meta      []byte
	firstPage uint64
	runs      []pfnRange // stored pages, ascending
	cum       []uint64   // stored pages before each run
	size      uint64     // full file size, before Damage.Truncate
	content   []pfnPage  // pages holding data, ascending
}

type pfnPage struct {
	pfn uint64
	p   *page
}

// offset returns the file offset of a stored page.
func (d *dumpImage) offset(pfn uint64) (uint64, bool) {
	i, _ := slices.BinarySearchFunc(d.runs, pfn, func(r pfnRange, pfn uint64) int {
		switch {
		case r.end <= pfn:
			return -1
		case r.start > pfn:
			return 1
		}
		return 0
	})
	if i == len(d.runs) || pfn < d.runs[i].start || pfn >= d.runs[i].end {
		return 0, false
	}
	return d.firstPage + (d.cum[i]+pfn-d.runs[i].start)*PageSize, true
}

// storedRuns returns the stored pages, padding included, as ascending runs.
func (b *Builder) storedRuns() []pfnRange {
	pfns := make([]uint64, 0, len(b.mem))
	for pfn := range b.mem {
		pfns = append(pfns, pfn)
	}
	slices.Sort(pfns)
	var runs []pfnRange
	for _, pfn := range pfns {
		runs = appendRun(runs, pfnRange{pfn, pfn + 1})
	}
	if n := uint64(len(pfns)); b.cfg.StoredPages > n {
		runs = append(runs, b.phys.padding(b.cfg.StoredPages-n)...)
		slices.SortFunc(runs, func(a, b pfnRange) int { return cmpU64(a.start, b.start) })
		merged := runs[:0:0]
		for _, r := range runs {
			merged = appendRun(merged, r)
		}
		runs = merged
	}
	return runs
}

// appendRun appends r, merging it with the last run when they touch.
func appendRun(runs []pfnRange, r pfnRange) []pfnRange {
	if k := len(runs); k > 0 && runs[k-1].end == r.start {
		runs[k-1].end = r.end
		return runs
	}
	return append(runs, r)
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fitRuns merges the runs separated by the smallest gaps until at most
// max remain: the descriptor then covers some pages that are not stored,
// as a real one covers all RAM.
func fitRuns(runs []pfnRange, max int) []pfnRange {
	runs = slices.Clone(runs)
	for len(runs) > max && len(runs) > 1 {
		best := 0
		for i := 1; i+1 < len(runs); i++ {
			if runs[i+1].start-runs[i].end < runs[best+1].start-runs[best].end {
				best = i
			}
		}
		runs[best].end = runs[best+1].end
		runs = slices.Delete(runs, best+1, best+2)
	}
	return runs
}

// bitmapOf sets bit pfn for every stored page, in nbytes bytes.
func bitmapOf(runs []pfnRange, nbytes uint64) []byte {
	bm := make([]byte, nbytes)
	for _, r := range runs {
		for pfn := r.start; pfn < r.end; pfn++ {
			bm[pfn/8] |= 1 << (pfn % 8)
		}
	}
	return bm
}

// firstPageAfter returns where stored pages start when metadata ends at
// end: the next page boundary, or end itself with UnalignedFirstPage
// (moved by 8 in the rare case end is page aligned).
func (b *Builder) firstPageAfter(end uint64) uint64 {
	if !b.cfg.UnalignedFirstPage {
		return alignUp(end, PageSize)
	}
	if end%PageSize == 0 {
		end += 8
	}
	return end
}

// image lays out the whole file.
func (b *Builder) image() (*dumpImage, error) {
	c, h := b.cfg, b.arch.hdr
	if c.Type == dumpfile.TypeTriage {
		return b.triageImage()
	}
	le := binary.LittleEndian
	runs := b.storedRuns()
	d := &dumpImage{runs: runs, cum: make([]uint64, len(runs))}
	var stored, top uint64
	for i, r := range runs {
		d.cum[i] = stored
		stored += r.count()
		top = max(top, r.end)
	}
	memPages := c.MemoryPages
	if top = max(top, b.phys.top); top > memPages {
		memPages = alignUp(top, 0x1000)
	}
	sub := uint64(h.size)
	desc := fitRuns(runs, h.maxRuns())
	switch c.Type {
	case dumpfile.TypeFull:
		desc = runs
		if c.Damage.RunPastEnd && len(runs) > 0 {
			last := runs[len(runs)-1].end
			desc = append(slices.Clone(runs), pfnRange{last + 0x10, last + 0x20})
		}
		if len(desc) > h.maxRuns() {
			return nil, fmt.Errorf("dumptest: %d physical memory runs do not fit the header's run descriptor (at most %d); map fewer absent or large pages", len(desc), h.maxRuns())
		}
		d.firstPage = sub
		d.meta = make([]byte, sub)

	case dumpfile.TypeSummary:
		bitsAt := uint64(0x20) // after RTL_BITMAP {ULONG SizeOfBitMap; PULONG Buffer}
		if b.arch.ptrSize == 8 {
			bitsAt = 0x28 // RTL_BITMAP64 {ULONG; pad; ULONG64 Buffer}
		}
		nbytes := alignUp(memPages, 32) / 8
		d.firstPage = b.firstPageAfter(sub + bitsAt + nbytes)
		d.meta = make([]byte, d.firstPage)
		s := d.meta[sub:]
		copy(s, "SDMPDUMP")
		le.PutUint32(s[0x08:], 1) // DumpOptions: DUMP_SUMMARY_VALID_KERNEL_VA
		le.PutUint32(s[0x0C:], uint32(d.firstPage))
		le.PutUint32(s[0x10:], uint32(memPages))
		le.PutUint32(s[0x14:], uint32(stored))
		le.PutUint32(s[0x18:], uint32(memPages)) // SizeOfBitMap; Buffer stays 0
		copy(s[bitsAt:], bitmapOf(runs, nbytes))

	case dumpfile.TypeBitmapFull, dumpfile.TypeBitmapKernel:
		nbytes := (memPages + 7) / 8
		d.firstPage = b.firstPageAfter(sub + 0x38 + nbytes)
		d.meta = make([]byte, d.firstPage)
		s := d.meta[sub:]
		copy(s, "SDMPDUMP")
		if c.Complete {
			copy(s, "FDMP")
		}
		present := stored
		if c.Damage.BitmapCountMismatch {
			present++
		}
		le.PutUint64(s[0x20:], d.firstPage)
		le.PutUint64(s[0x28:], present)
		le.PutUint64(s[0x30:], memPages)
		copy(s[0x38:], bitmapOf(runs, nbytes))

	case dumpfile.TypeRDMPKernel, dumpfile.TypeRDMPActive, dumpfile.TypeRDMPFull:
		// Types 8 and 9 end their range list at a zero PFN; type 10 counts
		// its ranges and pages, so it can store PFN 0.
		if len(runs) > 0 && runs[0].start == 0 && c.Type != dumpfile.TypeRDMPFull {
			return nil, fmt.Errorf("dumptest: PFN 0 cannot be stored in a type %d RDMP dump (a zero PFN ends its range list)", c.Type)
		}
		// Ranges from 0x2030, then at least one zero entry, up to a page.
		d.firstPage = alignUp(0x2030+uint64(len(runs)+1)*16, PageSize)
		d.meta = make([]byte, d.firstPage)
		s := d.meta[0x2000:]
		le.PutUint32(s, 0x40)
		copy(s[4:], "RDMPDUMP")
		le.PutUint64(s[0x10:], d.firstPage-0x2020) // MetadataSize
		le.PutUint64(s[0x18:], d.firstPage)
		if c.Type == dumpfile.TypeRDMPFull {
			le.PutUint32(s[0x20:], uint32(len(runs)))
			le.PutUint64(s[0x28:], stored)
		}
		for i, r := range runs {
			le.PutUint64(s[0x30+16*i:], r.start)
			le.PutUint64(s[0x38+16*i:], r.count())
		}
	}
	d.size = d.firstPage + stored*PageSize
	b.writeHeader(d.meta[:h.size], desc, d.size)
	content, err := b.finalContent()
	if err != nil {
		return nil, err
	}
	d.content = content
	return d, nil
}
