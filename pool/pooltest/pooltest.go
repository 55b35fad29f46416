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
	is64 := cfg.Arch.Is64()
	lay, ok := layoutFor(is64, cfg.Build)
	if !ok {
		return nil, fmt.Errorf("no tracker layout for build %d", cfg.Build)
	}
	cpus := max(1, int(cfg.CPUs))
	hash := hashFor(cfg.Build)
	mask := uint32(size - 2)
	es := lay.size
	ps := cfg.Arch.PointerSize()

	// Place keys by linear probing, as ExpInsertPoolTracker does.
	index := map[pooltag.Tag]int{}
	used := make([]bool, size)
	for _, t := range s.Tags {
		if _, dup := index[t.Tag]; dup {
			return nil, fmt.Errorf("tag %s planted twice", t.Tag)
		}
		h := int(hash(uint32(t.Tag)) & mask)
		for n := 0; used[h]; n++ {
			if n > size {
				return nil, fmt.Errorf("table of %d entries is full", size)
			}
			h = (h + 1) & int(mask)
		}
		used[h] = true
		index[t.Tag] = h
	}

	p := &Planted{EntrySize: es, Sums: map[pooltag.Tag]pool.Usage{}, SumsPresent: map[pooltag.Tag]pool.Usage{}, CPU0: map[pooltag.Tag]pool.Usage{}}
	tables := make([][]byte, cpus)
	for c := range tables {
		tables[c] = make([]byte, size*es)
	}
	// The sentinel: keyed Ovfl in the global table.
	ovfl := pooltag.MustTag("Ovfl")
	lay.encode(tables[0][(size-1)*es:], pool.Usage{Tag: ovfl})
	for _, t := range s.Tags {
		i := index[t.Tag]
		var sum, present pool.Usage
		for c := 0; c < cpus; c++ {
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
			if c != s.AbsentCPUTable {
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

	addrs := make([]uint64, cpus)
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
		// Map the global table page by page, in a stretch of its own, so
		// that one page can be left out of the dump.
		addrs[0] = b.Alloc(dumpfile.PageSize, dumpfile.PageSize) + 0x08000000
		drop := addrs[0] + uint64(s.AbsentTablePage-1)*dumpfile.PageSize
		for off := 0; off < len(tables[0]); off += dumpfile.PageSize {
			pva := addrs[0] + uint64(off)
			if pva == drop {
				b.MapAbsent(pva)
				continue
			}
			b.Map(pva, tables[0][off:min(off+dumpfile.PageSize, len(tables[0]))])
		}
		for t, i := range index {
			lo, hi := addrs[0]+uint64(i*es), addrs[0]+uint64((i+1)*es)
			if lo < drop+dumpfile.PageSize && drop < hi {
				p.DroppedTags = append(p.DroppedTags, t)
			}
		}
	}
	p.TableAddr = addrs[0]

	// Kernel variables: PoolTrackTableSize right before PoolTrackTable
	// (where volatility 2 finds it), then the expansion pointer and size.
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
	b.PutPtr(tableVar, addrs[0])
	b.SetKDBG(dumptest.KDBGPoolTrackTable, tableVar)

	if len(s.Overflow) > 0 {
		exp := make([]byte, len(s.Overflow)*es)
		for i, t := range s.Overflow {
			var sum pool.Usage
			for _, u := range t.CPU {
				sum.Add(u)
			}
			sum.Tag = t.Tag
			lay.encode(exp[i*es:], sum)
			p.Sums[t.Tag] = sum
		}
		p.Expansion = b.Alloc(len(exp), 16)
		b.Write(p.Expansion, exp)
		b.PutPtr(expVar, p.Expansion)
		b.PutPtr(expSizeVar, uint64(len(s.Overflow)))
	}

	if cpus > 1 && !s.HidePerCPU {
		n := 32
		if is64 {
			n = 64
		}
		slots := make([]int, len(addrs))
		for c := range slots {
			slots[c] = c
		}
		if s.PerCPUSlots != nil {
			if len(s.PerCPUSlots) != len(addrs) || s.PerCPUSlots[0] != 0 {
				return nil, fmt.Errorf("PerCPUSlots %v: want one slot per CPU, slot 0 first", s.PerCPUSlots)
			}
			n, slots = 2048, s.PerCPUSlots
		}
		arr := b.KernelVar(n * ps)
		for c, a := range addrs {
			if slots[c] >= n {
				return nil, fmt.Errorf("slot %d past the %d-slot array", slots[c], n)
			}
			b.PutPtr(arr+uint64(slots[c]*ps), a)
		}
		p.PerCPUArray = arr
	}

	if s.NonPagedMax != 0 {
		v := b.KernelVar(ps)
		b.PutPtr(v, s.NonPagedMax)
		b.SetKDBG(dumptest.KDBGMmMaximumNonPagedPoolInBytes, v)
	}
	if s.PagedMax != 0 {
		v := b.KernelVar(ps)
		b.PutPtr(v, s.PagedMax)
		b.SetKDBG(dumptest.KDBGMmSizeOfPagedPoolInBytes, v)
	}
	for _, u := range p.Sums {
		p.NonPagedUsed += u.NonPagedBytes
		p.PagedUsed += u.PagedBytes
	}
	return p, nil
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
