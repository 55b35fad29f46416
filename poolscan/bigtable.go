package poolscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/peimage"

	"github.com/poolblame/poolblame/pooltag"
)

// Finding nt!PoolBigPageTable without symbols. The kernel keeps the
// table's address and, right after it, PoolBigPageTableSize (a power of
// two) in its data section; on the real 1809 x64 kernel they sit 0x20
// bytes before nt!PoolTrackTable, whose address KDBG gives. So the words
// around that variable are searched first, then the kernel's writable
// sections, for a page-aligned kernel address followed by a power of two,
// and a candidate is kept only if its entries read as big page entries:
// free (bit 0 of Va set, or zero) or a page-aligned kernel address with a
// printable tag and a plausible size (volatility 2 bigpagepools.py
// accepts candidates on similar grounds).

const (
	minBigTable = 16
	maxBigTable = 1 << 24
	bigSample   = 4096 // entries read to judge a candidate
)

func isKernelAddr(va uint64, is64 bool) bool {
	if is64 {
		return va >= 0xFFFF800000000000
	}
	return va >= 0x80000000 && va <= 0xFFFFFFFF
}

// bigFit is how well a candidate's entries read in one layout.
type bigFit struct {
	layout    bigLayout
	good, bad int
}

func (x bigFit) ok() bool { return x.good > 0 && x.bad*20 <= x.good }

// judge reads up to bigSample entries of a candidate table in each layout
// of the width and returns the best.
func judge(f *dumpfile.File, va uint64, size int, layouts []bigLayout, is64 bool) (bigFit, bool) {
	var best bigFit
	found := false
	for _, l := range layouts {
		n := min(size, bigSample)
		buf := make([]byte, n*l.size)
		got, _ := f.ReadVirtual(va, buf)
		x := bigFit{layout: l}
		for i := 0; i+1 <= got/l.size; i++ {
			e := l.decode(buf[i*l.size:], is64)
			if e.va == 0 || e.free {
				continue
			}
			if e.va&0xFFF == 0 && isKernelAddr(e.va, is64) && pooltag.Tag(e.key).Printable() && e.bytes > 0 && e.bytes < 1<<40 {
				x.good++
			} else {
				x.bad++
			}
		}
		if x.ok() && (!found || x.good-4*x.bad > best.good-4*best.bad) {
			best, found = x, true
		}
	}
	return best, found
}

// findBigTable locates the table. It returns the variable's address too.
func findBigTable(f *dumpfile.File, is64 bool, build uint32) (BigTable, bigLayout, error) {
	k, err := f.KDBG()
	if err != nil {
		return BigTable{}, bigLayout{}, fmt.Errorf("no KDBG to start from: %w", err)
	}
	layouts := bigLayouts(is64, build)
	ps := uint64(f.Arch().PointerSize())
	var windows [][2]uint64
	if v := k.PoolTrackTable(); v != 0 {
		windows = append(windows, [2]uint64{v - 0x400, 0x800})
	}
	if base := k.KernBase(); base != 0 {
		windows = append(windows, writableSections(f, base)...)
	}
	if len(windows) == 0 {
		return BigTable{}, bigLayout{}, errors.New("KDBG gives neither nt!PoolTrackTable nor the kernel base to search from")
	}
	tried := map[uint64]bool{}
	unread := "" // a candidate whose entries the dump does not hold
	for _, w := range windows {
		start := w[0] &^ (ps - 1)
		buf := make([]byte, w[1])
		for off := uint64(0); off < w[1]; off += dumpfile.PageSize {
			page := buf[off:min(off+dumpfile.PageSize, w[1])]
			if _, err := f.ReadVirtual(start+off, page); err != nil {
				clear(page)
			}
		}
		for o := uint64(0); o+2*ps <= w[1]; o += ps {
			p, s := word(buf[o:], is64), word(buf[o+ps:], is64)
			if p&0xFFF != 0 || !isKernelAddr(p, is64) || s < minBigTable || s > maxBigTable || bits.OnesCount64(s) != 1 || tried[p] {
				continue
			}
			tried[p] = true
			if x, ok := judge(f, p, int(s), layouts, is64); ok {
				return BigTable{Addr: p, Var: start + o, Size: int(s), Layout: x.layout.name}, x.layout, nil
			}
			if _, err := f.ReadU32(p); err != nil && unread == "" {
				unread = fmt.Sprintf("; the likeliest candidate, %#x with %d entries (named at %#x), is on pages the dump does not hold (%v)", p, s, start+o, err)
			}
		}
	}
	return BigTable{}, bigLayout{}, errors.New("no pointer and power-of-two size in the kernel's data lead to entries that read as big page entries" + unread)
}

func word(b []byte, is64 bool) uint64 {
	if is64 {
		return binary.LittleEndian.Uint64(b)
	}
	return uint64(binary.LittleEndian.Uint32(b))
}

// writableSections returns [start, length) of the writable sections of
// the PE image at base, from its headers in memory.
func writableSections(f *dumpfile.File, base uint64) [][2]uint64 {
	h, err := f.ImageHeaders(base)
	if err != nil {
		return nil
	}
	var out [][2]uint64
	for _, s := range h.Sections {
		vsize := uint64(s.VirtualSize)
		if s.Characteristics&peimage.ScnMemWrite != 0 && s.Characteristics&peimage.ScnMemDiscardable == 0 && vsize > 0 && vsize <= 64<<20 {
			out = append(out, [2]uint64{base + uint64(s.VirtualAddress), vsize})
		}
	}
	return out
}

// readBig calls fn for every used entry of the table, reading it a window
// at a time, and counts entries the dump cannot give.
func readBig(f *dumpfile.File, t *BigTable, l bigLayout, is64 bool, fn func(bigEntry)) {
	const chunk = 1 << 16
	per := chunk / l.size
	buf := make([]byte, per*l.size)
	for i := 0; i < t.Size; i += per {
		n := min(per, t.Size-i)
		b := buf[:n*l.size]
		va := t.Addr + uint64(i*l.size)
		// Page by page, so one missing page costs only its entries.
		for o := 0; o < len(b); {
			a := va + uint64(o)
			step := min(len(b)-o, int(dumpfile.PageSize-a&(dumpfile.PageSize-1)))
			if _, err := f.ReadVirtual(a, b[o:o+step]); err != nil {
				for j := o; j < o+step; j++ {
					b[j] = 0xFF // marks the entries unreadable below
				}
			}
			o += step
		}
		for j := 0; j < n; j++ {
			raw := b[j*l.size : (j+1)*l.size]
			if allFF(raw[:4]) {
				t.Unreadable++
				continue
			}
			e := l.decode(raw, is64)
			switch {
			case e.free:
				t.Freed++
			case e.va == 0:
			default:
				t.Used++
				fn(e)
			}
		}
	}
}

func allFF(b []byte) bool {
	for _, c := range b {
		if c != 0xFF {
			return false
		}
	}
	return true
}
