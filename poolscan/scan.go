package poolscan

import (
	"context"
	"errors"
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// Options control a scan.
type Options struct {
	Tags *Matcher // the tags to look for; required
	// Progress, when set, is called with the pages scanned and the pages
	// to scan, about every 1% and once at the end.
	Progress func(done, total uint64)
	// Sample is how many of each tag's blocks in use the scan keeps, spread
	// evenly over those found, for ReadContents to read (0: 2048; negative:
	// none). Everything else is counted as the pass goes, so the scan's
	// memory does not grow with the blocks found.
	Sample int
}

// defaultSample is Options.Sample's default: what ReadContents reads by
// default (2000) rounded up to a power of two.
const defaultSample = 2048

// ErrNoMemory means the dump holds no physical pages to scan.
var ErrNoMemory = errors.New("the dump holds no physical memory to scan")

// Scan makes one pass over the physical pages of the dump for every tag
// Options.Tags asks for and counts the blocks found by tag, pool and state,
// then reads the big page table. A walk of the system page tables before
// the pass says which physical pages the system maps, so each block's
// state is known when it is found; a second, after it, gives the kept
// sample blocks their virtual addresses. Result.Walk lists every block.
// Scan stops with ctx's error when ctx is done.
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
	s := newScanner(f, opt)
	if err := s.mapSystem(); err != nil {
		s.r.Notes = append(s.r.Notes, "blocks could not be placed at virtual addresses: "+err.Error())
	}
	if err := s.pass(ctx); err != nil {
		return nil, err
	}
	s.r.readBig(f)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.r.placeSamples(f); err != nil {
		s.r.Notes = append(s.r.Notes, "sample blocks could not be given virtual addresses: "+err.Error())
	}
	if s.r.segment {
		s.readLFH()
		s.r.Notes = append(s.r.Notes, s.r.LFH.notes()...)
	}
	return s.r, nil
}

// scanner is one scan in progress.
type scanner struct {
	f   *dumpfile.File
	opt Options
	r   *Result
	pr  *pageReader
	// The system address space's physical pages: mapped at all, and of
	// those, mapped by a transition entry first.
	mapped, transition pfnSet
	lfh                *lfhScan // segment heap: LFH subsegment headers
	lfhDone            pfnSet   // pages whose blocks the LFH bitmaps decided
}

func newScanner(f *dumpfile.File, opt Options) *scanner {
	is64, build := f.Arch().Is64(), f.MinorVersion
	sample := opt.Sample
	if sample == 0 {
		sample = defaultSample
	}
	r := &Result{Mode: "classic", Tags: map[pooltag.Tag]*TagCount{}, is64: is64, build: build, match: opt.Tags,
		segment: build >= segmentHeapBuild, sample: max(sample, 0), kept: map[pooltag.Tag]*tagBlocks{}}
	if r.segment {
		r.Mode = "segment heap"
	}
	s := &scanner{f: f, opt: opt, r: r, pr: newPageReader(is64, build)}
	if r.segment {
		s.lfh = newLFHScan(is64, build)
	}
	return s
}

// mapSystem walks the system page tables once: it counts the address
// space's pages by state and marks the physical pages it maps. A physical
// page mapped more than once takes the state of its first (lowest)
// address, as Walk gives it that address.
func (s *scanner) mapSystem() error {
	p := &s.r.Pages
	missing, err := s.f.Mappings(func(m dumpfile.Mapping) bool {
		pages := max(m.Size/dumpfile.PageSize, 1)
		switch m.State {
		case dumpfile.MapPresent:
			p.Present += pages
		case dumpfile.MapTransition:
			p.Transition += pages
		case dumpfile.MapPagedOut:
			p.PagedOut += pages
		case dumpfile.MapAbsent:
			p.Absent += pages
		}
		if m.State != dumpfile.MapPresent && m.State != dumpfile.MapTransition {
			return true
		}
		// Only pages the dump holds can hold a block found; the check also
		// keeps the bitmaps as small as the dump whatever the tables say.
		// It reads the dump's index only: touching a million mapped pages
		// would fault them all into the process.
		if pfn := m.PA >> 12; !s.mapped.has(pfn) && s.holds(pfn) {
			s.mapped.add(pfn)
			if m.State == dumpfile.MapTransition {
				s.transition.add(pfn)
			}
		}
		return true
	})
	p.MissingTables = missing
	if missing > 0 {
		s.r.Notes = append(s.r.Notes, fmt.Sprintf("%d page-table pages are absent from the dump: pool pages they map are counted as unmapped", missing))
	}
	return err
}

// holds reports whether the dump stores physical page pfn in full, from
// its index, without reading the page.
func (s *scanner) holds(pfn uint64) bool {
	off, err := s.f.FileOffset(pfn << 12)
	return err == nil && off+dumpfile.PageSize <= s.f.Size()
}

// state is where the blocks of physical page pfn stand.
func (s *scanner) state(pfn uint64) State {
	switch {
	case !s.mapped.has(pfn):
		return StateUnmapped
	case s.transition.has(pfn):
		return StateTransition
	}
	return StatePresent
}

// pass reads every page the dump holds once, in file order.
func (s *scanner) pass(ctx context.Context) error {
	r := s.r
	total := s.f.PresentPages()
	r.Pages.Stored = total
	step := max(total/100, 1024)
	var cancelled error
	missing, err := s.f.ReadPages(func(pfn uint64, page []byte) bool {
		r.Pages.Scanned++
		if r.Pages.Scanned%step == 0 {
			if cancelled = ctx.Err(); cancelled != nil {
				return false
			}
			if s.opt.Progress != nil {
				s.opt.Progress(r.Pages.Scanned, total)
			}
		}
		s.page(pfn, page)
		return true
	})
	switch {
	case err != nil:
		return err
	case cancelled != nil:
		return cancelled
	}
	r.Pages.Truncated = missing
	if s.opt.Progress != nil {
		s.opt.Progress(r.Pages.Scanned, total)
	}
	return ctx.Err()
}

// page recognises the blocks of one page and counts those of wanted tags.
func (s *scanner) page(pfn uint64, page []byte) {
	r := s.r
	var blocks []found
	if r.segment {
		if s.lfh != nil {
			s.lfh.look(pfn, page)
		}
		var unconf []found
		blocks, unconf = s.pr.segment(page, r.match)
		for _, fb := range unconf {
			r.count(pooltag.Tag(fb.h.tag)).Unconfirmed++
		}
	} else {
		var broken bool
		blocks, broken = s.pr.classic(page)
		if broken {
			r.Pages.Broken++
		}
	}
	if len(blocks) == 0 {
		return
	}
	r.Pages.PoolPages++
	st := State(0)
	last, lastOK := uint32(0), false // blocks of a page mostly share a tag
	for len(blocks) > 0 {
		// Blocks of one header (an LFH subsegment's) count together.
		n := 1
		for n < len(blocks) && blocks[n].kind == blocks[0].kind && blocks[n].h.same(blocks[0].h) {
			n++
		}
		run := blocks[:n]
		blocks = blocks[n:]
		if t := run[0].h.tag; t != last || last == 0 {
			last, lastOK = t, r.match.Match(pooltag.Tag(t))
		}
		if !lastOK {
			continue
		}
		if st == 0 {
			st = s.state(pfn)
			r.hits.add(pfn)
		}
		r.addRun(s.pr, pfn, run, st)
	}
}

// same reports whether two headers describe the same block but for its
// place: tag, size and type.
func (h header) same(o header) bool { return h.tag == o.tag && h.blocks == o.blocks && h.typ == o.typ }

// block is a recognised header as a Block on physical page pfn.
func (r *pageReader) block(pfn uint64, fb found, st State) Block {
	h := fb.h
	t := r.types[h.typ]
	return Block{Phys: pfn<<12 | uint64(fb.off), Tag: pooltag.Tag(h.tag).Unprotected(), Size: uint64(h.blocks) * uint64(r.lay.unit),
		Kind: fb.kind, Paged: t&typePaged != 0, Session: t&typeSession != 0, Typed: t&typeUsed != 0, Free: t&typeUsed == 0, State: st}
}

// addRun counts blocks found on physical page pfn that share one header
// and kind (what r.add does block by block), and gives the sample the
// blocks it takes.
func (r *Result) addRun(pr *pageReader, pfn uint64, run []found, st State) {
	h, n := run[0].h, int64(len(run))
	k := r.tagBlocks(pooltag.Tag(h.tag).Unprotected())
	c, t, size := k.c, pr.types[h.typ], uint64(h.blocks)*uint64(pr.lay.unit)
	free := t&typeUsed == 0
	switch {
	case st == StateUnmapped:
		c.Unmapped += n
	case free:
		c.Free += n
	case t&typeSession != 0:
		c.Session += n
	case t&typePaged != 0:
		c.Paged += n
	default:
		c.NonPaged += n
	}
	if st == StateUnmapped || free {
		return
	}
	c.Bytes += uint64(n) * size
	if st != StatePresent && st != StateTransition { // as Block.Counted
		return
	}
	if r.segment && t&typeSession == 0 {
		c.Unread += n // until an LFH bitmap says otherwise
	}
	k.count(size, false, n)
	first := k.seen
	for {
		i, ok := k.take(first + n)
		if !ok {
			return
		}
		k.sample = append(k.sample, pr.block(pfn, run[i-first], st))
	}
}

// tagBlocks returns what the scan keeps of tag t, made on its first block.
func (r *Result) tagBlocks(t pooltag.Tag) *tagBlocks {
	k := r.last
	if k == nil || k.c.Tag != t {
		// Blocks of one tag come in runs (a page, an LFH subsegment), so
		// the last tag's entry saves most map lookups.
		k = r.kept[t]
		if k == nil {
			k = newTagBlocks(r.count(t), r.sample)
			r.kept[t] = k
		}
		r.last = k
	}
	return k
}

// add counts one block found and offers it to its tag's sample.
func (r *Result) add(b Block) {
	k := r.tagBlocks(b.Tag)
	c := k.c
	switch {
	case b.Kind == KindBig:
		c.Big++
		c.BigBytes += b.Size
		if !b.State.InDump() {
			c.BigAbsent++
		}
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
	if b.Kind != KindBig && b.State != StateUnmapped && !b.Free {
		c.Bytes += b.Size
	}
	if b.Counted() {
		k.add(b)
	}
}

// readBig adds the big allocations of wanted tags.
func (r *Result) readBig(f *dumpfile.File) {
	t, l, err := findBigTable(f, r.is64, r.build)
	if err != nil {
		r.Big.Err = err.Error()
		r.Notes = append(r.Notes, "big page table not found: "+err.Error()+"; allocations of a page or more are not counted")
		return
	}
	r.Big, r.bigLayout, r.bigFound = t, l, true
	readBig(f, &r.Big, l, r.is64, func(e bigEntry) {
		if r.match.Match(pooltag.Tag(e.key)) {
			r.add(bigBlock(f, e))
		}
	})
	if r.Big.Unreadable > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of the big page table's %d entries are on pages the dump cannot give", r.Big.Unreadable, r.Big.Size))
	}
}

// bigBlock is a used big page table entry as a Block.
func bigBlock(f *dumpfile.File, e bigEntry) Block {
	b := Block{Addr: e.va, Tag: pooltag.Tag(e.key).Unprotected(), Size: e.bytes, Kind: KindBig, Paged: e.paged, Session: e.session, Typed: e.typed}
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
	return b
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
