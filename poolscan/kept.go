package poolscan

import (
	"sort"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// tagBlocks is what a scan keeps of one tag besides its counts: how many
// blocks in use of each size, and a sample spread evenly over the blocks
// in use in the order they were found. The sample keeps one block in
// every `every`; when it is full, every other block is dropped and
// `every` doubles, so it holds between limit/2 and limit blocks however
// many are found.
type tagBlocks struct {
	c      *TagCount
	small  []int64          // by BlockSize unit, for blocks below a page
	sizes  map[uint64]int64 // the other sizes (big allocations)
	sample []Block
	limit  int
	every  int64
	seen   int64
}

func newTagBlocks(c *TagCount, limit int) *tagBlocks {
	return &tagBlocks{c: c, sizes: map[uint64]int64{}, limit: limit, every: 1}
}

// smallUnit is the unit of tagBlocks.small: 8 bytes, the smaller block
// unit (x86), so the sizes of both widths fit 512 counters.
const smallUnit = 8

// add counts one block in use and offers it to the sample.
func (k *tagBlocks) add(b Block) {
	k.count(b.Size, b.Kind == KindBig, 1)
	if _, ok := k.take(k.seen + 1); ok {
		k.sample = append(k.sample, b)
	}
}

// count adds n blocks in use of size bytes to the size histogram.
func (k *tagBlocks) count(size uint64, big bool, n int64) {
	if !big && size < dumpfile.PageSize && size%smallUnit == 0 {
		if k.small == nil {
			k.small = make([]int64, dumpfile.PageSize/smallUnit)
		}
		k.small[size/smallUnit] += n
	} else {
		k.sizes[size] += n
	}
}

// take moves on to block end (the number of blocks offered so far,
// counted from the first) and returns the index of the next block before
// it that the sample takes, the sample made ready to take it: one in
// every `every`, which doubles as a full sample drops every other block.
// ok is false when the sample takes none of those blocks.
func (k *tagBlocks) take(end int64) (i int64, ok bool) {
	for k.seen < end {
		if k.limit == 0 {
			break
		}
		i = (k.seen + k.every - 1) / k.every * k.every // the next multiple of every
		if i >= end {
			break
		}
		k.seen = i + 1
		if len(k.sample) == k.limit {
			n := 0
			for j := 0; j < len(k.sample); j += 2 {
				k.sample[n] = k.sample[j]
				n++
			}
			k.sample = k.sample[:n]
			k.every *= 2
			if i%k.every != 0 {
				continue
			}
		}
		return i, true
	}
	k.seen = end
	return 0, false
}

// remove takes back a block add counted (one the LFH bitmap says is
// free): its size, and the block from the sample if it was kept there.
func (k *tagBlocks) remove(b Block) {
	k.count(b.Size, b.Kind == KindBig, -1)
	for i := range k.sample {
		if k.sample[i].Phys == b.Phys && k.sample[i].Kind == b.Kind {
			k.sample = append(k.sample[:i], k.sample[i+1:]...)
			return
		}
	}
}

// sizeCounts returns the blocks in use by size, smallest first.
func (k *tagBlocks) sizeCounts() []SizeCount {
	var out []SizeCount
	for u, n := range k.small {
		if n > 0 {
			out = append(out, SizeCount{uint64(u * smallUnit), n})
		}
	}
	for s, n := range k.sizes {
		out = append(out, SizeCount{s, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Size < out[j].Size })
	return out
}

// placeSamples gives the sample blocks found on physical pages their
// virtual addresses, with one more walk of the system page tables (the
// first mapping of a page, as Walk gives it), then orders each sample by
// address.
func (r *Result) placeSamples(f *dumpfile.File) error {
	at := map[uint64]uint64{} // physical page -> virtual address, for sampled pages only
	for _, k := range r.kept {
		for _, b := range k.sample {
			if b.Kind != KindBig && b.State != StateUnmapped {
				at[b.Phys>>12] = 0
			}
		}
	}
	var err error
	if len(at) > 0 {
		left := len(at)
		_, err = f.Mappings(func(m dumpfile.Mapping) bool {
			if m.State != dumpfile.MapPresent && m.State != dumpfile.MapTransition {
				return true
			}
			if va, ok := at[m.PA>>12]; ok && va == 0 {
				at[m.PA>>12] = m.VA
				left--
			}
			return left > 0
		})
	}
	for _, k := range r.kept {
		for i := range k.sample {
			b := &k.sample[i]
			if va := at[b.Phys>>12]; b.Kind != KindBig && va != 0 {
				b.Addr = va | b.Phys&(dumpfile.PageSize-1)
			}
		}
		sort.Slice(k.sample, func(i, j int) bool {
			a, b := k.sample[i], k.sample[j]
			if a.Addr != b.Addr {
				return a.Addr < b.Addr
			}
			return a.Phys < b.Phys
		})
	}
	return err
}

// kept returns what the scan kept of tag t's blocks in use (nil when none
// was found).
func (r *Result) keptOf(t pooltag.Tag) *tagBlocks { return r.kept[t.Unprotected()] }
