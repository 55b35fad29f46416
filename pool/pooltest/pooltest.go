// Package pooltest plants pool tracker tables into test dumps built with
// dumptest, the way the kernel lays them out, and returns the totals a
// correct reader must find.
package pooltest

import (
	"fmt"
	"math/bits"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// TagSpec is one tag's counters per CPU: CPU[i] is what CPU i's table
// holds (its Tag field is ignored). A free on another CPU is a Frees count
// in that CPU's entry.
type TagSpec struct {
	Tag pooltag.Tag
	CPU []pool.Usage
}

// SizeWord says what the word before nt!PoolTrackTable holds.
type SizeWord int

// The kinds of size word.
const (
	SizeWordGood    SizeWord = iota // PoolTrackTableSize, as the kernel keeps it
	SizeWordGarbage                 // something that is not 2^n+1
	SizeWordWrong                   // a 2^n+1 that is not the table's size
)

// Scenario describes the pool state of a test dump.
type Scenario struct {
	TableSize int // entries including the Ovfl sentinel, 2^n+1; default 257
	Tags      []TagSpec
	SizeWord  SizeWord
	// PerCPUSlots, when set, is the ExPoolTagTables slot of each CPU's
	// table (one per CPU, slot 0 first), in an array of 2048 slots as on
	// Windows 11, where slots of absent processors stay NULL: processor
	// groups leave gaps (CPUs 0-1 and 64-65, say).
	PerCPUSlots []int
	// HidePerCPU leaves ExPoolTagTables out of the kernel image, as when
	// the array cannot be found.
	HidePerCPU bool
	// DropPerCPU leaves the tables of CPUs 1 and up out of the dump's
	// memory altogether (with HidePerCPU: nothing to find them by).
	DropPerCPU bool
	// AbsentTablePage is 1 + the index of a page of the global table whose
	// physical page is left out of the dump; 0 leaves none out.
	AbsentTablePage int
	// AbsentCPUTable is a CPU (1 or more) whose tracker table is mapped but
	// left out of the dump; 0 leaves none out.
	AbsentCPUTable int
	// Overflow tags go to the expansion table (set when the main table is full).
	Overflow []TagSpec
	// NonPagedMax and PagedMax are nt!MmMaximumNonPagedPoolInBytes and
	// nt!MmSizeOfPagedPoolInBytes; 0 leaves the KDBG field unset.
	NonPagedMax, PagedMax uint64
}

// Planted is what a reader must find.
type Planted struct {
	EntrySize    int // the tracker entry size of the build
	TableAddr    uint64
	PerCPUArray  uint64
	Expansion    uint64
	Sums         map[pooltag.Tag]pool.Usage // over all CPUs
	SumsPresent  map[pooltag.Tag]pool.Usage // over the CPUs whose tables the dump holds
	CPU0         map[pooltag.Tag]pool.Usage // the global table alone
	DroppedTags  []pooltag.Tag              // tags in the absent page
	NonPagedUsed uint64
	PagedUsed    uint64
}

// Plant writes s into b. The builder's Config (arch, build, CPUs) chooses
// the layout and hash.
func Plant(b *dumptest.Builder, cfg dumptest.Config, s Scenario) (*Planted, error) {
	size := s.TableSize
	if size == 0 {
		size = 257
	}
	if size < 65 || bits.OnesCount(uint(size-1)) != 1 {
		return nil, fmt.Errorf("table size %d is not 2^n+1 >= 65", size)
	}
	lay, ok := layoutForArch(cfg.Arch, cfg.Build)
	if !ok {
		return nil, fmt.Errorf("no tracker layout for build %d", cfg.Build)
	}
	pl := &planter{b: b, s: s, lay: lay, size: size, cpus: max(1, int(cfg.CPUs)),
		is64: cfg.Arch.Is64(), ps: cfg.Arch.PointerSize(), hash: hashFor(cfg.Build)}
	index, err := pl.placeKeys()
	if err != nil {
		return nil, err
	}
	p, tables := pl.fillTables(index)
	addrs := pl.mapTables(p, tables, index)
	pl.trackerVars(p, addrs[0])
	if err := pl.perCPUArray(p, addrs); err != nil {
		return nil, err
	}
	pl.poolMaxima()
	for _, u := range p.Sums {
		p.NonPagedUsed += u.NonPagedBytes
		p.PagedUsed += u.PagedBytes
	}
	return p, nil
}

// planter is one Plant: the scenario and the layout facts of the build.
type planter struct {
	b    *dumptest.Builder
	s    Scenario
	lay  entryLayout
	size int // entries, Ovfl included
	cpus int
	is64 bool
	ps   int // pointer size
	hash func(uint32) uint32
}

// placeKeys gives each tag its entry by linear probing, as
// ExpInsertPoolTracker does.
func (pl *planter) placeKeys() (map[pooltag.Tag]int, error) {
	mask := uint32(pl.size - 2)
	index := map[pooltag.Tag]int{}
	used := make([]bool, pl.size)
	for _, t := range pl.s.Tags {
		if _, dup := index[t.Tag]; dup {
			return nil, fmt.Errorf("tag %s planted twice", t.Tag)
		}
		h := int(pl.hash(uint32(t.Tag)) & mask)
		for n := 0; used[h]; n++ {
			if n > pl.size {
				return nil, fmt.Errorf("table of %d entries is full", pl.size)
			}
			h = (h + 1) & int(mask)
		}
		used[h] = true
		index[t.Tag] = h
	}
	return index, nil
}

// fillTables encodes each CPU's table, and the sums a reader must find:
// over every CPU, over the CPUs the dump holds, and CPU 0's alone.
func (pl *planter) fillTables(index map[pooltag.Tag]int) (*Planted, [][]byte) {
	es, lay := pl.lay.size, pl.lay
	p := &Planted{EntrySize: es, Sums: map[pooltag.Tag]pool.Usage{}, SumsPresent: map[pooltag.Tag]pool.Usage{}, CPU0: map[pooltag.Tag]pool.Usage{}}
	tables := make([][]byte, pl.cpus)
	for c := range tables {
		tables[c] = make([]byte, pl.size*es)
	}
	// The sentinel: keyed Ovfl in the global table.
	ovfl := pooltag.MustTag("Ovfl")
	lay.encode(tables[0][(pl.size-1)*es:], pool.Usage{Tag: ovfl})
	for _, t := range pl.s.Tags {
		i := index[t.Tag]
		var sum, present pool.Usage
		for c := 0; c < pl.cpus; c++ {
			var u pool.Usage
			if c < len(t.CPU) {
				u = t.CPU[c]
			}
			u.Tag = t.Tag
			// The global table always holds the key; other CPUs copy it
			// when they first use the tag.
			if c == 0 || !u.IsZero() {
				lay.encode(tables[c][i*es:], u)
			}
			if c == 0 {
				p.CPU0[t.Tag] = lay.truncate(u)
			}
			sum.Add(u)
			if c != pl.s.AbsentCPUTable {
				present.Add(u)
			}
		}
		sum.Tag, present.Tag = t.Tag, t.Tag
		p.Sums[t.Tag] = lay.truncate(sum)
		p.SumsPresent[t.Tag] = lay.truncate(present)
	}
	p.Sums[ovfl] = pool.Usage{Tag: ovfl}
	p.SumsPresent[ovfl] = pool.Usage{Tag: ovfl}
	p.CPU0[ovfl] = pool.Usage{Tag: ovfl}
	return p, tables
}

// mapTables puts the tables in kernel memory, leaving out of the dump
// what the scenario says, and returns each CPU's table address (0 for a
// dropped one).
func (pl *planter) mapTables(p *Planted, tables [][]byte, index map[pooltag.Tag]int) []uint64 {
	b, s := pl.b, pl.s
	addrs := make([]uint64, pl.cpus)
	for c := range tables {
		switch {
		case c == 0 && s.AbsentTablePage > 0:
			continue
		case c > 0 && s.DropPerCPU:
			continue
		case c > 0 && c == s.AbsentCPUTable:
			// Its own stretch, every page mapped but absent from the dump.
			addrs[c] = b.Alloc(dumpfile.PageSize, dumpfile.PageSize) + 0x0C000000
			for off := 0; off < len(tables[c]); off += dumpfile.PageSize {
				b.MapAbsent(addrs[c] + uint64(off))
			}
			continue
		}
		addrs[c] = b.Alloc(len(tables[c]), dumpfile.PageSize)
		b.Write(addrs[c], tables[c])
	}
	if s.AbsentTablePage > 0 {
		addrs[0] = pl.mapWithAbsentPage(p, tables[0], index)
	}
	p.TableAddr = addrs[0]
	return addrs
}

// mapWithAbsentPage maps the global table page by page, in a stretch of
// its own, so that one page can be left out of the dump; the tags whose
// entries touch that page are DroppedTags.
func (pl *planter) mapWithAbsentPage(p *Planted, table []byte, index map[pooltag.Tag]int) uint64 {
	b, es := pl.b, pl.lay.size
	addr := b.Alloc(dumpfile.PageSize, dumpfile.PageSize) + 0x08000000
	drop := addr + uint64(pl.s.AbsentTablePage-1)*dumpfile.PageSize
	for off := 0; off < len(table); off += dumpfile.PageSize {
		pva := addr + uint64(off)
		if pva == drop {
			b.MapAbsent(pva)
			continue
		}
		b.Map(pva, table[off:min(off+dumpfile.PageSize, len(table))])
	}
	for t, i := range index {
		lo, hi := addr+uint64(i*es), addr+uint64((i+1)*es)
		if lo < drop+dumpfile.PageSize && drop < hi {
			p.DroppedTags = append(p.DroppedTags, t)
		}
	}
	return addr
}

// trackerVars writes the kernel variables: PoolTrackTableSize right
// before PoolTrackTable (where volatility 2 finds it), then the expansion
// table's pointer and size, and the KDBG field that leads to them.
func (pl *planter) trackerVars(p *Planted, table uint64) {
	b, s, ps, size := pl.b, pl.s, pl.ps, pl.size
	vars := b.KernelVar(4 * ps)
	sizeVar, tableVar, expVar, expSizeVar := vars, vars+uint64(ps), vars+uint64(2*ps), vars+uint64(3*ps)
	switch s.SizeWord {
	case SizeWordGood:
		b.PutPtr(sizeVar, uint64(size))
	case SizeWordGarbage:
		b.PutPtr(sizeVar, 0x12345)
	case SizeWordWrong:
		b.PutPtr(sizeVar, uint64(size-1)*2+1)
	}
	b.PutPtr(tableVar, table)
	b.SetKDBG(dumptest.KDBGPoolTrackTable, tableVar)
	if len(s.Overflow) == 0 {
		return
	}
	es := pl.lay.size
	exp := make([]byte, len(s.Overflow)*es)
	for i, t := range s.Overflow {
		var sum pool.Usage
		for _, u := range t.CPU {
			sum.Add(u)
		}
		sum.Tag = t.Tag
		pl.lay.encode(exp[i*es:], sum)
		p.Sums[t.Tag] = sum
	}
	p.Expansion = b.Alloc(len(exp), 16)
	b.Write(p.Expansion, exp)
	b.PutPtr(expVar, p.Expansion)
	b.PutPtr(expSizeVar, uint64(len(s.Overflow)))
}

// perCPUArray writes ExPoolTagTables on a multiprocessor machine: one
// slot per CPU in an array of 32 or 64, or of 2048 with PerCPUSlots.
func (pl *planter) perCPUArray(p *Planted, addrs []uint64) error {
	if pl.cpus == 1 || pl.s.HidePerCPU {
		return nil
	}
	n := 32
	if pl.is64 {
		n = 64
	}
	slots := make([]int, len(addrs))
	for c := range slots {
		slots[c] = c
	}
	if pl.s.PerCPUSlots != nil {
		if len(pl.s.PerCPUSlots) != len(addrs) || pl.s.PerCPUSlots[0] != 0 {
			return fmt.Errorf("PerCPUSlots %v: want one slot per CPU, slot 0 first", pl.s.PerCPUSlots)
		}
		n, slots = 2048, pl.s.PerCPUSlots
	}
	arr := pl.b.KernelVar(n * pl.ps)
	for c, a := range addrs {
		if slots[c] >= n {
			return fmt.Errorf("slot %d past the %d-slot array", slots[c], n)
		}
		pl.b.PutPtr(arr+uint64(slots[c]*pl.ps), a)
	}
	p.PerCPUArray = arr
	return nil
}

// poolMaxima writes the pools' maxima and their KDBG fields when the
// scenario gives them.
func (pl *planter) poolMaxima() {
	for _, m := range []struct {
		v    uint64
		kdbg int
	}{{pl.s.NonPagedMax, dumptest.KDBGMmMaximumNonPagedPoolInBytes}, {pl.s.PagedMax, dumptest.KDBGMmSizeOfPagedPoolInBytes}} {
		if m.v != 0 {
			v := pl.b.KernelVar(pl.ps)
			pl.b.PutPtr(v, m.v)
			pl.b.SetKDBG(m.kdbg, v)
		}
	}
}

// Leak is a TagSpec for a tag with n outstanding allocations of size
// bytes each in one pool, spread over cpus CPUs, with churn extra
// allocations freed (some on another CPU than the one that allocated).
func Leak(tag string, paged bool, n, size, churn uint64, cpus int) TagSpec {
	t := TagSpec{Tag: pooltag.MustTag(tag), CPU: make([]pool.Usage, cpus)}
	for c := 0; c < cpus; c++ {
		share := n / uint64(cpus)
		if c == 0 {
			share += n % uint64(cpus)
		}
		ch := churn / uint64(cpus)
		allocs, frees := share+ch, ch
		// On more than one CPU, move part of the frees to the next CPU:
		// that table then shows more frees than allocations.
		if cpus > 1 && c == 0 {
			frees = 0
		}
		if cpus > 1 && c == 1 {
			frees += churn / uint64(cpus)
		}
		// Each CPU's table charges bytes on allocation and takes them
		// back on free: the CPU that frees more holds a negative count,
		// which wraps like the kernel's unsigned counter.
		bytes := (allocs - frees) * size
		u := &t.CPU[c]
		if paged {
			u.PagedAllocs, u.PagedFrees, u.PagedBytes = allocs, frees, bytes
		} else {
			u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedBytes = allocs, frees, bytes
		}
	}
	return t
}
