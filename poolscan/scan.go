package poolscan

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// Options control a scan.
type Options struct {
	Tags *Matcher // the tags to look for; required
	// Progress, when set, is called with the pages scanned and the pages
	// to scan, about every 1% and once at the end.
	Progress func(done, total uint64)
	// MaxBlocks bounds Result.Blocks (0: 1<<22); blocks beyond it are only
	// counted, in Dropped.
	MaxBlocks int
}

// ErrNoMemory means the dump holds no physical pages to scan.
var ErrNoMemory = errors.New("the dump holds no physical memory to scan")

// Scan makes one pass over the physical pages of the dump for every tag
// Options.Tags asks for, then places the blocks found at their virtual
// addresses with one walk of the system page tables, then reads the big
// page table. It stops with ctx's error when ctx is done.
func Scan(ctx context.Context, f *dumpfile.File, opt Options) (*Result, error) {
	if opt.Tags == nil {
		return nil, errors.New("poolscan: no tags to look for")
	}
	if err := f.ReadableError(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoMemory, err)
	}
	if f.PresentPages() == 0 {
		return nil, ErrNoMemory
	}
	maxBlocks := opt.MaxBlocks
	if maxBlocks <= 0 {
		maxBlocks = 1 << 22
	}
	is64, build := f.Arch().Is64(), f.MinorVersion
	segment := build >= segmentHeapBuild
	r := &Result{Mode: "classic", Tags: map[pooltag.Tag]*TagCount{}}
	if segment {
		r.Mode = "segment heap"
	}
	pr := newPageReader(is64, build)
	want := func(t uint32) bool { return opt.Tags.Match(pooltag.Tag(t)) }
	total := f.PresentPages()
	r.Pages.Stored = total
	step := max(total/100, 1024)
	var hits pfnSet
	var cancelled error
	// Blocks are gathered in fixed chunks and joined once at the end: a
	// leak of millions of blocks would otherwise be copied again at every
	// doubling of one slice.
	var chunks [][]Block
	kept := 0
	keep := func(pfn uint64, fb found) {
		h := fb.h
		_, used, paged, session := pr.coding.decode(h.typ)
		b := Block{Phys: pfn<<12 | uint64(fb.off), Tag: pooltag.Tag(h.tag).Unprotected(), Size: uint64(h.blocks) * uint64(pr.lay.unit),
			Kind: fb.kind, Paged: paged, Session: session, Typed: used, Free: !used}
		if kept >= maxBlocks {
			r.Dropped++
			return
		}
		if len(chunks) == 0 || len(chunks[len(chunks)-1]) == cap(chunks[len(chunks)-1]) {
			chunks = append(chunks, make([]Block, 0, 1<<14))
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], b)
		kept++
		hits.add(pfn)
	}
	missing, err := f.ReadPages(func(pfn uint64, page []byte) bool {
		r.Pages.Scanned++
		if r.Pages.Scanned%step == 0 {
			if err := ctx.Err(); err != nil {
				cancelled = err
				return false
			}
			if opt.Progress != nil {
				opt.Progress(r.Pages.Scanned, total)
			}
		}
		if segment {
			blocks, unconf := pr.segment(page, opt.Tags)
			if len(blocks) > 0 {
				r.Pages.PoolPages++
			}
			for _, fb := range blocks {
				if want(fb.h.tag) {
					keep(pfn, fb)
				}
			}
			for _, fb := range unconf {
				r.count(pooltag.Tag(fb.h.tag)).Unconfirmed++
			}
			return true
		}
		blocks, broken := pr.classic(page)
		if broken {
			r.Pages.Broken++
		}
		if blocks == nil {
			return true
		}
		r.Pages.PoolPages++
		for _, fb := range blocks {
			if want(fb.h.tag) {
				keep(pfn, fb)
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if cancelled != nil {
		return nil, cancelled
	}
	r.Pages.Truncated = missing
	r.Blocks = make([]Block, 0, kept)
	for _, c := range chunks {
		r.Blocks = append(r.Blocks, c...)
	}
	chunks = nil
	if opt.Progress != nil {
		opt.Progress(r.Pages.Scanned, total)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := r.place(f, &hits); err != nil {
		r.Notes = append(r.Notes, "blocks could not be placed at virtual addresses: "+err.Error())
	}
	r.countBlocks()
	r.readBig(f, is64, build, opt.Tags)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(r.Blocks, func(i, j int) bool {
		a, b := r.Blocks[i], r.Blocks[j]
		if a.Tag != b.Tag {
			return a.Tag.Less(b.Tag)
		}
		if a.Addr != b.Addr {
			return a.Addr < b.Addr
		}
		return a.Phys < b.Phys
	})
	if segment {
		r.Notes = append(r.Notes, "segment heap: freed blocks keep their headers and cannot be told from used ones without the heap keys, so the scan can count more blocks than are outstanding")
	}
	if r.Dropped > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d blocks beyond the first %d were not kept and are not counted by state", r.Dropped, maxBlocks))
	}
	return r, nil
}

func (r *Result) count(t pooltag.Tag) *TagCount {
	t = t.Unprotected()
	c := r.Tags[t]
	if c == nil {
		c = &TagCount{Tag: t}
		r.Tags[t] = c
	}
	return c
}

// place walks the system page tables once: it counts the address space's
// pages by state and gives every block on a mapped page its virtual
// address. A physical page mapped more than once keeps its first (lowest)
// address.
func (r *Result) place(f *dumpfile.File, hits *pfnSet) error {
	type where struct {
		va    uint64
		state State
	}
	at := map[uint64]where{}
	missing, err := f.Mappings(func(m dumpfile.Mapping) bool {
		pages := max(m.Size/dumpfile.PageSize, 1)
		switch m.State {
		case dumpfile.MapPresent:
			r.Pages.Present += pages
		case dumpfile.MapTransition:
			r.Pages.Transition += pages
		case dumpfile.MapPagedOut:
			r.Pages.PagedOut += pages
		case dumpfile.MapAbsent:
			r.Pages.Absent += pages
		}
		if m.State == dumpfile.MapPresent || m.State == dumpfile.MapTransition {
			pfn := m.PA >> 12
			if hits.has(pfn) {
				if _, seen := at[pfn]; !seen {
					st := StatePresent
					if m.State == dumpfile.MapTransition {
						st = StateTransition
					}
					at[pfn] = where{m.VA, st}
				}
			}
		}
		return true
	})
	r.Pages.MissingTables = missing
	for i := range r.Blocks {
		b := &r.Blocks[i]
		if w, ok := at[b.Phys>>12]; ok {
			b.Addr = w.va | b.Phys&(dumpfile.PageSize-1)
			b.State = w.state
		} else {
			b.State = StateUnmapped
		}
	}
	if missing > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d page-table pages are absent from the dump: pool pages they map are counted as unmapped", missing))
	}
	return err
}

func (r *Result) countBlocks() {
	for _, b := range r.Blocks {
		c := r.count(b.Tag)
		switch {
		case b.State == StateUnmapped:
			c.Unmapped++
		case b.Free:
			c.Free++
		case b.Session:
			c.Session++
		case b.Paged:
			c.Paged++
		default:
			c.NonPaged++
		}
		if b.State != StateUnmapped && !b.Free {
			c.Bytes += b.Size
		}
	}
}

// readBig adds the big allocations of wanted tags.
func (r *Result) readBig(f *dumpfile.File, is64 bool, build uint32, m *Matcher) {
	t, l, err := findBigTable(f, is64, build)
	if err != nil {
		r.Big.Err = err.Error()
		r.Notes = append(r.Notes, "big page table not found: "+err.Error()+"; allocations of a page or more are not counted")
		return
	}
	r.Big = t
	readBig(f, &r.Big, l, is64, func(e bigEntry) {
		tag := pooltag.Tag(e.key).Unprotected()
		if !m.Match(tag) {
			return
		}
		b := Block{Addr: e.va, Tag: tag, Size: e.bytes, Kind: KindBig, Paged: e.paged, Session: e.session, Typed: e.typed}
		pa, err := f.Translate(e.va)
		switch {
		case err != nil:
			b.State = StatePagedOut
			if errors.Is(err, dumpfile.ErrPageAbsent) {
				b.State = StateAbsent
			}
		case !f.HasPage(pa >> 12):
			b.State = StateAbsent
		default:
			b.State, b.Phys = StatePresent, pa
		}
		c := r.count(tag)
		c.Big++
		c.BigBytes += e.bytes
		if !b.State.InDump() {
			c.BigAbsent++
		}
		if len(r.Blocks) < 1<<24 {
			r.Blocks = append(r.Blocks, b)
		}
	})
	if r.Big.Unreadable > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of the big page table's %d entries are on pages the dump cannot give", r.Big.Unreadable, r.Big.Size))
	}
}

// pfnSet is a bitmap of physical page numbers, grown as needed: one bit
// per page up to the highest one with a hit (2 MiB for 64 GiB).
type pfnSet struct{ w []uint64 }

func (s *pfnSet) add(pfn uint64) {
	i := pfn >> 6
	if i >= uint64(len(s.w)) {
		n := max(i+1, uint64(len(s.w))*2)
		w := make([]uint64, n)
		copy(w, s.w)
		s.w = w
	}
	s.w[i] |= 1 << (pfn & 63)
}

func (s *pfnSet) has(pfn uint64) bool {
	i := pfn >> 6
	return i < uint64(len(s.w)) && s.w[i]>>(pfn&63)&1 == 1
}
